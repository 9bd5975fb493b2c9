"""GitHub webhook payloads for the github tests: the shared samples, and SYNTHETIC variants derived in code.

The samples (shared/peer/sample-events/github/<event>.<action>.payload.json) are GitHub's documented example
payloads; the file name gives the X-GitHub-Event value. A delivery document is a payload plus `webhook_type`,
as the webhook receiver builds it. Everything built by the `synthetic_*` functions is ours: variants of a
sample (another action, a private repository) and the scan results the sensor adds (`files`,
`workflow_miner_detections`), with invented values. Credentials in them are assembled at run time from
repeated characters; none is real.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[3] / "shared" / "peer"
SAMPLES = SHARED / "sample-events" / "github"
RULES = str(SHARED / "plugin-rules" / "github.yaml")


def sample_names() -> list[str]:
    """`<event>.<action>` of every sample file (`push`, `ping` have no action part)."""
    return sorted(path.name.removesuffix(".payload.json") for path in SAMPLES.glob("*.payload.json"))


def sample(name: str) -> dict[str, Any]:
    """The payload of one sample, as GitHub sends it."""
    return json.loads((SAMPLES / f"{name}.payload.json").read_text())


def event_type_of(name: str) -> str:
    return name.split(".")[0]


def delivered(payload: dict[str, Any], event_type: str) -> bytes:
    """The event the webhook receiver emits for a payload: the payload plus `webhook_type`."""
    return json.dumps({**payload, "webhook_type": event_type}).encode()


def sample_event(name: str) -> bytes:
    return delivered(sample(name), event_type_of(name))


# ---- SYNTHETIC ------------------------------------------------------------------------------------------

FAKE_AWS_KEY_ID = "AKIA" + "Q" * 16
FAKE_GITHUB_TOKEN = "ghp_" + "x" * 36
HEAD_COMMIT = "c" * 40


def synthetic_variant(name: str, *, action: str | None = None, private: bool | None = None) -> dict[str, Any]:
    """SYNTHETIC: a sample with another action and/or repository visibility."""
    payload = copy.deepcopy(sample(name))
    if action is not None:
        payload["action"] = action
    if private is not None:
        payload["repository"]["private"] = private
    return payload


def synthetic_scanned_push(*, private: bool = False, with_secrets: bool = True) -> dict[str, Any]:
    """SYNTHETIC: the push sample turned into a two-commit push and given the scan result the sensor adds."""
    payload = synthetic_variant("push", private=private)
    payload["after"] = HEAD_COMMIT
    payload["deleted"] = False
    payload["head_commit"] = {"id": HEAD_COMMIT}
    payload["commits"] = [{"id": "a" * 40, "added": ["config/aws.env", "README.md"], "modified": ["app.py"],
                           "removed": []},
                          {"id": HEAD_COMMIT, "added": ["deploy/token.txt"], "modified": [], "removed": ["old.py"]}]
    matches_env = [{"line": 3, "type": "key", "desc": "aws_access_key_id", "platform": "AWS"}]
    matches_token = [{"line": 1, "type": "token", "desc": "github_personal_access_token", "platform": "GitHub"},
                     {"line": 7, "type": "private_key", "desc": "private_key", "platform": "PEM"}]
    payload["files"] = [
        {"name": "config/aws.env", "matches": matches_env if with_secrets else []},
        {"name": "README.md", "matches": []},
        {"name": "deploy/token.txt", "matches": matches_token if with_secrets else []},
    ]
    return payload


def synthetic_scanned_workflow_run(*, action: str = "requested", miners: bool = True) -> dict[str, Any]:
    """SYNTHETIC: the workflow_run sample with the miner scan result the sensor adds."""
    payload = synthetic_variant("workflow_run.requested", action=action)
    matches = [{"line": 12, "type": "xmrig"}, {"line": 13, "type": "stratum"}, {"line": 20, "type": "xmrig"}]
    payload["workflow_miner_detections"] = {"name": payload["workflow"]["path"],
                                            "matches": matches if miners else []}
    return payload
