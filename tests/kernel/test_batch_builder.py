"""The batch builder on hand-made probe records: rings merged in time order, nulls, flags (no kernel needed)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernel import convert
from kernel.events import BatchBuilder, _Columns
from kernel.records import HEADER, LAYOUTS, RINGBUF_HEADER

OPENAT, CLOSE = 257, 3
O_WRONLY, O_CREAT, O_TRUNC = 0o1, 0o100, 0o1000


def _ring(layout_name: str, records: list[dict]) -> tuple[np.ndarray, int]:
    """Bytes of `records` laid out as the probes write them into one ring (ring header, then the record)."""
    layout = LAYOUTS[layout_name]
    data = np.zeros(layout.slot * len(records), dtype=np.uint8)
    for i, fields in enumerate(records):
        at = i * layout.slot
        data[at: at + 4] = np.frombuffer(np.uint32(layout.size).tobytes(), dtype=np.uint8)
        header = np.zeros(1, dtype=HEADER)
        for name, value in fields.items():
            if name != "path":
                header[name] = value
        start = at + RINGBUF_HEADER
        data[start: start + HEADER.itemsize] = header.view(np.uint8)
        if "path" in fields:
            path = fields["path"].encode() + b"\0"
            area = start + layout.areas["s0"][0]
            data[area: area + len(path)] = np.frombuffer(path, dtype=np.uint8)
    return data, len(records)


def _openat(ts: int, fd: int, path: str, flags: int) -> dict:
    return {"ts": ts, "tid": 7, "pid": 7, "res": fd, "evt": 307, "nr": OPENAT, "a": [-100 & 0xFFFFFFFF, 0, flags, 0, 0, 0],
            "len": [len(path) + 1, 0, 0, 0], "path": path}


def _close(ts: int, fd: int) -> dict:
    return {"ts": ts, "tid": 7, "pid": 7, "res": 0, "evt": 5, "nr": CLOSE, "a": [fd, 0, 0, 0, 0, 0]}


def _build(rings: list[tuple[str, list[dict]]]) -> pa.RecordBatch:
    """Each ring's records in a buffer of their own, after some other bytes (as a span that starts mid-ring)."""
    spans = []
    for name, records in rings:
        data, count = _ring(name, records)
        spans.append((LAYOUTS[name], np.concatenate([np.full(24, 0xEE, dtype=np.uint8), data]), 24, count))
    return BatchBuilder(0).build(spans)


def test_records_of_two_rings_come_out_in_time_order_with_their_own_columns() -> None:
    opens = [_openat(10, 3, "/etc/hosts", 0), _openat(30, 3, "/tmp/out", O_WRONLY | O_CREAT | O_TRUNC),
             _openat(50, -2, "/nope", 0)]
    closes = [_close(20, 3), _close(40, 3), _close(60, 9)]
    batch = _build([("small", closes), ("path", opens)])
    assert batch.column("evt.rawtime").to_pylist() == [10, 20, 30, 40, 50, 60]
    assert batch.column("evt.num").to_pylist() == [1, 2, 3, 4, 5, 6]
    assert batch.column("evt.type").to_pylist() == ["openat", "close"] * 3
    assert batch.column("arg.name").to_pylist() == ["/etc/hosts", None, "/tmp/out", None, "/nope", None]
    assert batch.column("arg.fd").to_pylist() == [3, 3, 3, 3, -2, 9]
    assert batch.column("evt.rawres").to_pylist() == [3, 0, 3, 0, -2, 0]
    assert batch.column("arg.flags").to_pylist()[0::2] == [
        int(convert.open_flags(np.array([f], dtype=np.uint64))[0]) for f in (0, O_WRONLY | O_CREAT | O_TRUNC, 0)]
    assert batch.column("arg.flags").to_pylist()[1::2] == [None, None, None]
    assert batch.column("arg.flags").null_count == 3


