"""Text and bytes columns gathered from segments of a buffer (records of a ring, parameters of a .scap block):
Arrow's binary views give exactly what gathering every byte gives, at every length and position. And numbers
read back from nullable Arrow columns with numpy (`filled`) equal Arrow's fill_null."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from kernel.scap.decode import (_ascii, _binary_views, _packed_column, _repair_utf8, _segment_bytes, _varlen_column,
                                _view_array, filled)


@st.composite
def segments(draw):
    """(buffer, rows, offsets, lengths, nrows): segments anywhere in the buffer, up to its last byte."""
    data = draw(st.binary(min_size=1, max_size=200))
    if draw(st.booleans()):  # some invalid UTF-8 as well as text
        data = bytes(b % 0x7F for b in data)
    nrows = draw(st.integers(min_value=0, max_value=25))
    rows = sorted(draw(st.sets(st.integers(min_value=0, max_value=max(nrows - 1, 0)), max_size=nrows)))[:nrows]
    lengths, offsets = [], []
    for _ in rows:
        length = draw(st.integers(min_value=0, max_value=min(len(data), 30)))
        lengths.append(length)
        offsets.append(draw(st.integers(min_value=0, max_value=len(data) - length)))
    return (np.frombuffer(data, dtype=np.uint8), np.array(rows, dtype=np.int64), np.array(offsets, dtype=np.int64),
            np.array(lengths, dtype=np.int64), nrows)


@settings(max_examples=300, deadline=None)
@given(segments())
def test_view_gathered_columns_equal_byte_gathered_ones(case) -> None:
    buf, rows, offsets, lengths, nrows = case
    views = _binary_views(buf, rows, offsets, lengths, nrows)
    if views is not None:  # as Arrow's format has them: short values inline and zero-padded, prefixes right
        validity = pa.py_buffer(np.packbits(np.isin(np.arange(nrows), rows), bitorder="little"))
        pa.Array.from_buffers(pa.binary_view(), nrows, [validity, pa.py_buffer(views), pa.py_buffer(buf)]
                              ).validate(full=True)
    for kind in (pa.string(), pa.binary()):
        got = _varlen_column(buf, rows, offsets, lengths, nrows, kind)
        got.validate(full=True)
        assert got.equals(_packed_column(buf, rows, offsets, lengths, nrows, kind))
    expected = b"".join(bytes(buf[o: o + n]) for o, n in zip(offsets.tolist(), lengths.tolist()))
    assert _segment_bytes(buf, offsets, lengths).tobytes() == expected


def test_segments_near_the_end_of_a_buffer_are_gathered_byte_by_byte() -> None:
    """A view reads 12 bytes from a segment's start: one that starts closer to the buffer's end cannot use it."""
    buf = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    rows, offsets, lengths = np.array([0, 1]), np.array([0, 10]), np.array([16, 3])
    assert _view_array(buf, rows, offsets, lengths, 2) is None
    assert _varlen_column(buf, rows, offsets, lengths, 2, pa.string()).to_pylist() == ["0123456789abcdef", "abc"]
    assert _view_array(buf, rows[:1], offsets[:1], lengths[:1], 1).to_pylist() == [b"0123456789abcdef"]


def test_text_is_checked_for_utf8_only_where_a_byte_is_not_ascii() -> None:
    """`_ascii` reads only the array's own values (slices included), so bad bytes elsewhere do not count."""
    text = pa.array(["path", "é", "/etc/passwd", None])
    assert _ascii(text.slice(2)) and _ascii(text.slice(0, 1)) and _ascii(pa.array([], pa.string()))
    assert not _ascii(text) and not _ascii(text.slice(1, 1))
    bad = pa.Array.from_buffers(pa.string(), 2, [None, pa.py_buffer(np.array([0, 2, 3], dtype=np.int32)),
                                                 pa.py_buffer(b"ok\xff")])
    assert _repair_utf8(bad).to_pylist() == ["ok", "\ufffd"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(min_value=-(2**31), max_value=2**31 - 1)), max_size=40),
       st.sampled_from([pa.int8(), pa.int32(), pa.int64(), pa.uint16(), pa.bool_()]),
       st.integers(min_value=0, max_value=10), st.integers(min_value=0, max_value=10))
def test_filled_equals_arrow_fill_null(values: list, kind: pa.DataType, cut: int, default: int) -> None:
    """Slices included (their bitmaps start inside a byte)."""
    if kind == pa.bool_():
        values, default = [None if v is None else v % 2 == 1 for v in values], bool(default % 2)
    elif pa.types.is_integer(kind):
        low, high = (-(2 ** (kind.bit_width - 1)), 2 ** (kind.bit_width - 1) - 1) if pa.types.is_signed_integer(kind) \
            else (0, 2 ** kind.bit_width - 1)
        values = [None if v is None else min(max(v, low), high) for v in values]
    array = pa.array(values, type=kind).slice(min(cut, len(values)))
    expected = array.fill_null(default).to_numpy(zero_copy_only=False)
    got = filled(array, default)
    assert got.dtype == expected.dtype and (got == expected).all()
