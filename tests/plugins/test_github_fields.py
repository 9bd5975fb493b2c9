"""github.* field values: GitHub's sample payloads, synthetic scanned pushes and workflows, odd documents."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rules.fields import REGISTRY
from stages.plugins.base import PluginEvent
from stages.plugins.github import SPEC
from stages.plugins.github.fields import GitHubExtractor
from tests.plugins import github_samples as gs

SPEC_FIELDS = [
    "github.type", "github.action", "github.user", "github.repo", "github.repo.url", "github.repo.name",
    "github.repo.description", "github.org", "github.owner", "github.repo.public", "github.collaborator.name",
    "github.collaborator.role", "github.webhook.id", "github.webhook.type", "github.commit.added",
    "github.commit.modified", "github.commit.removed", "github.diff.has_secrets",
    "github.diff.committed_secrets.desc", "github.diff.committed_secrets.files",
    "github.diff.committed_secrets.lines", "github.diff.committed_secrets.links", "github.workflow.has_miners",
    "github.workflow.miners.type", "github.workflow.filename",
]
SCAN_FIELDS = ["github.diff.committed_secrets.desc", "github.diff.committed_secrets.files",
               "github.diff.committed_secrets.lines", "github.workflow.has_miners", "github.workflow.miners.type"]


@pytest.fixture(name="extractor", scope="module")
def fixture_extractor() -> GitHubExtractor:
    return SPEC.extractor(hostname="test-host")


def values(extractor: GitHubExtractor, payload: bytes) -> dict[str, Any]:
    event = PluginEvent(1, 1_700_000_000_000_000_000, payload)
    return {name: extractor.fields[name](event, None) for name in SPEC_FIELDS}


class TestCatalog:
    def test_spec_fields_in_order(self) -> None:
        """The github field class lists the spec's 25 fields, in its order, all strings; github.repo deprecated."""
        table = next(c for c in REGISTRY.classes("github") if c.name == "github")
        assert [f.name for f in table.fields] == SPEC_FIELDS
        assert {f.type.value for f in table.fields} == {"CHARBUF"}
        assert [f.name for f in table.fields if f.deprecated] == ["github.repo"]

    def test_every_field_extracted(self, extractor: GitHubExtractor) -> None:
        """The extractor serves exactly the catalog's github.* fields."""
        assert sorted(extractor.fields) == sorted(SPEC_FIELDS)

    def test_spec_identity(self) -> None:
        """The plugin name and version are the ones rule files require."""
        assert (SPEC.source, SPEC.plugin, SPEC.version) == ("github", "github", "0.10.1")


# Exact values per sample; every field not listed is checked against the defaults below.
DEFAULTS = {"github.repo.description": "", "github.org": "", "github.repo.public": "true",
            "github.collaborator.name": "", "github.collaborator.role": "", "github.webhook.id": "0",
            "github.webhook.type": "", "github.commit.added": "", "github.commit.modified": "",
            "github.commit.removed": "", "github.diff.has_secrets": "", "github.diff.committed_secrets.links": "",
            "github.workflow.filename": "", **dict.fromkeys(SCAN_FIELDS)}
HELLO = "https://github.com/Codertocat/Hello-World"
OCTO_HELLO = "https://github.com/Octocoders/Hello-World"
EXPECTED = {
    "deploy_key.created": {"github.action": "created", "github.user": "Codertocat", "github.repo": HELLO,
                           "github.owner": "Codertocat"},
    "member.added": {"github.action": "added", "github.user": "hacktocat", "github.repo": HELLO,
                     "github.owner": "Codertocat", "github.collaborator.name": "hacktocat"},
    "meta.deleted": {"github.action": "deleted", "github.user": "Codertocat", "github.repo": HELLO,
                     "github.owner": "Codertocat", "github.webhook.id": "101047067",
                     "github.webhook.type": "Repository"},
    "ping": {"github.action": "", "github.user": "Codertocat", "github.repo": OCTO_HELLO,
             "github.owner": "Octocoders", "github.webhook.id": "109948940", "github.webhook.type": "Repository"},
    "push": {"github.action": "", "github.user": "Codertocat", "github.repo": HELLO, "github.owner": "Codertocat"},
    "repository.created": {"github.action": "created", "github.user": "Codertocat", "github.repo": OCTO_HELLO,
                           "github.owner": "Octocoders", "github.org": "Octocoders"},
    "repository.privatized": {"github.action": "privatized", "github.user": "Codertocat", "github.repo": HELLO,
                              "github.owner": "Codertocat", "github.repo.public": "false"},
    "repository.publicized": {"github.action": "publicized", "github.user": "Codertocat", "github.repo": HELLO,
                              "github.owner": "Codertocat"},
    "workflow_run.requested": {
        "github.action": "requested", "github.user": "Codertocat",
        "github.repo": "https://github.com/octo-org/octo-repo", "github.owner": "octo-org", "github.org": "octo-org",
        "github.repo.description": "an effort to correct various shortcomings of the default GitHub action and "
                                  "event system",
        "github.workflow.filename": ".github/workflows/test.yml"},
}


