"""Field values of sample events (peer/scap/fields/fields-<capture>.tsv) equal Saker's for the same evt.num.

Compared columns: every column of the sample files except `evt.num` (the join key). The sample files escape
backslash, tab, newline and carriage return in values (`\\`, `\t`, `\n`, `\r`), so Saker's text is escaped the
same way before comparing. A (capture, column) pair that does not match yet is listed in fields_xfail.tsv and
runs as a strict xfail with its reason.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

import pyarrow as pa
import pytest

from kernel.scap import open_capture
from stages.state.enrich import Enricher

FIELDS_DIR = Path("/work/shared/peer/scap/fields")
CAPTURES = Path("/work/shared/peer/scap/captures")
XFAIL = Path(__file__).with_name("fields_xfail.tsv")
NOT_SUPPORTED = {"evt.num"}


def _samples() -> dict[str, list[dict[str, str]]]:
    samples = {}
    for path in sorted(FIELDS_DIR.glob("fields-*.tsv")) if FIELDS_DIR.exists() else []:
        with open(path, newline="") as handle:
            samples[path.stem[len("fields-"):]] = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return samples


_TSV_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text(value: object) -> str:
    if value is None:
        return "<NA>"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).translate(_TSV_ESCAPES)


@cache
def _saker_values(capture: str) -> dict[str, dict[str, str]]:
    """Saker's text value of every compared column, by evt.num, for the sampled events."""
    rows = SAMPLES[capture]
    wanted = {row["evt.num"] for row in rows}
    columns = [c for c in rows[0] if c not in NOT_SUPPORTED]
    scap = open_capture(str(CAPTURES / f"{capture}.scap"))
    enricher = Enricher(scap)
    result: dict[str, dict[str, str]] = {}
    for raw in scap.batches(65536):
        batch = enricher.enrich(raw, set(columns))
        nums = [str(n) for n in batch.column("evt.num").to_pylist()]
        picked = [i for i, n in enumerate(nums) if n in wanted]
        index = pa.array(picked, type=pa.int64())
        values = {c: (batch.column(c).take(index).to_pylist() if c in batch.schema.names else [None] * len(picked))
                  for c in columns}
        for j, i in enumerate(picked):
            result[nums[i]] = {c: _text(values[c][j]) for c in columns}
    return result


def _known() -> dict[tuple[str, str], str]:
    if not XFAIL.exists():
        return {}
    with open(XFAIL) as handle:
        next(handle)
        return {(cap, col): reason for cap, col, reason in (line.rstrip("\n").split("\t", 2) for line in handle)}


SAMPLES = _samples()
KNOWN = _known()
CASES = [(cap, col) for cap, rows in SAMPLES.items() if rows for col in rows[0] if col not in NOT_SUPPORTED]


def _param(capture: str, column: str):
    marks = [pytest.mark.xfail(strict=True, reason=KNOWN[(capture, column)])] if (capture, column) in KNOWN else []
    return pytest.param(capture, column, id=f"{capture[:40]}-{column}", marks=marks)


def mismatches(capture: str, column: str) -> list[tuple[str, str, str]]:
    saker = _saker_values(capture)
    return [(row["evt.num"], row[column], saker.get(row["evt.num"], {}).get(column, "<missing>"))
            for row in SAMPLES[capture] if row[column] != saker.get(row["evt.num"], {}).get(column, "<missing>")]


@pytest.mark.skipif(not CASES, reason="peer scap field samples not present")
@pytest.mark.parametrize(("capture", "column"), [_param(c, col) for c, col in CASES])
def test_field_values_match_sysdig(capture: str, column: str) -> None:
    """Every sampled event has the value sysdig extracted for this field."""
    assert mismatches(capture, column) == []