def test_rings_already_in_time_order_and_a_single_ring() -> None:
    batch = _build([("path", [_openat(1, 3, "/a", 0)]), ("small", [_close(2, 3)])])
    assert batch.column("evt.type").to_pylist() == ["openat", "close"]
    batch = _build([("small", [_close(5, 4), _close(6, 5)])])
    assert batch.column("arg.fd").to_pylist() == [4, 5]
    assert batch.column("arg.fd").null_count == 0


def _translated_one_by_one(value: int, table) -> int:
    """The reference: every (kernel bits, driver bit) pair of the table tested on the value alone."""
    out = 0
    for linux, ppm in table:
        out |= ppm if value & linux == linux else 0
    return out


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=(1 << 32) - 1), min_size=0, max_size=300))
def test_flags_translated_per_distinct_value_equal_those_translated_row_by_row(values: list[int]) -> None:
    raw = np.array(values, dtype=np.uint64)
    access = {0: 1, 1: 2, 2: 3, 3: 3}  # O_RDONLY, O_WRONLY, O_RDWR (and 3, invalid) -> PPM_O_RDONLY/WRONLY/RDWR
    expected = [_translated_one_by_one(v, convert._OPEN_BITS) | access[v & 3] for v in values]
    assert convert.open_flags(raw).tolist() == expected
    expected = [_translated_one_by_one(v, convert._CLONE_BITS) for v in values]
    assert convert.clone_flags(raw).tolist() == expected


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=(1 << 64) - 1), min_size=1, max_size=50))
def test_register_conversions_read_strided_registers_like_python_arithmetic(values: list[int]) -> None:
    """(The converters get one register of the headers' `a` array: a strided u64 view.)"""
    registers = np.zeros((len(values), 6), dtype="<u8")
    registers[:, 2] = values
    column = registers[:, 2]

    def signed(value: int, bits: int) -> int:
        return value - (1 << bits) if value >> (bits - 1) & 1 else value

    assert convert.CONVERTERS["int"](column).tolist() == [signed(v, 64) for v in values]
    assert convert.CONVERTERS["int32"](column).tolist() == [signed(v & 0xFFFFFFFF, 32) for v in values]
    assert convert.CONVERTERS["u32"](column).tolist() == [v & 0xFFFFFFFF for v in values]
    assert convert.CONVERTERS["hi32"](column).tolist() == [v >> 32 for v in values]
    assert convert.CONVERTERS["mode"](column).tolist() == [v & 0o7777 for v in values]
    expected = [_translated_one_by_one(v, convert._RESOLVE_BITS) for v in values]
    assert convert.CONVERTERS["resolve"](column).tolist() == expected
    assert registers[:, 2].tolist() == values  # read, not changed


def test_a_flag_mask_across_two_lookup_chunks_is_refused() -> None:
    """(Each 12-bit chunk of a value is translated by a table of its own: a mask must lie within one.)"""
    with pytest.raises(ValueError, match="spans two chunks"):
        convert._FlagTable((((1 << 11) | (1 << 12), 1),))


def test_a_batch_with_thousands_of_distinct_flag_values_is_translated() -> None:
    """(Any caller controls its flags: a burst of distinct values must not break the capture.)"""
    values = np.arange(5000, dtype=np.uint64) * 977
    assert convert.open_flags(values).tolist() == [int(convert.open_flags(values[i: i + 1])[0]) for i in range(5000)]


def test_a_text_column_filled_from_two_rings_keeps_each_row_its_own_text() -> None:
    """(arg.comm: clones write it in the path ring, execs in the exec ring.)"""
    first = np.frombuffer(b"xxhelloyyworld", dtype=np.uint8)
    second = np.frombuffer(b"--abc--", dtype=np.uint8)
    columns = _Columns(5)
    columns.put_segments("arg.comm", first, np.array([0, 3]), np.array([2, 9]), np.array([5, 5]))
    columns.put_segments("arg.comm", second, np.array([1]), np.array([2]), np.array([3]))
    assert columns.arrays()["arg.comm"].to_pylist() == ["hello", "abc", None, "world", None]
