"""Decode the event blocks of a capture into Arrow record batches of the syscall event model.

Everything is vectorized with numpy: the event headers are gathered from the uncompressed bytes with
one fancy-index, events are grouped by (type id, parameter count), and each group's parameter length
array and parameter values are gathered column-wise with computed offsets. No Python loop runs per
event; loops run per event type and per parameter.

Column contract (names and Arrow types are stable across batches and captures):

==================  ==============================  ====================================================
column              Arrow type                      meaning
==================  ==============================  ====================================================
``evt.num``         uint64                          1-based counter over every event the sysdig 0.29.3
                                                    reader returns, internal ones included; events with
                                                    id >= 336 are dropped and not counted
``evt.rawtime``     uint64                          timestamp, ns since the epoch
``evt.cpu``         int16                           cpu id of the event block
``thread.tid``      int64                           thread id from the event header
``evt.type_id``     uint16                          PPME_* id
``evt.type``        dictionary<int32, string>       schema name (``open``, ``execve``, ``procinfo``...);
                                                    for generic events (ids 0/1) the syscall name of the
                                                    ``ID`` parameter, ``<unknown>`` when unmapped
``evt.dir``         dictionary<int32, string>       ``>`` enter (even id), ``<`` exit (odd id)
``evt.category``    dictionary<int32, string>       schema category text (``file``, ``net``, ``IPC``,
                                                    ``process``, ``internal``...; generic events: the
                                                    syscall's category); I/O categories stay
                                                    ``io_read``/``io_write``/``io_other`` (sysdig maps
                                                    them through the fd type, which needs fd state)
``evt.is_internal`` bool                            schema category is EC_INTERNAL (procinfo,
                                                    sysdigevent)
``evt.rawres``      int64 (nullable)                exit events whose first parameter is an 8-byte
                                                    integer (``res``/``fd``/...): its value; else null
``arg.<name>``      see below (nullable)            one column per parameter name present in the batch
==================  ==============================  ====================================================

Parameter columns: integer types (fd, errno, pid, flags, uid, uint64...) -> int64 (sign-extended
for signed types, unsigned 64-bit values keep their bit pattern); CHARBUF/FSPATH/FSRELPATH -> string
(cut at the first NUL, UTF-8 with U+FFFD replacement, zero-length -> ""); ``args``/``env``/``cgroups``
BYTEBUF -> list<string> (split on NUL); every other type (BYTEBUF data, SOCKADDR, SOCKTUPLE, FDLIST,
PT_DYN...) -> binary raw bytes, decoded on demand by ``kernel.scap.decode.sockaddr_columns`` /
``socktuple_columns``. A parameter name has one canonical kind (the kind most event types give it,
``event_table.canonical_param_kinds``); a parameter of another kind goes to ``arg.<name>.<kind>``
(e.g. SOCKADDR ``addr`` of bind/connect -> ``arg.addr.bytes`` because ``addr`` is an integer for
futex/brk/mmap; container ``id`` -> ``arg.id.string``). Null means the event has no such parameter
(or fewer parameters were written than the schema lists, as old captures do).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.ma  # noqa: F401  (pa.array of a numpy array imports it on first use: ~10 ms in the first batch)
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (Array.cast imports it on first use: ~30 ms in a live drain)

from kernel.scap import event_table as et
from kernel.scap.blocks import EVENT_BLOCKS, CaptureLayout, ScapFormatError

_V1_HEADER = 22  # ts, tid, len, type
_V2_HEADER = 26  # ... plus u32 nparams
_MAX_PARAMS = 32
_OLD_LEN_FIXUP_TYPES = (280, 286)  # old NOTIFICATION/INFRASTRUCTURE events carry len + 3
_RAWRES_TYPES = frozenset({et.ParamType.ERRNO, et.ParamType.FD, et.ParamType.PID, et.ParamType.INT64,
                           et.ParamType.UINT64})
# ppm_evt_hdr fields: (name, offset, width); nparams exists in v2 headers only.
_HEADER_FIELDS = (("ts", 0, 8), ("tid", 8, 8), ("len", 16, 4), ("type", 20, 2), ("nparams", 22, 4))
_ARROW_TYPES = {
    et.ParamKind.INT: pa.int64(), et.ParamKind.STRING: pa.string(), et.ParamKind.BYTES: pa.binary(),
    et.ParamKind.STRLIST: pa.list_(pa.string()),
}
_MASKS = np.array([0] + [(1 << (8 * n)) - 1 for n in range(1, 8)] + [(1 << 64) - 1], dtype=np.uint64)


def param_column(param: et.ParamInfo) -> str:
    """The batch column of a parameter: ``arg.<name>``, or ``arg.<name>.<kind>`` off its canonical kind."""
    canonical = et.canonical_param_kinds()[param.name]
    return f"arg.{param.name}" if param.kind == canonical else f"arg.{param.name}.{param.kind.value}"


def _column_kinds() -> dict[str, tuple[et.ParamKind, bool]]:
    kinds: dict[str, tuple[et.ParamKind, bool]] = {}
    for info in et.EVENTS.values():
        for param in info.params:
            kinds.setdefault(param_column(param), (param.kind, param.type in et.SIGNED_TYPES))
    return kinds


COLUMN_KINDS = _column_kinds()
TYPE_NAMES: tuple[str, ...] = tuple(sorted({i.name for i in et.EVENTS.values()} | set(et.SYSCALL_NAMES)
                                           | {et.UNKNOWN_SYSCALL}))
CATEGORY_NAMES: tuple[str, ...] = tuple(et.category_name(c) for c in et.Category)
_TYPE_INDEX = {name: i for i, name in enumerate(TYPE_NAMES)}
_CATEGORY_INDEX = {c: i for i, c in enumerate(et.Category)}


def _lookup(default: int, items: dict[int, int], size: int) -> np.ndarray:
    table = np.full(size, default, dtype=np.int32)
    for key, value in items.items():
        table[key] = value
    return table


_EVENT_TYPE_IDX = _lookup(_TYPE_INDEX[et.UNKNOWN_SYSCALL], {i: _TYPE_INDEX[e.name] for i, e in et.EVENTS.items()}, 65536)
_EVENT_CAT_IDX = _lookup(0, {i: _CATEGORY_INDEX[e.category] for i, e in et.EVENTS.items()}, 65536)
_EVENT_INTERNAL = _lookup(0, {i: int(e.is_internal) for i, e in et.EVENTS.items()}, 65536).astype(bool)
_EVENT_NPARAMS = _lookup(0, {i: len(e.params) for i, e in et.EVENTS.items()}, 65536)
_EVENT_WIDTH = _lookup(2, {i: 4 if e.is_large_payload else 2 for i, e in et.EVENTS.items()}, 65536)
_SYSCALL_TYPE_IDX = np.array([_TYPE_INDEX[n] for n in et.SYSCALL_NAMES] + [_TYPE_INDEX[et.UNKNOWN_SYSCALL]],
                             dtype=np.int32)
_SYSCALL_CAT_IDX = np.array([_CATEGORY_INDEX[et.syscall_category(i)] for i in range(len(et.SYSCALL_NAMES))]
                            + [_CATEGORY_INDEX[et.Category.OTHER]], dtype=np.int32)


@dataclass
class EventIndex:
    """Decoded headers of every event the sysdig 0.29.3 reader keeps, in file order."""

    block_offset: np.ndarray  # int64, start of the event block (for error messages)
    cpu: np.ndarray  # int16
    ts: np.ndarray  # uint64
    tid: np.ndarray  # int64
    type: np.ndarray  # uint16
    nparams: np.ndarray  # int64
    lens_start: np.ndarray  # int64, first byte of the parameter length array
    payload_end: np.ndarray  # int64, end of the last parameter
    dropped: int  # event blocks skipped because their id is >= 336

    def __len__(self) -> int:
        return len(self.ts)


def _rows(buf: np.ndarray, offsets: np.ndarray, width: int) -> np.ndarray:
    """``width`` bytes at each offset as a (n, width) uint8 matrix (one row copy per offset, no per-byte index)."""
    windows = np.lib.stride_tricks.as_strided(buf, shape=(len(buf) - width + 1, width), strides=(1, 1),
                                              writeable=False)
    return windows[offsets]


_UINT_DTYPES = {1: "<u1", 2: "<u2", 4: "<u4", 8: "<u8"}


def _gather_uint(buf: np.ndarray, offsets: np.ndarray, width: int) -> np.ndarray:
    """Little-endian unsigned integers of ``width`` (1, 2, 4 or 8) bytes at each offset, as uint64. Up to 4
    bytes, one 1-D gather per byte beats both the row copies of `_rows` (2-4x on a batch's 65,536 offsets) and
    unaligned wide reads; 8-byte values are read whole."""
    if width > 4:  # one unaligned 8-byte read per offset, through a view whose items start at every byte
        words = np.ndarray((len(buf) - width + 1,), dtype=_UINT_DTYPES[width], buffer=buf, strides=(1,))
        return words[offsets].astype(np.uint64, copy=False)
    value = buf[offsets].astype(np.uint64)
    for k in range(1, width):
        value |= buf[offsets + k].astype(np.uint64) << np.uint64(8 * k)
    return value


def build_index(layout: CaptureLayout, buf: np.ndarray, first: int = 0, stop: int | None = None) -> EventIndex:
    """Decode and check the headers of event blocks ``[first, stop)`` (all by default; vectorized)."""
    offsets = layout.event_offsets[first:stop]
    block_types = layout.event_block_types[first:stop]
    has_flags = np.zeros(len(offsets), dtype=bool)
    is_v2 = np.zeros(len(offsets), dtype=bool)
    for block_type, (flags, v2) in EVENT_BLOCKS.items():
        match = block_types == block_type
        has_flags |= match & flags
        is_v2 |= match & v2
    hdr = offsets + 10 + 4 * has_flags
    block_end = offsets + _gather_uint(buf, offsets + 4, 4).astype(np.int64) - 4
    too_short = hdr + np.where(is_v2, _V2_HEADER, _V1_HEADER) > block_end
    _fail_if(layout, too_short, offsets, "event block too short for its header")
    raw = _rows(buf, hdr, _V2_HEADER)
    headers = {name: raw[:, at : at + width].copy().view(_UINT_DTYPES[width]).ravel()
               for name, at, width in _HEADER_FIELDS}
    keep = headers["type"] < et.SYSDIG_EVENT_MAX
    dropped = int(len(keep) - keep.sum())
    hdr, is_v2, offsets, block_end = hdr[keep], is_v2[keep], offsets[keep], block_end[keep]
    headers = {name: values[keep] for name, values in headers.items()}
    types = headers["type"].astype(np.uint16)
    length = headers["len"].astype(np.int64)
    payload_end = hdr + length - np.where(is_v2, 0, 3 * np.isin(types, _OLD_LEN_FIXUP_TYPES))
    _fail_if(layout, payload_end > block_end, offsets, "event length runs past its block")
    nparams = headers["nparams"].astype(np.int64)
    lens_start = hdr + np.where(is_v2, _V2_HEADER, _V1_HEADER)
    if not is_v2.all():
        v1 = np.flatnonzero(~is_v2)
        nparams[v1] = _infer_nparams(layout, buf, types[v1], lens_start[v1], payload_end[v1], offsets[v1])
    _fail_if(layout, nparams > _MAX_PARAMS, offsets, "event declares more than 32 parameters")
    cpu = _gather_uint(buf, offsets + 8, 2).astype(np.uint16).view(np.int16)
    return EventIndex(offsets, cpu, headers["ts"], headers["tid"].view(np.int64), types, nparams,
                      lens_start, payload_end, dropped)


def _infer_nparams(layout, buf, types, lens_start, payload_end, offsets) -> np.ndarray:
    """Old (v1) event blocks do not store nparams: find the largest count whose lengths fill the event.

    Same rule as libscap: start from the schema's count and go down; a count whose length array fits
    but whose parameters end before the event does is a corrupt event.
    """
    result = np.full(len(types), -1, dtype=np.int64)
    for type_id in np.unique(types).tolist():
        sel = np.flatnonzero(types == type_id)
        width = int(_EVENT_WIDTH[type_id])
        pending = np.ones(len(sel), dtype=bool)
        for n in range(int(_EVENT_NPARAMS[type_id]), -1, -1):
            cand = sel[pending]
            if not len(cand):
                break
            values_start = lens_start[cand] + width * n
            fits = values_start <= payload_end[cand]
            total = values_start.copy()
            for j in range(n):
                total += _gather_uint(buf, lens_start[cand] + width * j, width).astype(np.int64)
            short = fits & (total < payload_end[cand])
            _fail_if(layout, short, offsets[cand], "cannot infer the parameter count of an old event")
            exact = fits & (total == payload_end[cand])
            result[cand[exact]] = n
            pending[np.flatnonzero(pending)[exact]] = False
        _fail_if(layout, pending, offsets[sel], "cannot infer the parameter count of an old event")
    return result


def _fail_if(layout: CaptureLayout, bad: np.ndarray, offsets: np.ndarray, message: str) -> None:
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ScapFormatError(layout.path, int(offsets[first]), message)


@dataclass
class _ParamSlices:
    """Where one column's values are, for the rows of a batch that have it."""

    rows: list[np.ndarray]
    offsets: list[np.ndarray]
    lengths: list[np.ndarray]
    signed: list[np.ndarray]


def decode_batch(layout: CaptureLayout, buf: np.ndarray, index: EventIndex, start: int, stop: int,
                 first_num: int = 1) -> pa.RecordBatch:
    """Decode events ``[start, stop)`` of ``index`` into one record batch."""
    nrows = stop - start
    types = index.type[start:stop]
    nparams = index.nparams[start:stop]
    lens_start = index.lens_start[start:stop]
    payload_end = index.payload_end[start:stop]
    slices: dict[str, _ParamSlices] = {}
    rawres = np.zeros(nrows, dtype=np.int64)
    rawres_valid = np.zeros(nrows, dtype=bool)
    type_idx = _EVENT_TYPE_IDX[types]
    cat_idx = _EVENT_CAT_IDX[types]
    keys = types.astype(np.int64) * 64 + nparams
    unique_keys, inverse = np.unique(keys, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(unique_keys) + 1))
    for g, key in enumerate(unique_keys.tolist()):
        rows = order[bounds[g] : bounds[g + 1]]
        type_id, count = divmod(key, 64)
        info = et.EVENTS[type_id]
        width = int(_EVENT_WIDTH[type_id])
        lengths = np.empty((len(rows), count), dtype=np.int64)
        for j in range(count):
            lengths[:, j] = _gather_uint(buf, lens_start[rows] + width * j, width).astype(np.int64)
        values_start = lens_start[rows] + width * count
        ends = np.cumsum(lengths, axis=1)
        total_end = values_start + (ends[:, -1] if count else 0)
        _fail_if(layout, total_end != payload_end[rows], index.block_offset[start + rows],
                 "parameter lengths do not add up to the event length")
        for j, param in enumerate(info.params[:count]):
            offsets = values_start + ends[:, j] - lengths[:, j]
            _add_slices(slices, param, rows, offsets, lengths[:, j])
            if j == 0 and type_id in (et.GENERIC_E, et.GENERIC_X):
                _generic_names(buf, rows, offsets, lengths[:, j], type_idx, cat_idx)
            if j == 0 and type_id & 1 and param.type in _RAWRES_TYPES:
                ok = lengths[:, j] == 8
                rawres[rows[ok]] = _gather_uint(buf, offsets[ok], 8).view(np.int64)
                rawres_valid[rows[ok]] = True
    columns = {
        "evt.num": pa.array(np.arange(first_num + start, first_num + stop, dtype=np.uint64)),
        "evt.rawtime": pa.array(index.ts[start:stop]),
        "evt.cpu": pa.array(index.cpu[start:stop]),
        "thread.tid": pa.array(index.tid[start:stop]),
        "evt.type_id": pa.array(types),
        "evt.type": pa.DictionaryArray.from_arrays(pa.array(type_idx), pa.array(TYPE_NAMES)),
        "evt.dir": pa.DictionaryArray.from_arrays(pa.array((types & 1).astype(np.int32)), pa.array([">", "<"])),
        "evt.category": pa.DictionaryArray.from_arrays(pa.array(cat_idx), pa.array(CATEGORY_NAMES)),
        "evt.is_internal": pa.array(_EVENT_INTERNAL[types]),
        "evt.rawres": nullable_column(rawres, rawres_valid),
    }
    for name in sorted(slices):
        columns[name] = _build_column(buf, name, slices[name], nrows, layout)
    return pa.RecordBatch.from_pydict(columns)


