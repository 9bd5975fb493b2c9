"""fd.num and fd.name of fd-creating calls, judged by sysdig on real captures: a pipe's event names its
second fd, a failed call names no fd (-1) whatever errno it returned, a failed accept's empty tuple is "NULL"."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest

from stages.inspect import print_matches

CAPTURES = Path(__file__).resolve().parents[2].parent / "shared" / "peer" / "scap" / "captures"
FILTER = ("evt.dir=< and evt.type in (open, openat, creat, socket, accept, accept4, dup, dup2, dup3, pipe, eventfd, "
          "signalfd, timerfd_create, inotify_init, epoll_create, socketpair) and (evt.failed=true or evt.type=pipe)")
CASES = ["sysdig-inspect__capture-samples_502Error__947a737f.scap",  # 37 failed accepts (EAGAIN)
         "sysdig-opensource-examples__example4_example4-1__9302a79f.scap"]  # failed opens and two pipes

if shutil.which("sysdig") is None:
    raise RuntimeError("these tests need sysdig (scripts/setup.sh installs it)")


@pytest.mark.parametrize("capture", CASES)
def test_fd_num_of_fd_creating_calls_matches_sysdig(capture: str) -> None:
    """Every failed fd-creating exit and every pipe exit has the fd.num sysdig prints."""
    path = CAPTURES / capture
    expected = subprocess.run(["sysdig", "-r", str(path), "-p", "%evt.num %fd.num", FILTER], capture_output=True,
                              text=True, check=True, timeout=120).stdout.splitlines()
    out = io.StringIO()
    print_matches(str(path), FILTER, "%evt.num %fd.num", out)
    assert len(expected) > 10
    assert out.getvalue().splitlines() == expected


@pytest.mark.parametrize("capture", ["sysdig-inspect__capture-samples_502Error__947a737f.scap",
                                     "libs__test_libsinsp_e2e_resources_captures_test_ipv6_client__2029ea26.scap"])
def test_fd_name_of_accept_and_connect_matches_sysdig(capture: str) -> None:
    """accept/connect exits name their socket as sysdig does, a failed accept's empty tuple as "NULL"."""
    path, flt = CAPTURES / capture, "evt.dir=< and evt.type in (accept, accept4, connect)"
    expected = subprocess.run(["sysdig", "-r", str(path), "-p", "%evt.num %fd.name", flt], capture_output=True,
                              text=True, check=True, timeout=120).stdout.splitlines()
    out = io.StringIO()
    print_matches(str(path), flt, "%evt.num %fd.name", out)
    assert len(expected) >= 2
    assert out.getvalue().splitlines() == expected