class TestSamples:
    def test_every_sample_has_expectations(self) -> None:
        """Each sample file in the shared data is covered by EXPECTED (a new sample fails here)."""
        assert sorted(EXPECTED) == gs.sample_names()

    @pytest.mark.parametrize("name", sorted(EXPECTED))
    def test_fields(self, extractor: GitHubExtractor, name: str) -> None:
        """All 25 fields of a sample delivery, exactly."""
        expected = {**DEFAULTS, **EXPECTED[name]}
        url = expected.pop("github.repo")
        expected.update({"github.type": gs.event_type_of(name), "github.repo": url, "github.repo.url": url,
                         "github.repo.name": url.removeprefix("https://github.com/")})
        assert values(extractor, gs.sample_event(name)) == expected

    def test_plugininfo(self, extractor: GitHubExtractor) -> None:
        """evt.plugininfo renders type, user, repository and action (only those present)."""
        member = PluginEvent(1, 0, gs.sample_event("member.added"))
        ping = PluginEvent(2, 0, gs.sample_event("ping"))
        assert extractor.summary(member) == f"github member user:hacktocat repo:{HELLO} action:added"
        assert extractor.summary(ping) == f"github ping user:Codertocat repo:{OCTO_HELLO}"


class TestScannedPush:
    def test_secret_fields(self, extractor: GitHubExtractor) -> None:
        """SYNTHETIC scanned push: every secret is listed, comma-joined across files, with links."""
        got = values(extractor, gs.delivered(gs.synthetic_scanned_push(), "push"))
        blob = f"{HELLO}/blob/{gs.HEAD_COMMIT}"
        assert got["github.diff.has_secrets"] == "true"
        assert got["github.diff.committed_secrets.desc"] == \
            "aws_access_key_id,github_personal_access_token,private_key"
        assert got["github.diff.committed_secrets.files"] == "config/aws.env,deploy/token.txt,deploy/token.txt"
        assert got["github.diff.committed_secrets.lines"] == "3,1,7"
        assert got["github.diff.committed_secrets.links"] == (
            f"{blob}/config/aws.env/#L3,{blob}/deploy/token.txt/#L1,{blob}/deploy/token.txt/#L7")

    def test_commit_files_joined_across_commits(self, extractor: GitHubExtractor) -> None:
        """SYNTHETIC two-commit push: file lists of both commits, separated by commas (upstream ran them together)."""
        got = values(extractor, gs.delivered(gs.synthetic_scanned_push(), "push"))
        assert got["github.commit.added"] == "config/aws.env,README.md,deploy/token.txt"
        assert got["github.commit.modified"] == "app.py"
        assert got["github.commit.removed"] == "old.py"

    def test_clean_scan(self, extractor: GitHubExtractor) -> None:
        """SYNTHETIC scanned push without secrets: has_secrets false, the lists present and empty."""
        got = values(extractor, gs.delivered(gs.synthetic_scanned_push(with_secrets=False), "push"))
        assert [got[name] for name in ("github.diff.has_secrets", "github.diff.committed_secrets.desc",
                                       "github.diff.committed_secrets.files", "github.diff.committed_secrets.lines",
                                       "github.diff.committed_secrets.links")] == ["false", "", "", "", ""]

    def test_unscanned_push(self, extractor: GitHubExtractor) -> None:
        """Without `files` (no token, or a ref deletion), desc/files/lines are absent; has_secrets and links are
        present and empty, as upstream's extractor returns them."""
        got = values(extractor, gs.sample_event("push"))
        assert got["github.diff.has_secrets"] == ""
        assert got["github.diff.committed_secrets.links"] == ""
        assert got["github.diff.committed_secrets.desc"] is None
        assert got["github.diff.committed_secrets.files"] is None
        assert got["github.diff.committed_secrets.lines"] is None

    def test_null_matches_count_as_none(self, extractor: GitHubExtractor) -> None:
        """A scanned file whose matches are null (upstream's encoding of no match) holds no secret."""
        payload = gs.synthetic_scanned_push(with_secrets=False)
        payload["files"] = [{"name": "a.txt", "matches": None}]
        got = values(extractor, gs.delivered(payload, "push"))
        assert got["github.diff.has_secrets"] == "false"
        assert got["github.diff.committed_secrets.files"] == ""