def _add_slices(slices: dict[str, _ParamSlices], param: et.ParamInfo, rows, offsets, lengths) -> None:
    name = param_column(param)
    entry = slices.setdefault(name, _ParamSlices([], [], [], []))
    entry.rows.append(rows)
    entry.offsets.append(offsets)
    entry.lengths.append(lengths)
    entry.signed.append(np.full(len(rows), param.type in et.SIGNED_TYPES))


def _generic_names(buf, rows, offsets, lengths, type_idx, cat_idx) -> None:
    """Generic events take their type name and category from the syscall id in their first parameter."""
    code = np.full(len(rows), len(et.SYSCALL_NAMES), dtype=np.int64)
    ok = lengths >= 2
    code[ok] = _gather_uint(buf, offsets[ok], 2).astype(np.int64)
    code = np.minimum(code, len(et.SYSCALL_NAMES))
    type_idx[rows] = _SYSCALL_TYPE_IDX[code]
    cat_idx[rows] = _SYSCALL_CAT_IDX[code]


def _build_column(buf, name: str, s: _ParamSlices, nrows: int, layout: CaptureLayout) -> pa.Array:
    rows = np.concatenate(s.rows)
    offsets = np.concatenate(s.offsets)
    lengths = np.concatenate(s.lengths)
    kind = COLUMN_KINDS[name][0]
    if kind == et.ParamKind.INT:
        return _int_column(buf, rows, offsets, lengths, np.concatenate(s.signed), nrows)
    order = np.argsort(rows, kind="stable")
    rows, offsets, lengths = rows[order], offsets[order], lengths[order]
    if kind == et.ParamKind.STRING:
        lengths = _until_first_nul(buf, offsets, lengths)
        return _varlen_column(buf, rows, offsets, lengths, nrows, pa.string())
    if kind == et.ParamKind.STRLIST:
        return _strlist_column(buf, rows, offsets, lengths, nrows)
    return _varlen_column(buf, rows, offsets, lengths, nrows, pa.binary())


