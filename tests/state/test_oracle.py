"""Saker's filter counts on the public captures equal sysdig 0.29.3's (peer/scap/oracle.tsv).

Rows whose count is ERROR (filters sysdig rejects) are not compared. Rows Saker does not match yet are listed
in oracle_xfail.tsv (line of oracle.tsv, Saker's count, reason) and run as strict xfails.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

import pytest

from stages.inspect import count_filters

SCAP = Path("/work/shared/peer/scap")
XFAIL = Path(__file__).with_name("oracle_xfail.tsv")


def _rows() -> list[tuple[int, str, str, str]]:
    if not (SCAP / "oracle.tsv").exists():
        return []
    with open(SCAP / "oracle.tsv", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t")
        next(reader)
        return [(line, cap, flt, cnt) for line, (cap, flt, cnt) in enumerate(reader, start=2) if cnt != "ERROR"]


def _known_failures() -> dict[int, str]:
    with open(XFAIL) as handle:
        next(handle)
        return {int(line): reason for line, _, reason in (row.rstrip("\n").split("\t", 2) for row in handle)}


@cache
def _counts(capture: str) -> dict[str, int | str]:
    filters = [flt for _, cap, flt, _ in ROWS if cap == capture]
    return dict(zip(filters, count_filters(str(SCAP / "captures" / capture), filters)))


ROWS = _rows()
KNOWN = _known_failures()


def _param(row: tuple[int, str, str, str]):
    line, capture, flt, count = row
    marks = [pytest.mark.xfail(strict=True, reason=KNOWN[line])] if line in KNOWN else []
    return pytest.param(capture, flt, count, id=f"{line}-{capture[:40]}", marks=marks)


@pytest.mark.skipif(not ROWS, reason="peer scap test data not present")
@pytest.mark.parametrize(("capture", "flt", "count"), [_param(row) for row in ROWS])
def test_count_matches_sysdig(capture: str, flt: str, count: str) -> None:
    """The number of visible events matching the filter equals sysdig's."""
    assert str(_counts(capture)[flt]) == count
