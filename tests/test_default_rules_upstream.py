"""The self-test's actions against Falco's upstream stable rules (test data), live, as root: the upstream rules
that describe the same behaviours fire too, so our actions reproduce real attack shapes."""

from __future__ import annotations

import os

import pytest

from stages import selftest
from stages.selftest import Workspace
from tests.conftest import ROOT

pytestmark = pytest.mark.root

if os.geteuid() != 0:
    pytest.skip("live capture needs root", allow_module_level=True)

UPSTREAM = ROOT.parent / "shared/peer/falco-rules/falco_rules.yaml"


def redirect_stdio_in_container(ws: Workspace) -> None:
    ws.in_container([selftest.PYTHON, "-c", selftest.REDIRECT_STDIO, str(ws.listener.port)])


def packet_socket_in_container(ws: Workspace) -> None:
    ws.in_container([selftest.PYTHON, "-c", "import socket; socket.socket(17, 3, 0).close()"])


# upstream rule -> (our action, why it cannot fire yet on live capture or None)
CASES = {
    "Read sensitive file untrusted": (selftest.credential_read, None),
    "Read sensitive file trusted after startup": (selftest.server_reads_credentials_late, None),
    "Run shell untrusted": (selftest.server_spawns_shell, None),
    "Create Symlink Over Sensitive Files": (selftest.sensitive_symlink, None),
    "Search Private Keys or Passwords": (selftest.search_private_keys, None),
    "Find AWS Credentials": (selftest.search_cloud_credentials, None),
    "Clear Log Activities": (selftest.truncate_log, None),
    "Remove Bulk Data from Disk": (selftest.bulk_removal, None),
    "Execution from /dev/shm": (selftest.run_from_dev_shm, None),
    "Redirect STDOUT/STDIN to Network Connection in Container": (redirect_stdio_in_container, None),
    "PTRACE attached to process": (selftest.ptrace_attach, None),
    "PTRACE anti-debug attempt": (selftest.ptrace_traceme, None),
    "Packet socket created in container": (packet_socket_in_container, None),
    "Fileless execution via memfd_create": (selftest.memfd_exec, None),
    "Directory traversal monitored file read": (selftest.traversal_read, None),
}


@pytest.fixture(scope="module", name="outcomes")
def fixture_outcomes() -> dict[str, selftest.Outcome]:
    """One live sensor on the upstream stable rules while every action runs."""
    actions = {rule: action for rule, (action, _gap) in CASES.items()}
    results = selftest.run_actions("config/default.yaml", actions, extra_args=("-r", str(UPSTREAM)), timeout=8)
    return {o.rule: o for o in results}


@pytest.mark.parametrize("rule", [
    pytest.param(rule, marks=pytest.mark.xfail(strict=True, reason=gap)) if gap else rule
    for rule, (_action, gap) in CASES.items()
])
def test_upstream_rule_fires_on_our_action(outcomes, rule: str) -> None:
    """The upstream stable rule named fires on the self-test action that reproduces its behaviour."""
    assert outcomes[rule].status == "fired", outcomes[rule]