def _int_column(buf, rows, offsets, lengths, signed, nrows) -> pa.Array:
    width = np.minimum(lengths, 8)
    widest = int(width.max()) if len(width) else 0
    value = _gather_uint(buf, offsets, 8 if widest > 4 else 4 if widest > 2 else max(widest, 1)) & _MASKS[width]
    extend = signed & (width > 0) & (width < 8)
    if extend.any():
        sign = np.uint64(1) << (8 * width[extend].astype(np.uint64) - np.uint64(1))
        value[extend] = (value[extend] ^ sign) - sign
    out = np.zeros(nrows, dtype=np.int64)
    valid = np.zeros(nrows, dtype=bool)
    out[rows] = value.view(np.int64)
    valid[rows] = lengths > 0
    return nullable_column(out, valid)


def nullable_column(values: np.ndarray, valid: np.ndarray, kind: pa.DataType = pa.int64()) -> pa.Array:
    """A column of fixed-width numbers (`kind`, int64 by default: the dtype of `values`), null where not
    `valid`: the validity bitmap is packed by numpy (Arrow's conversion of a numpy mask goes value by value,
    ~10x slower on a 65,536-row batch), and a column valid everywhere has none."""
    nulls = len(valid) - int(np.count_nonzero(valid))
    if nulls == 0:
        return pa.array(values, type=kind)
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(kind, len(values), [bitmap, pa.py_buffer(np.ascontiguousarray(values))],
                                 null_count=nulls)


