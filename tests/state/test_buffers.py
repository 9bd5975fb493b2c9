"""I/O data buffers on real captures, as sysdig shows them: sysdig is the judge.

`evt.buffer` is the `data` of the exits of reads, writes, sends and receives (null elsewhere, enter events
included); `evt.arg.data` prints it with every byte that is not printable ASCII as a dot, and the socket
tuples and addresses of `evt.arg.*` print as text. sysdig runs with -v: without it sysdig cuts every buffer it
prints at 80 characters, a display choice of its command line (libsinsp, and so Falco, cut none)."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from stages.inspect import count_filters, print_matches

CAPTURES = Path("/work/shared/peer/scap/captures")
FORMAT = "*%evt.num %evt.type %evt.dir %evt.buflen %evt.buffer %evt.arg.data %evt.arg.tuple"
CAPTURE_NAMES = [
    "falco__test_trace_files_cat_write__c4cf36b9.scap",
    "falco__test_trace_files_connect_localhost__8806a67a.scap",
    "falco__test_trace_files_ping_sendto__939de436.scap",
    "sysdig-opensource-examples__example4_example4-2__1ff6a743.scap",  # reads of 832 bytes: past 80
    "sysdig-inspect__capture-samples_502Error__947a737f.scap",  # HTTP over TCP, syslog over UDP
]
FILTERS = ['evt.buffer contains "HTTP"', 'evt.buffer startswith "GET"', "evt.type=read and evt.buffer contains ELF",
           "evt.buffer exists", "evt.dir=> and evt.buffer exists"]

if shutil.which("sysdig") is None:
    raise RuntimeError("these tests need sysdig (scripts/setup.sh installs it)")


def _sysdig(path: Path, *args: str) -> list[str]:
    return subprocess.run(["sysdig", "-v", "-r", str(path), *args], capture_output=True, text=True,
                          errors="surrogateescape", check=True, timeout=120).stdout.splitlines()


@pytest.mark.parametrize("capture", CAPTURE_NAMES)
def test_buffers_and_binary_arguments_print_as_sysdig_prints_them(capture: str) -> None:
    path = CAPTURES / capture
    judged = _sysdig(path, "-p", FORMAT, "evt.num > 0")
    out = io.StringIO()
    print_matches(str(path), "evt.num > 0", FORMAT, out)
    assert any(" < " in line and not line.endswith("<NA> <NA>") for line in judged)
    assert Counter(out.getvalue().splitlines()) == Counter(judged)


@pytest.mark.parametrize("capture", CAPTURE_NAMES[-2:])
def test_filters_on_buffers_match_what_sysdig_matches(capture: str) -> None:
    path = CAPTURES / capture
    judged = [len(_sysdig(path, "-p", "%evt.num", flt)) for flt in FILTERS]
    assert judged[0] > 0 and judged[3] > judged[0]
    assert count_filters(str(path), FILTERS) == judged
