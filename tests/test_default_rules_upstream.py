"""The self-test's actions against Falco's upstream stable rules (test data), live, as root: the upstream rules
that describe the same behaviours fire too, so our actions reproduce real attack shapes."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

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


def netcat_exec_in_container(ws: Workspace) -> None:
    """A program named nc with -c and -e in its command line (Python under that name: `-c pass` runs nothing)."""
    ws.in_container([ws.alias("nc"), "-c", "pass", "-e", "/bin/sh"])


def hardlink_over_shadow(ws: Workspace) -> None:
    """link("/etc/shadow", ...): the rule looks at the call's old path, whatever the call's result."""
    code = f"import os\ntry:\n    os.link('/etc/shadow', {ws.path('shadow-link')!r})\nexcept OSError:\n    pass\n"
    subprocess.run([selftest.PYTHON, "-c", code], check=True, timeout=20)


def system_user_runs_login(ws: Workspace) -> None:
    """The system user daemon runs a program named login (Python under that name, in a folder daemon can read)."""
    folder = Path(tempfile.mkdtemp(prefix="saker-login-"))
    try:
        folder.chmod(0o755)
        (folder / "login").symlink_to(selftest.PYTHON)
        subprocess.run(["setpriv", "--reuid=daemon", "--regid=daemon", "--clear-groups", str(folder / "login"), "-c",
                        "pass"], check=True, timeout=20)
    finally:
        shutil.rmtree(folder)


TERMINAL_SHELL = """
import os, subprocess
master, terminal = os.openpty()
subprocess.run(['/usr/bin/setsid', '--ctty', '/bin/sh', '-c', 'true'], stdin=terminal, stdout=terminal, stderr=terminal,
               timeout=10, check=True)
"""


def terminal_shell_in_container(ws: Workspace) -> None:
    """A container's runtime (Python named runc) starts a shell on a new terminal, as `docker exec -it` does:
    setsid --ctty makes the terminal the shell's controlling one and execs it, so its parent stays runc."""
    ws.in_container([ws.alias("runc"), "-c", TERMINAL_SHELL])


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
    "Netcat Remote Code Execution in Container": (netcat_exec_in_container, None),
    "Create Hardlink Over Sensitive Files": (hardlink_over_shadow, None),
    "System user interactive": (system_user_runs_login, None),
    "Terminal shell in container": (terminal_shell_in_container, None),
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