def filled(values: pa.Array, default: int | bool) -> np.ndarray:
    """`values.fill_null(default).to_numpy()` for an integer or boolean array, read from its buffers with numpy:
    Arrow's fill_null costs ~10 us of calls, more than the work on a live batch's few thousand rows, and the
    state engine asks for a few dozen such columns per batch."""
    kind = values.type
    if isinstance(values, pa.ChunkedArray) or not (pa.types.is_integer(kind) or pa.types.is_boolean(kind)):
        return values.fill_null(default).to_numpy(zero_copy_only=False)
    if not values.null_count:
        return values.to_numpy(zero_copy_only=False)
    validity, data = values.buffers()[:2]
    start, end = values.offset, values.offset + len(values)
    if pa.types.is_boolean(kind):
        numbers = _bits(data, end)[start:]
    else:
        numbers = np.frombuffer(data, dtype=kind.to_pandas_dtype(), count=end)[start:]
    return np.where(_bits(validity, end)[start:], numbers, np.asarray(default, dtype=numbers.dtype))


def _bits(bitmap: pa.Buffer, count: int) -> np.ndarray:
    """The first `count` bits of an Arrow bitmap as booleans."""
    return np.unpackbits(np.frombuffer(bitmap, dtype=np.uint8), count=count, bitorder="little").view(bool)


