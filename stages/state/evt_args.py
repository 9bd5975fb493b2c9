"""`evt.args` (and `evt.info`): every parameter of an event as text, the way libsinsp renders it.

Each parameter the event carries prints as `name=value ` or, when libsinsp resolves it, as
`name=value(resolved) `, in schema order (`res=0 fd=3(<f>/etc/passwd) flags=1(O_RDONLY) `). Generic events
(syscalls without their own event type) print nothing, as libsinsp keeps their parameters internal.
`evt.info` is the same text: libsinsp replaces it only with the line its syslog decoder makes of writes to
/dev/log, which Saker does not decode.

Resolutions that need state are gathered per parameter column, vectorized over the rows that have such a
parameter, as of each event:

* fd: `<typechar[l4]>name` of the process's fd (`<f>/etc/passwd`, `<4t>1.2.3.4:5->6.7.8.9:80`); a negative fd
  resolves to its errno name, -100 to `AT_FDCWD`; nothing for an event without a thread;
* pid: the command name of that thread, when the table holds it and it has not exited;
* uid/gid: the user or group name (`<NA>` when unknown, `<NONE>` for -1);
* relative paths: joined to the thread's working directory;
* fd lists (poll): the type character of each fd, `?` for an unknown one.

Assembling the text is a Python loop over the requested rows. That is acceptable because `evt.args` is an
output field: rule conditions do not use it, so it is computed only for the rows an alert prints (or the
rows a test samples), never for the whole stream; the vectorized part (the state lookups above) is what
would cost per event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa

from kernel.scap import event_table as et
from kernel.scap.decode import param_column
from kernel.scap.value_names import DYN_TYPES, NameTable, table_for
from stages.state import paramtext as pt
from stages.state.fds import NO_FD

T = et.ParamType
GENERIC_IDS = frozenset({et.GENERIC_E, et.GENERIC_X})
PPM_AT_FDCWD = -100
NO_ID = 0xFFFFFFFF
# First parameters of exit events that hold the result, as `evt.rawres` holds it (kernel.scap.decode).
_RESULT_TYPES = frozenset({T.ERRNO, T.FD, T.PID, T.INT64, T.UINT64})
# Parameter types whose resolution needs the thread, fd or user tables (see the module docstring).
_STATEFUL = frozenset({T.FD, T.PID, T.UID, T.GID, T.FSPATH, T.FSRELPATH, T.FDLIST})


@dataclass(frozen=True, slots=True)
class Slot:
    """One parameter of an event type, with where its value is and how it prints."""

    name: str
    column: str
    type: et.ParamType
    fmt: et.PrintFormat
    table: NameTable | None
    dyn: tuple[et.ParamType, ...] | None


@cache
def slots(type_id: int) -> tuple[Slot, ...]:
    """The printed parameters of an event type (none for generic events and unknown ids)."""
    info = et.event_info(type_id)
    if info is None or type_id in GENERIC_IDS:
        return ()
    return tuple(Slot(p.name, param_column(p), p.type, p.fmt, table_for(type_id, p.name),
                      DYN_TYPES.get((info.name, p.name))) for p in info.params)


def args_column(view) -> pa.Array:
    """`evt.args` for every row of `view` (a `stages.state.enrich` batch view)."""
    type_ids = np.asarray(view.type_id, dtype=np.int64)
    present = np.unique(type_ids).tolist()
    columns = _Columns(view)
    resolved = _Resolutions(view, type_ids, present)
    texts = []
    for row, type_id in enumerate(type_ids.tolist()):
        parts = []
        for index, slot in enumerate(slots(type_id)):
            value = columns.value(slot.column, row)
            if value is None and index == 0 and type_id & 1 and slot.type in _RESULT_TYPES:
                value = columns.value("evt.rawres", row)  # live capture keeps an exit's result there only
            if value is None:  # a parameter the event does not carry (older event versions, live capture)
                continue
            text, extra = _render(slot, value, row, resolved)
            parts.append(f"{slot.name}={text}({extra}) " if extra else f"{slot.name}={text} ")
        texts.append("".join(parts))
    return pa.array(texts, type=pa.string())


class _Columns:
    """Python values of the parameter columns, converted on first use (absent column: every value None)."""

    def __init__(self, view) -> None:
        self.raw = view.raw
        self.n = view.n
        self.cache: dict[str, list] = {}

    def value(self, column: str, row: int) -> object:
        values = self.cache.get(column)
        if values is None:
            values = self.raw.arrow(column).to_pylist() if self.raw.has(column) else [None] * self.n
            self.cache[column] = values
        return values[row]


def _render(slot: Slot, value: object, row: int, resolved: _Resolutions) -> tuple[str, str]:
    """(value text, resolved text) of one parameter."""
    ptype, fmt = slot.type, slot.fmt
    if ptype == T.DYN and slot.dyn is not None and isinstance(value, bytes | bytearray) and value:
        ptype, value = _dyn_value(slot.dyn, bytes(value))
    if ptype in _STATEFUL:
        return resolved.text(slot, ptype, value, row)
    renderer = _RENDERERS.get(ptype)
    if renderer is not None:
        return renderer(value, ptype, fmt, slot.table)
    return "(n.a.)", pt.NO_RESOLUTION


def _dyn_value(types: tuple[et.ParamType, ...], data: bytes) -> tuple[et.ParamType, object]:
    """A PT_DYN value: its first byte selects the type of the rest (an unknown index stays PT_DYN, which prints
    as invalid). A dynamic fd (bpf's result) prints as a number with its errno name, without an fd lookup:
    the lookups work per parameter column, and this column holds bytes."""
    index, payload = data[0], data[1:]
    if index >= len(types):
        return T.DYN, data
    ptype = types[index]
    if ptype in (T.BYTEBUF, T.CHARBUF):
        return ptype, payload
    value = int.from_bytes(payload[:8], "little", signed=ptype in et.SIGNED_TYPES) if payload else 0
    return (T.ERRNO if ptype == T.FD else ptype), value


def _as_int(value: object) -> int:
    return int(value) if not isinstance(value, bytes | bytearray) else int.from_bytes(value[:8], "little")


def _as_bytes(value: object) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    return str(value).encode("utf-8", "surrogateescape")


def _number(value, ptype, fmt, table) -> tuple[str, str]:
    return pt.number_text(_as_int(value), ptype, fmt), pt.NO_RESOLUTION


def _errno(value, ptype, fmt, table) -> tuple[str, str]:
    number = _as_int(value)
    return str(number), pt.errno_text(number)


def _flags(value, ptype, fmt, table) -> tuple[str, str]:
    number = _as_int(value) & 0xFFFFFFFF
    return str(number), pt.flags_text(number, table)


def _mode(value, ptype, fmt, table) -> tuple[str, str]:
    number = _as_int(value) & 0xFFFFFFFF
    return pt.number_text(number, T.UINT32, fmt), pt.flags_text(number, table)


def _signal(value, ptype, fmt, table) -> tuple[str, str]:
    number = _as_int(value) & 0xFF
    return str(number), pt.signal_text(number)


def _syscall_id(value, ptype, fmt, table) -> tuple[str, str]:
    number = _as_int(value) & 0xFFFF
    return str(number), et.syscall_name(number)


def _reltime(value, ptype, fmt, table) -> tuple[str, str]:
    return pt.reltime_text(_as_int(value))


def _sigset(value, ptype, fmt, table) -> tuple[str, str]:
    return pt.sigset_text(_as_int(value) & 0xFFFFFFFF), pt.NO_RESOLUTION


def _charbuf(value, ptype, fmt, table) -> tuple[str, str]:
    return (value if isinstance(value, str) else _as_bytes(value).split(b"\0", 1)[0].decode("utf-8", "replace"),
            pt.NO_RESOLUTION)


def _bytebuf(value, ptype, fmt, table) -> tuple[str, str]:
    if isinstance(value, list):
        return pt.strings_text([item or "" for item in value]), pt.NO_RESOLUTION
    return pt.buffer_text(_as_bytes(value)), pt.NO_RESOLUTION


def _sockaddr(value, ptype, fmt, table) -> tuple[str, str]:
    return pt.sockaddr_text(_as_bytes(value)), pt.NO_RESOLUTION


def _socktuple(value, ptype, fmt, table) -> tuple[str, str]:
    return pt.socktuple_text(_as_bytes(value)), pt.NO_RESOLUTION


def _invalid(value, ptype, fmt, table) -> tuple[str, str]:
    return "INVALID DYNAMIC PARAMETER", pt.NO_RESOLUTION


# Types libsinsp has no text for (none of the 0.29.3 events uses them) print as "(n.a.)", like its default case.
_INTEGER_TYPES = (T.INT8, T.INT16, T.INT32, T.INT64, T.UINT8, T.UINT16, T.UINT32, T.UINT64)
_RENDERERS: dict[et.ParamType, Callable[..., tuple[str, str]]] = {
    **{ptype: _number for ptype in _INTEGER_TYPES}, T.DYN: _invalid,
    T.ERRNO: _errno, T.FLAGS8: _flags, T.FLAGS16: _flags, T.FLAGS32: _flags, T.MODE: _mode,
    T.SIGTYPE: _signal, T.SYSCALLID: _syscall_id, T.RELTIME: _reltime, T.SIGSET: _sigset,
    T.CHARBUF: _charbuf, T.BYTEBUF: _bytebuf, T.SOCKADDR: _sockaddr, T.SOCKTUPLE: _socktuple,
}


@cache
def prints_as_number(type_id: int, param: str) -> bool:
    """Whether `value_text` of this event type's parameter is just the number in decimal (most are)."""
    slot = next((slot for slot in slots(type_id) if slot.name == param), None)
    return slot is None or slot.type in _STATEFUL or (
        _RENDERERS.get(slot.type) is _number and slot.fmt == et.PrintFormat.DEC)


def value_text(type_id: int, param: str, value: int) -> str | None:
    """What `evt.arg.<param>` prints for one value of a parameter whose text needs no state (numbers in their
    print format, flag and enum names, errno names): libsinsp's resolved text when it has one, else the value's
    text. None when the event type has no such parameter or it needs state (fds, pids, users, paths)."""
    slot = next((slot for slot in slots(type_id) if slot.name == param), None)
    if slot is None or slot.type in _STATEFUL:
        return None
    renderer = _RENDERERS.get(slot.type)
    if renderer is None:
        return None
    text, resolved = renderer(value, slot.type, slot.fmt, slot.table)
    return resolved or text


class _Resolutions:
    """State lookups for the stateful parameters, computed per (column, type) on first use for every row whose
    event has such a parameter there."""

    def __init__(self, view, type_ids: np.ndarray, present: list[int]) -> None:
        self.view = view
        self.type_ids = type_ids
        self.present = present
        self.has_thread = ~np.asarray(view.no_thread, dtype=bool)
        self.cache: dict[tuple[str, et.ParamType], list] = {}

    def text(self, slot: Slot, ptype: et.ParamType, value: object, row: int) -> tuple[str, str]:
        if ptype == T.FD:
            number = _as_int(value)
            return str(number), self._column(slot, ptype, _FD)[row] or ""
        if ptype == T.PID:
            return str(_as_int(value)), self._column(slot, ptype, _PID)[row] or ""
        if ptype in (T.UID, T.GID):
            number = _as_int(value) & 0xFFFFFFFF
            if number == NO_ID:
                return "-1", "<NONE>"
            return str(pt.number_text(number, T.UINT32, et.PrintFormat.DEC)), self._column(slot, ptype, _USER)[row]
        if ptype == T.FDLIST:
            return self._column(slot, ptype, _FDLIST)[row] or "", pt.NO_RESOLUTION
        text = value if isinstance(value, str) else _as_bytes(value).split(b"\0", 1)[0].decode("utf-8", "replace")
        return pt.sanitized(text), self._column(slot, ptype, _PATH)[row] or ""

    def _column(self, slot: Slot, ptype: et.ParamType, resolver: Callable) -> list:
        key = (slot.column, ptype)
        if key not in self.cache:
            users = [t for t in self.present if any(s.column == slot.column and s.type == ptype for s in slots(t))]
            rows = np.isin(self.type_ids, users)
            self.cache[key] = resolver(self, slot.column, rows, ptype)
        return self.cache[key]


def _ints(view, column: str, rows: np.ndarray, default: int) -> np.ndarray:
    values = view.raw.ints(column, default=default)
    return np.where(rows & view.raw.valid(column), values, default)


def _fd_names(state: _Resolutions, column: str, rows: np.ndarray, ptype: et.ParamType) -> list:
    """`<typechar[l4]>name` of each row's fd; errno names for negative fds."""
    view = state.view
    numbers = _ints(view, column, rows & state.has_thread, NO_FD)
    wanted = numbers >= 0
    names = view.render_fd(pa.array(np.where(wanted, numbers, NO_FD))).to_pylist() if wanted.any() else []
    out: list = [None] * view.n
    for row in np.flatnonzero(wanted).tolist():
        if names[row].startswith("<"):
            out[row] = pt.sanitized(names[row])
    for row in np.flatnonzero(rows & state.has_thread & (numbers < 0) & (numbers != NO_FD)).tolist():
        out[row] = "AT_FDCWD" if numbers[row] == PPM_AT_FDCWD else pt.errno_text(int(numbers[row]))
    return out


def _thread_names(state: _Resolutions, column: str, rows: np.ndarray, ptype: et.ParamType) -> list:
    """The command name of the thread each row's pid parameter names, as of the event."""
    return state.view.thread_names(_ints(state.view, column, rows, -1))


def _user_names(state: _Resolutions, column: str, rows: np.ndarray, ptype: et.ParamType) -> list:
    """User or group names of each row's uid/gid parameter; `<NA>` when the directory lacks it."""
    view = state.view
    ids = pa.array(_ints(view, column, rows, 0))
    directory = view.owner.directory
    names = directory.group_column(ids) if ptype == T.GID else directory.user_column(ids, 0)
    return [pt.sanitized(name) if name is not None else "<NA>" for name in names.to_pylist()]


def _paths(state: _Resolutions, column: str, rows: np.ndarray, ptype: et.ParamType) -> list:
    """A relative path joined to the thread's working directory (absolute ones are not resolved)."""
    return state.view.relative_paths_resolved(state.view.raw.strings(column), rows)


def _fd_lists(state: _Resolutions, column: str, rows: np.ndarray, ptype: et.ParamType) -> list:
    """`fd:<typechar><flags>` per fd of each row's fd list, looked up in the process as of the event."""
    view = state.view
    wanted = np.flatnonzero(rows & state.has_thread & view.raw.valid(column))
    out: list = [None] * view.n
    if len(wanted) == 0:
        return out
    data = view.raw.arrow(column).take(pa.array(wanted, type=pa.int64())).to_pylist()
    entries = [pt.fdlist_entries(_as_bytes(value)) for value in data]
    counts = np.array([len(e) for e in entries], dtype=np.int64)
    chars: list[str] = []
    if counts.sum():
        owners = np.repeat(wanted, counts)
        numbers = np.array([fd for e in entries for fd, _ in e], dtype=np.int64)
        per_fd = view.restricted(owners).render_fd(pa.array(np.where(numbers >= 0, numbers, NO_FD))).to_pylist()
        chars = [text[1] if text.startswith("<") else "?" for text in per_fd]
    start = 0
    for row, entry, count in zip(wanted.tolist(), entries, counts.tolist()):
        out[row] = pt.fdlist_text(entry, chars[start:start + count])
        start += count
    return out


_FD, _PID, _USER, _PATH, _FDLIST = _fd_names, _thread_names, _user_names, _paths, _fd_lists
