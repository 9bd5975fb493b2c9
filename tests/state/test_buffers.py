"""I/O data buffers on real captures, as sysdig shows them: sysdig is the judge.

`evt.buffer` is the `data` of the exits of reads, writes, sends and receives (null elsewhere, enter events
included); `evt.arg.data` prints it with every byte that is not printable ASCII as a dot, and the socket
tuples and addresses of `evt.arg.*` print as text. sysdig runs with -v: without it sysdig cuts every buffer it
prints at 80 characters, a display choice of its command line (libsinsp, and so Falco, cut none)."""

from __future__ import annotations

from collections import Counter

import pytest

from stages.inspect import count_filters
from tests.state.sysdig import CAPTURES, saker_lines, sysdig_lines

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


@pytest.mark.parametrize("capture", CAPTURE_NAMES)
def test_buffers_and_binary_arguments_print_as_sysdig_prints_them(capture: str) -> None:
    judged = sysdig_lines(capture, FORMAT, "evt.num > 0", verbose=True)
    assert any(" < " in line and not line.endswith("<NA> <NA>") for line in judged)
    assert Counter(saker_lines(capture, FORMAT, "evt.num > 0")) == Counter(judged)


@pytest.mark.parametrize("capture", CAPTURE_NAMES[-2:])
def test_filters_on_buffers_match_what_sysdig_matches(capture: str) -> None:
    judged = [len(sysdig_lines(capture, "%evt.num", flt)) for flt in FILTERS]
    assert judged[0] > 0 and judged[3] > judged[0]
    assert count_filters(str(CAPTURES / capture), FILTERS) == judged