def _segment_bytes(buf, offsets, lengths) -> np.ndarray:
    """The bytes of every segment ``[offset, offset + length)``, concatenated in order."""
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, dtype=np.uint8)
    array = _view_array(buf, np.arange(len(offsets)), offsets, lengths, len(offsets))
    if array is not None:
        return np.frombuffer(array.buffers()[2], dtype=np.uint8, count=total)
    starts_in_out = np.cumsum(lengths) - lengths
    # 32-bit byte indices when the buffer allows: building and following them is ~4x faster than 64-bit ones.
    kind = np.int32 if len(buf) < 2**31 and total < 2**31 else np.int64
    index = np.repeat((offsets - starts_in_out).astype(kind), lengths)
    index += np.arange(total, dtype=kind)
    return np.take(buf, index)


def _until_first_nul(buf, offsets, lengths) -> np.ndarray:
    """Lengths cut at the first NUL byte of each segment (C-string semantics)."""
    data = _segment_bytes(buf, offsets, lengths)
    zeros = np.flatnonzero(data == 0)
    if not len(zeros):
        return lengths
    seg_start = np.cumsum(lengths) - lengths
    nxt = np.searchsorted(zeros, seg_start)
    first = np.append(zeros, np.iinfo(np.int64).max)[nxt]
    return np.minimum(lengths, first - seg_start)


