"""Every upstream github rule: fired by a sample or a SYNTHETIC variant of one, and silent when it should be."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rules.priority import Priority
from stages.plugins.github import SPEC
from tests.plugins import github_samples as gs
from tests.plugins.harness import alerts, events, fired

RULE_NAMES = [
    "Webhook Connected", "Webhook Disconnected", "Private Repository Becoming Public",
    "Public Repository Becoming Private", "Create Public Repository", "Delete Public Repository",
    "Create Repository", "Delete Repository", "Create Deploy Key", "Delete Deploy Key",
    "Add Collaborator to Repository", "Remove Collaborator from Repository",
    "Secret pushed into a public repository", "Secret pushed into a private repository", "Github action with miners",
]


def sample(name: str) -> Callable[[], bytes]:
    return lambda: gs.sample_event(name)


def variant(name: str, **changes: Any) -> Callable[[], bytes]:
    return lambda: gs.delivered(gs.synthetic_variant(name, **changes), gs.event_type_of(name))


# rule -> the delivery that must fire it ("first" matching: the rule is the first in the file to match it)
FIRING = {
    "Webhook Connected": sample("ping"),
    "Webhook Disconnected": sample("meta.deleted"),
    "Private Repository Becoming Public": sample("repository.publicized"),
    "Public Repository Becoming Private": sample("repository.privatized"),
    "Create Public Repository": sample("repository.created"),
    "Delete Public Repository": variant("repository.created", action="deleted"),  # SYNTHETIC
    "Create Repository": variant("repository.created", private=True),  # SYNTHETIC
    "Delete Repository": variant("repository.created", action="deleted", private=True),  # SYNTHETIC
    "Create Deploy Key": sample("deploy_key.created"),
    "Delete Deploy Key": variant("deploy_key.created", action="deleted"),  # SYNTHETIC
    "Add Collaborator to Repository": sample("member.added"),
    "Remove Collaborator from Repository": variant("member.added", action="removed"),  # SYNTHETIC
    "Secret pushed into a public repository": lambda: gs.delivered(gs.synthetic_scanned_push(), "push"),
    "Secret pushed into a private repository":
        lambda: gs.delivered(gs.synthetic_scanned_push(private=True), "push"),
    "Github action with miners": lambda: gs.delivered(gs.synthetic_scanned_workflow_run(), "workflow_run"),
}

# deliveries no rule may fire on
SILENT = {
    "push sample (a tag deletion, not scanned)": sample("push"),
    "workflow_run sample (not scanned)": sample("workflow_run.requested"),
    "scanned push without secrets": lambda: gs.delivered(gs.synthetic_scanned_push(with_secrets=False), "push"),
    "scanned workflow without miners":
        lambda: gs.delivered(gs.synthetic_scanned_workflow_run(miners=False), "workflow_run"),
    "miners in a completed run": lambda: gs.delivered(gs.synthetic_scanned_workflow_run(action="completed"),
                                                      "workflow_run"),
    "meta other than deleted": variant("meta.deleted", action="created"),
    "repository renamed": variant("repository.created", action="renamed"),
    "member edited": variant("member.added", action="edited"),
    "ping as another event type": lambda: gs.delivered(gs.sample("ping"), "star"),
}


@pytest.fixture(name="extractor", scope="module")
def fixture_extractor():
    return SPEC.extractor(hostname="test-host")


def test_rule_list_is_complete() -> None:
    """FIRING covers exactly the rules of the upstream file."""
    assert sorted(FIRING) == sorted(RULE_NAMES)


@pytest.mark.parametrize("rule", RULE_NAMES)
def test_rule_fires(extractor, rule: str) -> None:
    """The rule fires, once, on its delivery."""
    assert fired(extractor, [gs.RULES], events([FIRING[rule]()])) == [rule]


@pytest.mark.parametrize("case", sorted(SILENT))
def test_no_rule_fires(extractor, case: str) -> None:
    assert fired(extractor, [gs.RULES], events([SILENT[case]()])) == []


def test_public_and_private_rules_exclusive(extractor) -> None:
    """With every rule evaluated, a public repository's creation fires the public and the generic rule, a
    private one's only the generic rule; a secret push fires exactly one of the two secret rules."""
    batch = events([FIRING["Create Public Repository"](), FIRING["Create Repository"](),
                    FIRING["Secret pushed into a private repository"]()])
    got = [a["rule"] for a in alerts(extractor, [gs.RULES], batch, rule_matching="all")]
    assert got == ["Create Public Repository", "Create Repository", "Create Repository",
                   "Secret pushed into a private repository"]


def test_secret_alert_output(extractor) -> None:
    """The secret rule's message lists kinds, files, lines and links of the SYNTHETIC push."""
    [alert] = alerts(extractor, [gs.RULES], events([FIRING["Secret pushed into a public repository"]()]))
    blob = f"https://github.com/Codertocat/Hello-World/blob/{gs.HEAD_COMMIT}"
    assert alert["priority"] == Priority.CRITICAL
    assert alert["message"] == (
        "One or more secrets were pushed into a private repository (repository_name=Codertocat/Hello-World "
        "repository_url=https://github.com/Codertocat/Hello-World repo_owner=Codertocat org= user=Codertocat "
        "secret_types=aws_access_key_id,github_personal_access_token,private_key "
        "file=config/aws.env,deploy/token.txt,deploy/token.txt line=3,1,7 "
        f"url={blob}/config/aws.env/#L3,{blob}/deploy/token.txt/#L1,{blob}/deploy/token.txt/#L7)")


def test_miner_alert_output(extractor) -> None:
    """The miner rule's message names the repository and the workflow file."""
    [alert] = alerts(extractor, [gs.RULES], events([FIRING["Github action with miners"]()]))
    assert alert["message"] == (
        "a github action containing crypto miners was executed (repository_name=octo-org/octo-repo "
        "repository_url=https://github.com/octo-org/octo-repo repo_owner=octo-org org=octo-org user=Codertocat "
        "file=.github/workflows/test.yml)")
