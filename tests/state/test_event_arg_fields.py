"""`evt.arg.NAME` on real captures, as sysdig prints it: sysdig is the judge.

A parameter prints in its resolved form when libsinsp has one (flag and enum names, a pid's command name, an fd's
name, an errno's name, a relative path joined to the thread's cwd) and as its value otherwise, in its print format
(hex addresses: `7F1A14E6F000`). `evt.rawarg.NAME` keeps the value as the event carries it."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.state.sysdig import saker_lines, sysdig_lines

FORMAT = ("*%evt.num %evt.type %evt.dir %evt.arg.res %evt.arg.addr %evt.arg.flags %evt.arg.mode %evt.arg.pid "
          "%evt.arg.request %evt.arg.sig %evt.arg.size %evt.arg.name %evt.arg.path %evt.arg.filename")
CASES = [
    # clone flags and pids, mmap/munmap/brk addresses (hex), access modes, futex ops
    ("sysdig-inspect__capture-samples_502Error__947a737f.scap", "evt.num > 0"),
    ("sysdig-opensource-examples__example4_example4-1__9302a79f.scap", "evt.num > 0"),
    ("libs__test_libsinsp_e2e_resources_captures_curl_google__26c88ba9.scap", "evt.num > 0"),
    # relative paths (`localhost:8080/index.html`, `./userss`) joined to the cwd
    ("sysdig-opensource-examples__example0_nginx__e3a0456e.scap", "evt.num > 0"),
]


@pytest.mark.parametrize(("capture", "flt"), CASES)
def test_event_arguments_print_as_sysdig_prints_them(capture: str, flt: str) -> None:
    judged = sysdig_lines(capture, FORMAT, flt, verbose=True)
    assert any("CLONE_" in line or "PROT_" in line or "/home/ubuntu/" in line for line in judged)
    assert Counter(saker_lines(capture, FORMAT, flt)) == Counter(judged)