def _validity(rows, nrows) -> tuple[pa.Buffer, int]:
    valid = np.zeros(nrows, dtype=bool)
    valid[rows] = True
    return pa.py_buffer(np.packbits(valid, bitorder="little")), int(nrows - len(rows))


def _varlen_column(buf, rows, offsets, lengths, nrows, arrow_type) -> pa.Array:
    """Text or bytes column: row `rows[i]` holds ``buf[offsets[i]: offsets[i] + lengths[i]]``, the rest null."""
    array = _view_array(buf, rows, offsets, lengths, nrows)
    if array is None:
        return _packed_column(buf, rows, offsets, lengths, nrows, arrow_type)
    if arrow_type == pa.binary():
        return array
    return _repair_utf8(array.view(pa.string() if array.type == pa.binary() else pa.large_string()))


def _view_array(buf, rows, offsets, lengths, nrows) -> pa.Array | None:
    """The segments as a binary (large_binary past 2 GiB) column, copied out of `buf` by Arrow from views of
    them; None when `buf` does not allow views (`_binary_views`)."""
    views = _binary_views(buf, rows, offsets, lengths, nrows)
    if views is None:
        return None
    validity, null_count = _validity(rows, nrows) if len(rows) < nrows else (None, 0)
    array = pa.Array.from_buffers(pa.binary_view(), nrows, [validity, pa.py_buffer(views), pa.py_buffer(buf)],
                                  null_count=null_count)
    return array.cast(pa.large_binary() if int(lengths.sum()) >= 2**31 else pa.binary())


# Arrow's binary views (16 bytes a value: int32 length, then the value itself when it fits in 12 bytes, else its
# first 4 bytes, the data buffer's index and the value's int32 offset in it) point at the segments where they
# are, so Arrow's cast to plain binary copies each one with a memcpy: ~2x faster than gathering every byte
# through an index of its own. The masks [min(length, 13)] keep a value's bytes in the view's last 12 (zeros after
# a short value, as Arrow requires; 13 = a long value: its prefix only).
_LOW_MASKS = np.array([(1 << (8 * min(length, 8))) - 1 for length in range(13)] + [0xFFFFFFFF], dtype=np.uint64)
_HIGH_MASKS = np.array([(1 << (8 * min(max(length - 8, 0), 4))) - 1 for length in range(13)] + [0], dtype=np.uint32)
_INLINE = 12


def _binary_views(buf, rows, offsets, lengths, nrows) -> np.ndarray | None:
    """(nrows, 4) uint32 Arrow binary views of the segments (zeros for the rows not in `rows`), or None when
    `buf` is too large for int32 offsets or a segment lies within 12 bytes of its end (the view's words are
    read 12 bytes at a time)."""
    if not _INLINE <= len(buf) < 2**31 or (len(offsets) and int(offsets.max()) + _INLINE > len(buf)):
        return None
    at = offsets.astype(np.int32)
    size = lengths.astype(np.int32)
    views = np.empty((len(rows), 4), dtype=np.uint32)
    views[:, 0] = size
    # Bytes 0-7 and 8-11 of every value, read as an 8- and a 4-byte word at any byte offset.
    low = np.ndarray((len(buf) - 7,), dtype="<u8", buffer=buf, strides=(1,))[at]
    high = np.ndarray((len(buf) - 3,), dtype="<u4", buffer=buf, strides=(1,))[at + 8]
    np.bitwise_and(low, _LOW_MASKS.take(size, mode="clip"), out=views[:, 1:3].view(np.uint64)[:, 0])
    np.bitwise_and(high, _HIGH_MASKS.take(size, mode="clip"), out=views[:, 3])
    views[:, 3] |= np.where(size > _INLINE, at, 0).view(np.uint32)  # buffer index 0 (masked to 0 above)
    if len(rows) == nrows:
        return views
    out = np.zeros((nrows, 4), dtype=np.uint32)
    out.view(_VIEW).reshape(-1)[rows] = views.view(_VIEW).reshape(-1)  # 16-byte items: one copy each
    return out