class TestScannedWorkflow:
    def test_miner_fields(self, extractor: GitHubExtractor) -> None:
        """SYNTHETIC scanned workflow: has_miners true, distinct types in order of first appearance."""
        got = values(extractor, gs.delivered(gs.synthetic_scanned_workflow_run(), "workflow_run"))
        assert got["github.workflow.has_miners"] == "true"
        assert got["github.workflow.miners.type"] == "xmrig,stratum"
        assert got["github.workflow.filename"] == ".github/workflows/test.yml"

    def test_clean_workflow(self, extractor: GitHubExtractor) -> None:
        """SYNTHETIC scanned workflow without hits: has_miners false, no types."""
        got = values(extractor, gs.delivered(gs.synthetic_scanned_workflow_run(miners=False), "workflow_run"))
        assert (got["github.workflow.has_miners"], got["github.workflow.miners.type"]) == ("false", "")

    def test_null_matches_absent(self, extractor: GitHubExtractor) -> None:
        """Upstream's no-hit encoding (matches null) leaves both miner fields absent."""
        payload = gs.synthetic_scanned_workflow_run()
        payload["workflow_miner_detections"]["matches"] = None
        got = values(extractor, gs.delivered(payload, "workflow_run"))
        assert (got["github.workflow.has_miners"], got["github.workflow.miners.type"]) == (None, None)


class TestOddDocuments:
    @pytest.mark.parametrize(("hook", "expected"), [
        ({"id": 7}, "7"), ({}, "0"), ({"id": -3}, "0"), ({"id": 1.5}, "0"), ({"id": True}, "0"),
        ({"id": "12"}, "0"), ({"id": 1 << 64}, "0"), ({"id": (1 << 64) - 1}, str((1 << 64) - 1)),
    ])
    def test_webhook_id(self, extractor: GitHubExtractor, hook: dict, expected: str) -> None:
        """github.webhook.id is an unsigned JSON integer as text, else 0 (upstream's GetUint64)."""
        got = values(extractor, gs.delivered({"hook": hook}, "ping"))
        assert got["github.webhook.id"] == expected

    @pytest.mark.parametrize(("private", "expected"), [(True, "false"), (False, "true"), ("true", "true"),
                                                       (None, "true")])
    def test_repo_public(self, extractor: GitHubExtractor, private: Any, expected: str) -> None:
        """Only a JSON true in repository.private makes the repository non-public."""
        got = values(extractor, gs.delivered({"repository": {"private": private}}, "repository"))
        assert got["github.repo.public"] == expected

    def test_non_string_values_read_empty(self, extractor: GitHubExtractor) -> None:
        """A number or object where a string belongs reads as empty text, not as its JSON."""
        got = values(extractor, json.dumps({"webhook_type": 5, "action": {"a": 1}, "sender": {"login": None},
                                            "commits": [{"added": ["x", 3, "y"]}]}).encode())
        assert (got["github.type"], got["github.action"], got["github.user"]) == ("", "", "")
        assert got["github.commit.added"] == "x,,y"

    def test_enterprise_repo_name_keeps_url(self, extractor: GitHubExtractor) -> None:
        """repo.name strips only https://github.com/ (as upstream); other hosts keep the whole URL."""
        got = values(extractor, gs.delivered({"repository": {"html_url": "https://ghe.example.test/a/b"}}, "push"))
        assert got["github.repo.name"] == "https://ghe.example.test/a/b"

    def test_not_json(self, extractor: GitHubExtractor) -> None:
        """A payload that is not JSON has no github.* value at all."""
        assert set(values(extractor, b"not json").values()) == {None}

    def test_json_array(self, extractor: GitHubExtractor) -> None:
        """A JSON document that is not an object reads like an empty object."""
        got = values(extractor, b"[1, 2]")
        assert got == {**DEFAULTS, "github.type": "", "github.action": "", "github.user": "", "github.repo": "",
                       "github.repo.url": "", "github.repo.name": "", "github.owner": ""}
