"""Probe records (read in place in the rings) -> raw event batches in the `kernel.scap` event model.

Column contract: the same as `kernel.scap.decode` (``evt.num``, ``evt.rawtime``, ``evt.cpu``, ``thread.tid``,
``evt.type_id``, ``evt.type``, ``evt.dir``, ``evt.category``, ``evt.is_internal``, ``evt.rawres`` and one
``arg.<name>`` column per parameter, one Arrow type per name), with these live-capture facts:

* every event is an exit event (``evt.dir`` = ``<``), except ``procexit`` (id 186, ``>``, as in captures);
* ``evt.type`` is the syscall's own name (``dup2``, ``accept4``, ``memfd_create``...); ``evt.type_id`` is the
  0.29.3 table's exit event of that syscall, 1 (generic) where that table has none;
* ``evt.rawres`` is the return value of every syscall event (generic ones included);
* records of the four rings are merged in timestamp order; ``evt.num`` counts from 1 over the stream.

Vectorized: one pass of numpy per column and per distinct syscall of the batch; Python loops run only over
the rare rows that need text work (exec's path, cwd and cgroups, unix socket paths: `kernel.sockets`).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from kernel import convert, exec_details, sockets
from kernel.records import (AREA_LEN_INDEX, F_EXE_LOWER, F_EXE_MEMFD, F_EXE_UPPER, HEADER, LAYOUTS, NOT_A_SYSCALL,
                            RINGBUF_HEADER, SOCK_DATA_AT, RecordLayout)
from kernel.scap import event_table as et
from kernel.scap.decode import (CATEGORY_NAMES, _segment_bytes, _strlist_column, _until_first_nul, _varlen_column,
                                nullable_column)
from kernel.syscalls import BY_NR, SYSCALLS, Syscall, sc_code

PROCEXIT_ID = 186
TYPE_NAMES: tuple[str, ...] = tuple(sorted({s.type_name for s in SYSCALLS} | {"procexit"}))
_TYPE_INDEX = {name: i for i, name in enumerate(TYPE_NAMES)}
_CATEGORY_INDEX = {name: i for i, name in enumerate(CATEGORY_NAMES)}
_GENERIC_CATEGORY = {"memfd_create": et.Category.MEMORY, "chown": et.Category.FILE, "lchown": et.Category.FILE,
                     "fchown": et.Category.FILE, "fchownat": et.Category.FILE}


def _per_nr_tables() -> tuple[np.ndarray, np.ndarray]:
    type_idx = np.zeros(65536, dtype=np.int32)
    cat_idx = np.zeros(65536, dtype=np.int32)
    for spec in SYSCALLS:
        type_idx[spec.nr] = _TYPE_INDEX[spec.type_name]
        if spec.event == et.GENERIC_X:
            category = _GENERIC_CATEGORY.get(spec.name, et.syscall_category(sc_code(spec.name)))
        else:
            category = et.EVENTS[spec.event].category
        cat_idx[spec.nr] = _CATEGORY_INDEX[et.category_name(category)]
    type_idx[NOT_A_SYSCALL] = _TYPE_INDEX["procexit"]
    cat_idx[NOT_A_SYSCALL] = _CATEGORY_INDEX[et.category_name(et.Category.PROCESS)]
    return type_idx, cat_idx


_TYPE_BY_NR, _CATEGORY_BY_NR = _per_nr_tables()
_TYPE_DICTIONARY = pa.array(TYPE_NAMES)
_DIR_DICTIONARY = pa.array([">", "<"])
_CATEGORY_DICTIONARY = pa.array(CATEGORY_NAMES)
_STRLIST_COLUMNS = frozenset({"arg.args", "arg.env"})
_OBJECT_TYPES = {"arg.cgroups": pa.list_(pa.string())}  # Python-built columns that are not text
# The driver's execve exit `flags` bits: the program is in an overlayfs upper / lower layer, runs from a memfd.
PPM_EXE_UPPER_LAYER, PPM_EXE_FROM_MEMFD, PPM_EXE_LOWER_LAYER = 1 << 1, 1 << 2, 1 << 3
_EXE_FLAGS = ((F_EXE_MEMFD, PPM_EXE_FROM_MEMFD), (F_EXE_UPPER, PPM_EXE_UPPER_LAYER), (F_EXE_LOWER, PPM_EXE_LOWER_LAYER))


class _Columns:
    """Accumulates the arg columns of one batch: ints, strings (segments of a ring's records) and binary
    values."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.ints: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.segments: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]] = {}
        self.objects: dict[str, list[tuple[np.ndarray, list]]] = {}
        self.binary: dict[str, list[tuple[np.ndarray, pa.Array]]] = {}

    def put_int(self, name: str, rows: np.ndarray, values: np.ndarray) -> None:
        if name not in self.ints:
            self.ints[name] = (np.zeros(self.n, dtype=np.int64), np.zeros(self.n, dtype=bool))
        out, valid = self.ints[name]
        out[rows] = values
        valid[rows] = True

    def put_segments(self, name: str, buf: np.ndarray, rows: np.ndarray, offsets: np.ndarray,
                     lengths: np.ndarray) -> None:
        """Text at `offsets` of `buf` of exactly `lengths` bytes (NUL-separated lists for arg.args/arg.env), for
        `rows` in ascending order (a group's)."""
        self.segments.setdefault(name, []).append(
            (rows, offsets.astype(np.int64), np.maximum(lengths.astype(np.int64), 0), buf))

    def put_area(self, name: str, buf: np.ndarray, rows: np.ndarray, offsets: np.ndarray,
                 lengths: np.ndarray) -> None:
        """A string area of a record: the probes give its length with the terminating NUL (read_str, read_comm),
        so no byte has to be scanned for it."""
        self.put_segments(name, buf, rows, offsets, lengths.astype(np.int64) - 1)

    def put_objects(self, name: str, rows: np.ndarray, values: list) -> None:
        self.objects.setdefault(name, []).append((rows, values))

    def put_binary(self, name: str, rows: np.ndarray, values: pa.Array) -> None:
        """A binary value (or null) for each of `rows`."""
        self.binary.setdefault(name, []).append((rows, values))

    def arrays(self) -> dict[str, pa.Array]:
        out: dict[str, pa.Array] = {}
        for name, (values, valid) in self.ints.items():
            out[name] = nullable_column(values, valid)
        for name, parts in self.segments.items():
            if any(part[3] is not parts[0][3] for part in parts):
                parts = _in_one_buffer(parts)  # e.g. arg.comm: clones (path ring) and execs (exec ring)
            buf = parts[0][3]
            if len(parts) == 1:  # one group's rows: in time order already
                rows, offsets, lengths = parts[0][:3]
            else:
                rows = np.concatenate([p[0] for p in parts])
                offsets = np.concatenate([p[1] for p in parts])
                lengths = np.concatenate([p[2] for p in parts])
                order = np.argsort(rows, kind="stable")
                rows, offsets, lengths = rows[order], offsets[order], lengths[order]
            if name in _STRLIST_COLUMNS:
                out[name] = _strlist_column(buf, rows, offsets, lengths, self.n)
            else:
                out[name] = _varlen_column(buf, rows, offsets, lengths, self.n, pa.string())
        for name, parts in self.objects.items():
            values: list = [None] * self.n
            for rows, items in parts:
                for row, item in zip(rows.tolist(), items):
                    values[row] = item
            out[name] = pa.array(values, type=_OBJECT_TYPES.get(name, pa.string()))
        for name, parts in self.binary.items():
            out[name] = _scattered(parts, self.n)
        return out


def _scattered(parts: list[tuple[np.ndarray, pa.Array]], n: int) -> pa.Array:
    """One column of `n` rows holding each part's values at its rows, null elsewhere."""
    if len(parts) == 1 and len(parts[0][0]) == n:
        return parts[0][1]
    values = pa.concat_arrays([array for _, array in parts])
    index = np.full(n, -1, dtype=np.int64)
    start = 0
    for rows, array in parts:
        index[rows] = np.arange(start, start + len(array))
        start += len(array)
    return values.take(pa.array(index, mask=index < 0))


def _in_one_buffer(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
                   ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Segments in several rings' buffers copied into one."""
    chunks = [_segment_bytes(buf, offsets, lengths) for _, offsets, lengths, buf in parts]
    merged = np.concatenate(chunks)
    starts = np.cumsum([0] + [len(chunk) for chunk in chunks[:-1]]).tolist()
    return [(rows, start + np.cumsum(lengths) - lengths, lengths, merged)
            for (rows, _, lengths, _), start in zip(parts, starts)]


class _Headers:
    """Header fields of some records, read from the batch's header words (`_header_words`: one contiguous
    array per 8-byte word of the 88-byte header) at the records' indices `src`, each word gathered once when
    first asked for. (As an array of whole headers, every field read was a strided pass over all of them.)"""

    def __init__(self, words: np.ndarray, src: np.ndarray | None) -> None:
        """`src` None: every record, in order."""
        self.words = words
        self.src = src
        self._gathered: dict[int, np.ndarray] = {}

    def word(self, k: int) -> np.ndarray:
        if self.src is None:
            return self.words[k]
        if k not in self._gathered:
            self._gathered[k] = self.words[k].take(self.src)
        return self._gathered[k]

    def subset(self, mask: np.ndarray) -> "_Headers":
        return _Headers(self.words, self.src[mask])

    def a(self, k: int) -> np.ndarray:
        """Register k (u64)."""
        return self.word(_W_A + k)

    def __getitem__(self, name: str) -> np.ndarray:
        """A field by its `HEADER` name, in its dtype there (`len`: the (n, 4) area lengths)."""
        if name == "len":
            return self.word(_W_LEN).view(np.uint16).reshape(-1, 4)
        k, shift, kind = _FIELD_IN_WORD[name]
        word = self.word(k)
        if kind == np.uint64:
            return word
        if kind == np.int64:
            return word.view(np.int64)
        return ((word >> np.uint64(shift)) if shift else word).astype(kind)


# Where each HEADER field lies in the header's 8-byte words (little-endian): (word, bit shift, dtype).
_FIELD_IN_WORD = {"ts": (0, 0, np.uint64), "tid": (1, 0, np.uint32), "pid": (1, 32, np.uint32),
                  "res": (2, 0, np.int64), "evt": (3, 0, np.uint16), "nr": (3, 16, np.uint16),
                  "cpu": (3, 32, np.uint16), "flags": (3, 48, np.uint16)}
_W_LEN, _W_A, _WORDS = 4, 5, HEADER.itemsize // 8
assert all(HEADER.fields[name][1] == 8 * k + shift // 8 for name, (k, shift, _) in _FIELD_IN_WORD.items())
assert HEADER.fields["len"][1] == 8 * _W_LEN and HEADER.fields["a"][1] == 8 * _W_A and HEADER.itemsize % 8 == 0


@dataclass(frozen=True)
class _Group:
    """The records of one syscall in a batch: their rows, their header fields and where each record starts in
    its ring's buffer."""

    rows: np.ndarray
    h: _Headers
    at: np.ndarray

    def where(self, mask: np.ndarray) -> "_Group":
        return _Group(self.rows[mask], self.h.subset(mask), self.at[mask])


class BatchBuilder:
    """Turns spans of ring records into raw event batches; keeps the event counter across batches."""

    def __init__(self, clock_offset_ns: int, *, proc_root: str = "/proc",
                 cgroup_subsystems: tuple[str, ...] = ()) -> None:
        """`cgroup_subsystems`: the kernel's controller names by id (`Probes.cgroup_subsystems`); without them
        exec events carry no `arg.cgroups`."""
        self.clock_offset_ns = clock_offset_ns
        self.next_num = 1
        self.proc_root = proc_root
        self.cgroup_subsystems = cgroup_subsystems

    def build(self, spans: list[tuple[RecordLayout, np.ndarray, int, int]]) -> pa.RecordBatch | None:
        """`spans`: (layout, buffer, byte offset in it, record count) of each ring's records. Nothing of the
        batch points into the buffers: they can be reused once it is built."""
        parts = [(layout, buf, offset, count) for layout, buf, offset, count in spans if count]
        if not parts:
            return None
        buffers = {layout.ring: buf for layout, buf, _, _ in parts}
        words, record_at = _header_words(parts)
        order = _time_order(words[0], len(parts))
        in_time = _Headers(words, order)
        n = len(record_at)
        nr16 = in_time["nr"]
        nr = nr16.astype(np.int64)
        evt = in_time["evt"]
        is_syscall = nr != NOT_A_SYSCALL
        columns: dict[str, pa.Array] = {
            "evt.num": pa.array(np.arange(self.next_num, self.next_num + n, dtype=np.uint64)),
            "evt.rawtime": pa.array(in_time["ts"] + np.uint64(self.clock_offset_ns)),
            "evt.cpu": pa.array(in_time["cpu"].astype(np.int16)),
            "thread.tid": pa.array(in_time["tid"].astype(np.int64)),
            "evt.type_id": pa.array(evt),
            # (indices from the tables above, within their dictionaries: not checked again)
            "evt.type": pa.DictionaryArray.from_arrays(pa.array(_TYPE_BY_NR[nr]), _TYPE_DICTIONARY, safe=False),
            "evt.dir": pa.DictionaryArray.from_arrays(pa.array((evt & 1).astype(np.int32)), _DIR_DICTIONARY,
                                                      safe=False),
            "evt.category": pa.DictionaryArray.from_arrays(pa.array(_CATEGORY_BY_NR[nr]), _CATEGORY_DICTIONARY,
                                                           safe=False),
            "evt.is_internal": pa.array(np.zeros(n, dtype=bool)),
            "evt.rawres": nullable_column(in_time["res"], is_syscall),
        }
        self.next_num += n
        args = _Columns(n)
        # Rows grouped by syscall, in time order within a group: a stable sort of 16-bit numbers is a radix sort.
        grouped = np.argsort(nr16, kind="stable")
        src = grouped if order is None else order[grouped]  # each grouped row's record
        codes = nr16[grouped]
        bounds = np.concatenate([[0], np.flatnonzero(codes[1:] != codes[:-1]) + 1, [n]]).tolist()
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            records = src[lo:hi]
            group = _Group(grouped[lo:hi], _Headers(words, records), record_at[records])
            code = int(codes[lo])
            if code == NOT_A_SYSCALL:
                _procexit(args, group)
            else:
                spec = BY_NR[code]
                self._syscall(args, spec, group, buffers[spec.ring])
        columns.update(dict(sorted(args.arrays().items())))
        return pa.RecordBatch.from_pydict(columns)

    def _syscall(self, args: _Columns, spec: Syscall, group: _Group, buf: np.ndarray) -> None:
        layout_areas = _AREAS[spec.ring]
        rows, h = group.rows, group.h
        if spec.event == et.GENERIC_X:
            args.put_int("arg.ID", rows, np.full(len(rows), sc_code(spec.name), dtype=np.int64))
        for column, source in spec.columns:
            if source == "res":
                args.put_int(column, rows, h["res"])
            elif source.startswith("a"):
                index, _, conversion = source[1:].partition(":")
                args.put_int(column, rows, convert.CONVERTERS[conversion or "int"](h.a(int(index))))
            elif source in layout_areas:
                offset = layout_areas[source]
                args.put_area(column, buf, rows, group.at + offset, h["len"][:, AREA_LEN_INDEX[source]])
            elif source == "@tid":
                args.put_int(column, rows, h["tid"].astype(np.int64))
            elif source == "@pid":
                args.put_int(column, rows, h["pid"].astype(np.int64))
            elif source == "@creat":
                args.put_int(column, rows, np.full(len(rows), convert.CREAT_FLAGS, dtype=np.int64))
            elif source == "@exec":
                self._exec(args, group, buf)
            elif source == "@data":
                args.put_binary(column, rows, _data(spec, group, buf))
            elif source.startswith("@tuple") or source == "@sockaddr":
                args.put_binary(column, rows, sockets.values(source, buf, group.at, h["len"]))
            else:
                raise ValueError(f"{spec.name}: unknown column source {source}")
        if spec.handler == "exit_clone":
            _clone_flags(args, spec, group)

    def _exec(self, args: _Columns, group: _Group, buf: np.ndarray) -> None:
        areas = _AREAS["exec"]
        ok = group.h["res"] == 0
        good, bad = group.where(ok), group.where(~ok)
        args.put_area("arg.exe", buf, bad.rows, bad.at + areas["s0"], bad.h["len"][:, 0])
        if len(good.rows):
            self._exec_success(args, good, buf)

    def _exec_success(self, args: _Columns, good: _Group, buf: np.ndarray) -> None:
        areas = _AREAS["exec"]
        rows, h, record_at = good.rows, good.h, good.at
        buf_args = record_at + areas["b0"]
        total = h["len"][:, 2].astype(np.int64)
        exe_len = _until_first_nul(buf, buf_args, total)
        args.put_segments("arg.exe", buf, rows, buf_args, exe_len)
        rest = np.maximum(total - exe_len - 1, 0)
        args.put_segments("arg.args", buf, rows, buf_args + exe_len + 1, rest)
        args.put_segments("arg.env", buf, rows, record_at + areas["b1"], h["len"][:, 3])
        args.put_area("arg.comm", buf, rows, record_at + areas["s1"], h["len"][:, 1])
        # The exec event's `flags` parameter carries PPM_EXE_* bits, as the driver's execve exit does.
        record_flags = h["flags"].astype(np.int64)
        exe_flags = sum(np.where(record_flags & bit, ppm, 0) for bit, ppm in _EXE_FLAGS)
        args.put_int("arg.flags", rows, np.asarray(exe_flags, dtype=np.int64))
        details = exec_details.decode(buf, record_at, h["flags"], h["pid"], self.cgroup_subsystems, self.proc_root)
        _put_exec_details(args, rows, details, self.clock_offset_ns)
        paths = []
        path_at = record_at + areas["s0"]
        path_len = h["len"][:, 0].astype(np.int64)
        for at, length, cwd in zip(path_at.tolist(), path_len.tolist(), details.cwd):
            path = bytes(buf[at: at + length]).split(b"\0", 1)[0].decode("utf-8", "replace") if length else None
            if path and not path.startswith("/") and cwd:
                path = posixpath.normpath(posixpath.join(cwd, path))
            paths.append(path)
        args.put_objects("arg.trusted_exepath", rows, paths)


def _header_words(parts: list[tuple[RecordLayout, np.ndarray, int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """The 88-byte headers of every record (the rings' records one ring after the other) as 11 contiguous arrays,
    one per 8-byte word, copied out of the rings in one pass; and each record's byte offset in its ring's
    buffer."""
    n = sum(count for *_, count in parts)
    words = np.empty((_WORDS, n), dtype=np.uint64)
    start = 0
    for layout, buf, offset, count in parts:
        headers = np.ndarray((count, _WORDS), dtype=np.uint64, buffer=buf, offset=offset + RINGBUF_HEADER,
                             strides=(layout.slot, 8))
        words[:, start:start + count] = headers.T
        start += count
    record_at = np.concatenate([offset + RINGBUF_HEADER + layout.slot * np.arange(count, dtype=np.int64)
                                for layout, _, offset, count in parts])
    return words, record_at


def _time_order(ts: np.ndarray, rings: int) -> np.ndarray | None:
    """The records' order by timestamp (the rings merged), None when they are in order already."""
    if rings == 1 or not (ts[1:] < ts[:-1]).any():
        return None
    return np.argsort(ts, kind="stable")


def _put_exec_details(args: _Columns, rows: np.ndarray, details: exec_details.ExecDetails,
                      clock_offset_ns: int) -> None:
    """The new process's pid-namespace ids, tty, capability sets, cwd and cgroups, read by the probe at the
    exec."""
    for column, ids in (("arg.vtid", details.vtid), ("arg.vpid", details.vpid)):
        known = ids != 0  # 0: the probe could not read the task's pid (no such id in any namespace)
        args.put_int(column, rows[known], ids[known])
    args.put_int("arg.tty", rows, details.tty)
    for k, column in enumerate(("arg.cap_inheritable", "arg.cap_permitted", "arg.cap_effective")):
        args.put_int(column, rows, details.caps[:, k])
    for k, column in enumerate(("arg.exe_ino", "arg.exe_ino_ctime", "arg.exe_ino_mtime")):
        known = details.exe_inode[:, k] != 0  # 0: a kernel without the offsets, or no file
        args.put_int(column, rows[known], details.exe_inode[known, k])
    started = details.pidns_start != 0
    args.put_int("arg.pidns_init_start_ts", rows[started], details.pidns_start[started] + clock_offset_ns)
    args.put_objects("arg.cwd", rows, details.cwd)
    if any(entries is not None for entries in details.cgroups):
        args.put_objects("arg.cgroups", rows, details.cgroups)


_AREAS = {ring: {area: at for area, (at, _size) in layout.areas.items()} for ring, layout in LAYOUTS.items()}
# Where each handler's records keep the data an I/O call moved: (area, offset in it, `len` slot of its length).
_DATA_AT = {"exit_data": ("s0", 0, 0), "exit_sock": ("s0", SOCK_DATA_AT, 2), "exit_iov": ("b0", 0, 2)}


def _data(spec: Syscall, group: _Group, buf: np.ndarray) -> pa.Array:
    """The data bytes of each record of an I/O call (empty when it moved none)."""
    area, offset, slot = _DATA_AT[spec.handler]
    count = len(group.rows)
    return _varlen_column(buf, np.arange(count), group.at + (_AREAS[spec.ring][area] + offset),
                          group.h["len"][:, slot].astype(np.int64), count, pa.binary())


def _procexit(args: _Columns, group: _Group) -> None:
    rows = group.rows
    code = group.h.a(0).astype(np.int64)
    args.put_int("arg.status", rows, code)
    args.put_int("arg.ret", rows, code >> 8)
    args.put_int("arg.sig", rows, code & 0x7F)
    args.put_int("arg.core", rows, (code >> 7) & 1)


def _clone_flags(args: _Columns, spec: Syscall, group: _Group) -> None:
    """fork/vfork take no flags; in the child (result 0) the flags are unknown but a thread is recognisable."""
    h = group.h
    flags = convert.clone_flags(h.a(0))
    if spec.name == "fork":
        flags[:] = 0
    elif spec.name == "vfork":
        flags[:] = convert.PPM_CL_CLONE_VFORK | convert.PPM_CL_CLONE_VM
    child = h["res"] == 0
    thread = h["tid"] != h["pid"]
    flags = np.where(child & thread, flags | convert.PPM_CL_CLONE_THREAD, flags)
    args.put_int("arg.flags", group.rows, flags)