_VIEW = np.dtype((np.void, 16))


def _packed_column(buf, rows, offsets, lengths, nrows, arrow_type) -> pa.Array:
    """`_varlen_column` by gathering every byte (for buffers views cannot point into)."""
    row_lengths = np.zeros(nrows, dtype=np.int64)
    row_lengths[rows] = lengths
    value_offsets = np.zeros(nrows + 1, dtype=np.int64)
    np.cumsum(row_lengths, out=value_offsets[1:])
    if value_offsets[-1] >= 2**31:
        arrow_type = pa.large_string() if arrow_type == pa.string() else pa.large_binary()
    else:
        value_offsets = value_offsets.astype(np.int32)
    data = _segment_bytes(buf, offsets, lengths)
    validity, null_count = _validity(rows, nrows)
    array = pa.Array.from_buffers(arrow_type, nrows, [validity, pa.py_buffer(value_offsets), pa.py_buffer(data)],
                                  null_count=null_count)
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return _repair_utf8(array)
    return array


def _repair_utf8(array: pa.Array) -> pa.Array:
    """Arrow strings must be valid UTF-8: replace bad sequences (rare) like ``bytes.decode(errors="replace")``.
    Text that is all ASCII (nearly all: paths, names) is valid as it is, and one pass of numpy tells."""
    if _ascii(array):
        return array
    try:
        array.validate(full=True)
        return array
    except pa.ArrowInvalid:
        raw = array.view(pa.binary() if pa.types.is_string(array.type) else pa.large_binary()).to_pylist()
        return pa.array([None if v is None else v.decode("utf-8", "replace") for v in raw], type=array.type)


def _ascii(array: pa.Array) -> bool:
    """Whether every value byte of a (large) string or binary array is below 0x80."""
    _, offsets, data = array.buffers()[:3]
    if data is None or not len(array):
        return True
    kind = np.int64 if pa.types.is_large_string(array.type) or pa.types.is_large_binary(array.type) else np.int32
    bounds = np.frombuffer(offsets, dtype=kind)[[array.offset, array.offset + len(array)]]
    values = np.frombuffer(data, dtype=np.uint8)[int(bounds[0]): int(bounds[1])]
    return not len(values) or int(values.max()) < 0x80


def _strlist_column(buf, rows, offsets, lengths, nrows) -> pa.Array:
    """NUL-separated strings -> list<string>; a missing final NUL still ends the last string."""
    data = _segment_bytes(buf, offsets, lengths)
    seg_start = np.cumsum(lengths) - lengths
    seg_end = seg_start + lengths
    zeros = np.flatnonzero(data == 0)
    zero_seg = np.searchsorted(seg_start, zeros, side="right") - 1
    unterminated = np.flatnonzero((lengths > 0) & (data[np.maximum(seg_end - 1, 0)] != 0) if len(data) else
                                  np.zeros(len(lengths), dtype=bool))
    ends = np.concatenate([zeros, seg_end[unterminated]])
    end_seg = np.concatenate([zero_seg, unterminated])
    order = np.lexsort((ends, end_seg))
    ends, end_seg = ends[order], end_seg[order]
    removed_before = np.searchsorted(zeros, ends)  # NULs dropped before each element end
    child_ends = ends - removed_before
    compact = np.delete(data, zeros)
    child_offsets = np.concatenate([[0], child_ends]).astype(np.int32)
    child = pa.Array.from_buffers(pa.string(), len(ends), [None, pa.py_buffer(child_offsets), pa.py_buffer(compact)])
    child = _repair_utf8(child)
    per_seg = np.bincount(end_seg, minlength=len(lengths)) if len(end_seg) else np.zeros(len(lengths), np.int64)
    row_counts = np.zeros(nrows, dtype=np.int64)
    row_counts[rows] = per_seg
    list_offsets = np.zeros(nrows + 1, dtype=np.int32)
    np.cumsum(row_counts, out=list_offsets[1:])
    validity, null_count = _validity(rows, nrows)
    return pa.Array.from_buffers(pa.list_(pa.string()), nrows, [validity, pa.py_buffer(list_offsets)],
                                 null_count=null_count, children=[child])


def iter_batches(layout: CaptureLayout, batch_size: int = 65536) -> Iterator[pa.RecordBatch]:
    """Decode all events of ``layout`` in batches of at most ``batch_size`` rows."""
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    buf = layout.padded
    index = build_index(layout, buf)
    for start in range(0, len(index), batch_size):
        yield decode_batch(layout, buf, index, start, min(start + batch_size, len(index)))


# --- helpers for the raw socket columns ------------------------------------------------------------

PPM_AF_UNIX, PPM_AF_INET, PPM_AF_INET6 = 1, 2, 10


def _ip_text(raw: bytes) -> str:
    return str(ipaddress.ip_address(raw))


def decode_sockaddr(raw: bytes | None) -> dict | None:
    """One PT_SOCKADDR value -> ``{"family", "ip", "port", "path"}`` (None when absent/unknown family)."""
    if not raw:
        return None
    family = raw[0]
    if family == PPM_AF_INET and len(raw) >= 7:
        return {"family": "ipv4", "ip": _ip_text(raw[1:5]), "port": int.from_bytes(raw[5:7], "little"), "path": None}
    if family == PPM_AF_INET6 and len(raw) >= 19:
        return {"family": "ipv6", "ip": _ip_text(raw[1:17]), "port": int.from_bytes(raw[17:19], "little"),
                "path": None}
    if family == PPM_AF_UNIX:
        return {"family": "unix", "ip": None, "port": None, "path": raw[1:].split(b"\0", 1)[0].decode("utf-8", "replace")}
    return None


def decode_socktuple(raw: bytes | None) -> dict | None:
    """One PT_SOCKTUPLE value -> ``{"family", "sip", "sport", "dip", "dport", "path"}`` (ports little-endian)."""
    if not raw:
        return None
    family = raw[0]
    if family == PPM_AF_INET and len(raw) >= 13:
        return {"family": "ipv4", "sip": _ip_text(raw[1:5]), "sport": int.from_bytes(raw[5:7], "little"),
                "dip": _ip_text(raw[7:11]), "dport": int.from_bytes(raw[11:13], "little"), "path": None}
    if family == PPM_AF_INET6 and len(raw) >= 37:
        return {"family": "ipv6", "sip": _ip_text(raw[1:17]), "sport": int.from_bytes(raw[17:19], "little"),
                "dip": _ip_text(raw[19:35]), "dport": int.from_bytes(raw[35:37], "little"), "path": None}
    if family == PPM_AF_UNIX and len(raw) >= 17:
        return {"family": "unix", "sip": None, "sport": None, "dip": None, "dport": None,
                "path": raw[17:].split(b"\0", 1)[0].decode("utf-8", "replace")}
    return None


_SOCKADDR_FIELDS = (("family", pa.string()), ("ip", pa.string()), ("port", pa.int64()), ("path", pa.string()))
_SOCKTUPLE_FIELDS = (("family", pa.string()), ("sip", pa.string()), ("sport", pa.int64()), ("dip", pa.string()),
                     ("dport", pa.int64()), ("path", pa.string()))


def _decode_unique(column: pa.Array, decoder, fields) -> dict[str, pa.Array]:
    """Decode each distinct raw value once, then spread the results with a take."""
    encoded = column.dictionary_encode() if not pa.types.is_dictionary(column.type) else column
    decoded = [decoder(v) for v in encoded.dictionary.to_pylist()]
    out = {}
    for name, arrow_type in fields:
        values = pa.array([d[name] if d else None for d in decoded], type=arrow_type)
        out[name] = values.take(encoded.indices)
    return out


def sockaddr_columns(column: pa.Array) -> dict[str, pa.Array]:
    """Raw SOCKADDR column (e.g. ``arg.addr.bytes``) -> ``family``/``ip``/``port``/``path`` arrays."""
    return _decode_unique(column, decode_sockaddr, _SOCKADDR_FIELDS)


def socktuple_columns(column: pa.Array) -> dict[str, pa.Array]:
    """Raw SOCKTUPLE column (``arg.tuple``) -> ``family``/``sip``/``sport``/``dip``/``dport``/``path`` arrays."""
    return _decode_unique(column, decode_socktuple, _SOCKTUPLE_FIELDS)
