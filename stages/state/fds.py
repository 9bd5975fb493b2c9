"""Per-process fd tables as version tables keyed by (pid, fd).

A version is created by every successful fd-creating event (open/openat/openat2/creat, socket, accept, pipe,
eventfd/signalfd/timerfd/inotify/epoll/userfaultfd), by events that change a socket's addresses (connect,
bind, datagram tuples: `stages.state.addresses`, applied after the others since they read the socket's
state), by dup (a copy of the source fd's version: its base is the source key's version as of the dup, so
every field is inherited) and by close (a tombstone, effective after the close event so that the close
itself still shows the fd). The initial state is the capture's FD list.

A new process starts with a copy of its creator's table: a version per fd number of the creator at the fork,
each a copy of the creator's version then (`_inherited`), so its table is its own in later batches too, when
the creator's versions as of the fork are no longer kept.

Loops: path normalization of open-like events, and the decoding and in-order application of socket address
updates, run in Python over those state-changing rows only (a few per thousand events; datagram calls on TCP
sockets are dropped before that, vectorized); everything per event is vectorized.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kernel.scap import event_table as et
from kernel.scap.decode import filled
from rules.operators import per_distinct
from stages.state.addresses import FIELDS as ADDRESS_FIELDS
from stages.state.addresses import Interfaces, Socket, Update, apply
from stages.state.flags import PPM_O_DIRECTORY
from stages.state.raw import RawBatch
from stages.state.sockets import TupleColumns, decode_sockaddr, decode_tuple, decode_tuples, new_socket_types
from stages.state.versions import (BatchVersions, PendingVersions, VersionTable, empty_table, lookup_over, materialize,
                                   ranges)

FD_SCHEMA: dict[str, pa.DataType] = {
    "pid": pa.int64(), "fd": pa.int64(), "type": pa.string(), "name": pa.string(), "l4proto": pa.string(),
    "cip": pa.string(), "cport": pa.int64(), "sip": pa.string(), "sport": pa.int64(), "is_server": pa.bool_(),
    "has_tuple": pa.bool_(), "open": pa.bool_(), "flags": pa.int64(), "ino": pa.int64(),
    "nameraw": pa.string(),  # a file's name as the program wrote it, before resolving and normalizing
    "role": pa.string(),  # a socket's role in libsinsp: "client", "server" or none (`stages.state.addresses`)
}

OPEN_NAMES = frozenset({"open", "openat", "openat2", "creat", "open_by_handle_at"})
SIMPLE_TYPES = {"eventfd": "event", "eventfd2": "event", "signalfd": "signalfd", "signalfd4": "signalfd",
                "timerfd_create": "timerfd", "inotify_init": "inotify", "inotify_init1": "inotify",
                "epoll_create": "eventpoll", "epoll_create1": "eventpoll", "userfaultfd": "userfaultfd",
                "memfd_create": "memfd", "pidfd_open": "pidfd", "bpf": "bpf", "io_uring_setup": "io_uring"}
AT_FDCWD = -100
EINPROGRESS = 115

# scap_fd_type -> fd.type text (FD list entries).
SCAP_FD_TYPES = {1: "file", 2: "directory", 3: "ipv4", 4: "ipv6", 5: "ipv4", 6: "ipv6", 7: "pipe", 8: "unix",
                 9: "event", 10: "unknown", 11: "signalfd", 12: "eventpoll", 13: "inotify", 14: "timerfd",
                 15: "netlink", 16: "file", 17: "bpf", 18: "userfaultfd", 19: "io_uring", 20: "memfd", 21: "pidfd"}
SCAP_L4 = {2: "tcp", 3: "udp", 4: "icmp", 5: "raw"}
LISTENING_TYPES = frozenset({5, 6})  # IPv4/IPv6 server sockets of the FD list
TYPECHARS = {"file": "f", "directory": "d", "ipv4": "4", "ipv6": "6", "unix": "u", "pipe": "p", "event": "e",
             "signalfd": "s", "eventpoll": "l", "inotify": "i", "timerfd": "t", "netlink": "n", "bpf": "b",
             "userfaultfd": "u", "io_uring": "r", "memfd": "m", "pidfd": "P", "unknown": "o"}


@dataclass
class FdCounters:
    live: int = 0
    pruned_closed: int = 0
    pruned_cap: int = 0
    ended_processes: int = 0  # processes whose fds were dropped at their exit


def initial_snapshot(fds: list[object], pid_of_tid: dict[int, int]) -> VersionTable:
    """Versions at position -1 from the capture's FD list (FdInfo-like objects), keyed by the owner's pid."""
    rows: dict[str, list] = {name: [] for name in FD_SCHEMA}
    # libsinsp orders sockets read from /proc client -> server: an IPv4 socket whose local port is one some
    # process listens on (an IPv4 server socket in the list) is the server end, so its ends are swapped.
    server_ports = {info.sport for info in fds if info.type == 5}
    for info in fds:
        kind = SCAP_FD_TYPES.get(info.type, "unknown")
        pid = pid_of_tid.get(info.tid, info.tid)
        is_ip = kind in ("ipv4", "ipv6")
        server_only = info.type in (5, 6)
        l4 = SCAP_L4.get(info.l4proto) if info.l4proto is not None else None
        if is_ip and server_only:
            name, cip, cport, sip, sport = f"{info.sip}:{info.sport}", None, None, info.sip, info.sport
        elif info.type == 3 and info.sport in server_ports:
            name = f"{info.dip}:{info.dport}->{info.sip}:{info.sport}"
            cip, cport, sip, sport = info.dip, info.dport, info.sip, info.sport
            server_only = True
        elif is_ip:
            name = f"{info.sip}:{info.sport}->{info.dip}:{info.dport}"
            cip, cport, sip, sport = info.sip, info.sport, info.dip, info.dport
        elif kind == "unix":  # libsinsp names a unix socket of the FD list by its path alone
            name, cip, cport, sip, sport = info.name.rstrip("\n"), None, None, None, None
        else:
            name, cip, cport, sip, sport = info.name, None, None, None, None
        values = {"pid": pid, "fd": info.fd, "type": kind, "name": name, "l4proto": l4, "cip": cip, "cport": cport,
                  "sip": sip, "sport": sport, "is_server": server_only, "has_tuple": is_ip, "open": True,
                  "flags": getattr(info, "open_flags", None), "ino": info.ino, "nameraw": name,
                  "role": _listed_role(info.type, kind, server_only, name)}
        for key, value in values.items():
            rows[key].append(value)
    columns = {name: pa.array(values, type=FD_SCHEMA[name]) for name, values in rows.items()}
    n = len(rows["pid"])
    return VersionTable([np.asarray(rows["pid"], dtype=np.int64), np.asarray(rows["fd"], dtype=np.int64)],
                        np.full(n, -1, dtype=np.int64), columns)


def _listed_role(scap_type: int, kind: str, server: bool, name: str) -> str | None:
    """libsinsp's role of a socket read from the FD list: a connected IP socket is the server or the client
    end; a unix socket a server when it has a path, else a client; a listening socket and other fds none."""
    if scap_type in LISTENING_TYPES:
        return None
    if kind in ("ipv4", "ipv6"):
        return "server" if server else "client"
    if kind == "unix":
        return "server" if name else "client"
    return None


def _as_arrow(values: list | np.ndarray | pa.Array, kind: pa.DataType) -> pa.Array:
    if isinstance(values, pa.Array):
        return values if values.type == kind else values.cast(kind)
    return pa.array(values, type=kind)


class _Builder:
    """Collects pending fd versions row by row group (columns appended per kind of event)."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []
        self.pids: list[np.ndarray] = []
        self.fds: list[np.ndarray] = []
        self.pos: list[np.ndarray] = []
        self.base_keys: list[tuple[np.ndarray, np.ndarray] | None] = []
        self.values: list[dict[str, list | np.ndarray]] = []

    def add(self, rows, pids, fds, pos, values: dict[str, object], base_keys=None) -> None:
        n = len(rows)
        if n == 0:
            return
        self.rows.append(np.asarray(rows, dtype=np.int64))
        self.pids.append(np.asarray(pids, dtype=np.int64))
        self.fds.append(np.asarray(fds, dtype=np.int64))
        self.pos.append(np.asarray(pos, dtype=np.int64))
        self.base_keys.append(base_keys)
        self.values.append({k: (v if isinstance(v, (list, np.ndarray, pa.Array)) else np.full(n, v))
                            for k, v in values.items()})

    def pending(self, snapshot: VersionTable) -> PendingVersions:
        """The versions of every group added so far, group after group. As-of joins pick a key's version by
        position whatever the order of the versions (and among versions at one position the last added, which
        this order keeps), so the columns are not reordered by position."""
        self._built = len(self.rows)
        if not self.rows:
            empty = np.empty(0, dtype=np.int64)
            self._bases, self._rows = (empty, empty, np.empty(0, dtype=bool)), empty
            return PendingVersions([empty, empty], empty, {}, {}, empty)
        rows, pids, fds, pos, self._bases, values, sets = self._columns(range(len(self.rows)))
        self._rows = rows
        return PendingVersions([pids, fds], pos, values, sets, self._base(snapshot, rows, [pids, fds], pos))

    def extended(self, snapshot: VersionTable, previous: PendingVersions) -> PendingVersions:
        """`previous` (what `pending` returned) with the groups added since appended after its versions (as-of
        joins do not need position order), every base looked up again so that a later version (a dup) sees them."""
        if not len(self._rows):  # nothing before: e.g. a batch whose only fd changes are connects
            return self.pending(snapshot)
        rows, pids, fds, pos, bases, values, sets = self._columns(range(self._built, len(self.rows)))
        all_rows = np.concatenate([self._rows, rows])
        keys = [np.concatenate([previous.keys[0], pids]), np.concatenate([previous.keys[1], fds])]
        all_pos = np.concatenate([previous.pos, pos])
        self._bases = tuple(np.concatenate([old, new]) for old, new in zip(self._bases, bases))
        merged = {name: pa.concat_arrays([previous.values[name], values[name]]) for name in FD_SCHEMA}
        merged_sets = {name: np.concatenate([previous.sets[name], sets[name]]) for name in FD_SCHEMA}
        self._rows, self._built = all_rows, len(self.rows)
        return PendingVersions(keys, all_pos, merged, merged_sets, self._base(snapshot, all_rows, keys, all_pos))

    def _base(self, snapshot: VersionTable, rows: np.ndarray, keys: list[np.ndarray], pos: np.ndarray) -> np.ndarray:
        """The version each row's base key has as of the row (-1 for rows without a base)."""
        base_pid, base_fd, has_base = self._bases
        base = np.full(len(rows), -1, dtype=np.int64)
        at = np.flatnonzero(has_base)
        if len(at):
            base[at] = lookup_over(snapshot, keys, pos, [base_pid[at], base_fd[at]], 2 * rows[at] - 1)
        return base

    def _columns(self, groups: range) -> tuple:
        """Rows, keys, positions, base keys and field columns of the given groups, concatenated in order."""
        chosen = [(self.rows[g], self.base_keys[g], self.values[g]) for g in groups]
        rows = np.concatenate([self.rows[g] for g in groups])
        pids = np.concatenate([self.pids[g] for g in groups])
        fds = np.concatenate([self.fds[g] for g in groups])
        pos = np.concatenate([self.pos[g] for g in groups])
        base_pid = np.concatenate([b[0] if b is not None else np.full(len(r), -1, dtype=np.int64)
                                   for r, b, _ in chosen])
        base_fd = np.concatenate([b[1] if b is not None else np.full(len(r), -(1 << 40), dtype=np.int64)
                                  for r, b, _ in chosen])
        has_base = np.concatenate([np.full(len(r), b is not None) for r, b, _ in chosen])
        values: dict[str, pa.Array] = {}
        sets: dict[str, np.ndarray] = {}
        for name, kind in FD_SCHEMA.items():
            if not any(name in group for _, _, group in chosen):
                values[name], sets[name] = pa.nulls(len(rows), type=kind), np.zeros(len(rows), dtype=bool)
                continue
            parts, masks = [], []
            for r, _, group in chosen:
                if name in group:
                    parts.append(_as_arrow(group[name], kind))
                    masks.append(np.ones(len(r), dtype=bool))
                else:
                    parts.append(pa.nulls(len(r), type=kind))
                    masks.append(np.zeros(len(r), dtype=bool))
            values[name] = pa.concat_arrays(parts)
            sets[name] = np.concatenate(masks)
        values["pid"], sets["pid"] = pa.array(pids, type=pa.int64()), np.ones(len(rows), dtype=bool)
        values["fd"], sets["fd"] = pa.array(fds, type=pa.int64()), np.ones(len(rows), dtype=bool)
        return rows, pids, fds, pos, (base_pid, base_fd, has_base), values, sets


class FdState:
    """fd versions across batches."""

    def __init__(self, snapshot: VersionTable | None = None, *, max_fds: int = 1 << 20,
                 interfaces: Interfaces | None = None) -> None:
        self.snapshot = snapshot if snapshot is not None else empty_table(FD_SCHEMA, 2)
        self.max_fds = max_fds
        self.interfaces = interfaces if interfaces is not None else Interfaces()
        self.counters = FdCounters(live=len(self.snapshot))

    def versions_for(self, raw: RawBatch, ctx: "EventContext") -> BatchVersions:
        """The snapshot plus this batch's fd versions. Address updates read each socket's state, so they are
        applied over the other versions and their versions appended to them."""
        builder = _Builder()
        _opens(raw, ctx, builder)
        _sockets(raw, ctx, builder)
        _simple(raw, ctx, builder)
        _dups_and_closes(raw, ctx, builder)
        _inherited(ctx, builder, self.snapshot)
        pending = builder.pending(self.snapshot)
        table = materialize(self.snapshot, pending, FD_SCHEMA)
        updates = _address_updates(raw, ctx)
        if updates is None or not _add_address_versions(builder, table, updates, self.interfaces):
            return table
        return materialize(self.snapshot, builder.extended(self.snapshot, pending), FD_SCHEMA)

    def commit(self, table: BatchVersions, ended: np.ndarray | None = None) -> None:
        """Keep the latest open version per (pid, fd); closed fds are dropped, and every fd of the processes
        that `ended` (pids), as libsinsp drops a process's fd table with it; cap the table size."""
        closed = 0

        def keep(column) -> np.ndarray:
            nonlocal closed
            is_open = filled(column("open"), False)
            closed = int((~is_open).sum())
            return is_open

        latest = table.snapshot_after(keep, recheck=False, gone=ended)  # the snapshot holds open fds only
        self.counters.pruned_closed += closed
        self.counters.ended_processes += 0 if ended is None else len(ended)
        if latest.live > self.max_fds:
            latest = latest.compacted()
            self.counters.pruned_cap += len(latest) - self.max_fds
            latest = latest.take(np.arange(len(latest) - self.max_fds, len(latest)))
        self.snapshot = latest
        self.counters.live = latest.live


@dataclass
class EventContext:
    """Per-row facts the fd engine needs, computed once per batch by the enricher."""

    exits: np.ndarray  # bool
    res: np.ndarray  # int64, -1 where null
    pid: np.ndarray  # process of each event's thread (tid for unknown threads)
    cwd_at: Callable[[np.ndarray], pa.Array]  # cwd of the given rows' threads (string, null if unknown): only
    # relative paths need it, so it is gathered for those rows alone
    fd_num: np.ndarray  # fd the event refers to (see enrich), -(1<<40) where none
    enter: dict[str, pa.Array]  # parameters of the matching enter event (null if none)
    # The processes the batch creates: (child pid, creator pid, position as of which the child's fd table is
    # the creator's), in position order.
    forks: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


NO_FD = -(1 << 40)


def _param(raw: RawBatch, ctx: EventContext, name: str, rows: np.ndarray) -> pa.Array:
    """A parameter of the given rows from the row itself, else from its matching enter event."""
    take = pa.array(np.asarray(rows, dtype=np.int64), type=pa.int64())
    own = raw.arrow(name).take(take) if raw.has(name) else None
    if name not in ctx.enter:
        entered = None
    elif hasattr(ctx.enter, "at"):
        entered = ctx.enter.at(name, rows)  # gathers only these rows
    else:
        entered = ctx.enter[name].take(take)
    if own is None:
        return entered if entered is not None else pa.nulls(len(rows), type=pa.int64())
    if entered is None or entered.null_count == len(entered):  # live capture: no enter events
        return own
    return pc.coalesce(own, entered.cast(own.type))


_FILE_KINDS = pa.array(["file", "directory"], type=pa.string())  # fd.type of an open without / with O_DIRECTORY


def _opens(raw: RawBatch, ctx: EventContext, builder: _Builder) -> None:
    """open-like exits that returned an fd: a file or directory named by the (resolved) path."""
    rows = np.nonzero(raw.type_in(OPEN_NAMES) & ctx.exits & (ctx.res >= 0))[0]
    if len(rows) == 0:
        return
    flags = _param(raw, ctx, "arg.flags", rows)
    written = _param(raw, ctx, "arg.name", rows).cast(pa.string())
    paths = resolve_paths(written, lambda at: ctx.cwd_at(rows[at]))
    flag_values = filled(flags.cast(pa.int64()), 0)
    kinds = _FILE_KINDS.take(pa.array(((flag_values & PPM_O_DIRECTORY) != 0).astype(np.int8)))
    fds = ctx.res[rows]
    builder.add(rows, ctx.pid[rows], fds, 2 * rows, {"type": kinds, "name": paths, "nameraw": written,
                                                     "flags": flag_values,
                                                     "open": True, "has_tuple": False, "is_server": False})


# A path needs normalizing in Python only if it is relative or has //, /./, /../, or a trailing / . or ..
_NEEDS_WORK = re.compile(r"^[^/]|//|/\./|/\.\./|/\.\Z|/\.\.\Z|./\Z")


def _needs_work(names: pa.Array) -> np.ndarray:
    """Per name, whether `resolve_path` must see it: tested once per distinct name (a batch's opens name
    few files, and an Arrow regex kernel compiles its pattern on every call)."""
    return per_distinct(names, lambda name: _NEEDS_WORK.search(name) is not None)


def resolve_paths(names: pa.Array, cwd_at: Callable[[np.ndarray], pa.Array]) -> pa.Array:
    """`resolve_path` over columns: clean absolute paths (nearly all) pass through untouched; only the others
    are joined (to `cwd_at(positions)`, the cwd of the names at those positions) and normalized one by one."""
    names = names.cast(pa.string())
    slow = _needs_work(names)
    rows = np.flatnonzero(slow)
    if len(rows) == 0:
        return names
    take = pa.array(rows, type=pa.int64())
    fixed = [resolve_path(name, None, cwd) for name, cwd in zip(names.take(take).to_pylist(),
                                                                 cwd_at(rows).to_pylist())]
    return pc.replace_with_mask(names, pa.array(slow), pa.array(fixed, type=pa.string()))


def resolve_path(name: str | None, dirfd: int | None, cwd: str | None) -> str | None:
    """Absolute, normalized path of an open: relative names are joined to the cwd (libsinsp's concatenation)."""
    if name is None:
        return None
    if not name.startswith("/"):
        name = posixpath.join(cwd or "/", name)
    normalized = posixpath.normpath(name)
    return "/" + normalized.lstrip("/") if normalized.startswith("//") else normalized


def _sockets(raw: RawBatch, ctx: EventContext, builder: _Builder) -> None:
    exits = ctx.exits
    # socket(): type from the domain, l4 protocol guessed from type/proto (shown once the socket has an address).
    rows = np.nonzero(raw.type_in({"socket"}) & exits & (ctx.res >= 0))[0]
    if len(rows):
        kinds, l4 = new_socket_types(*(_param(raw, ctx, name, rows) for name in ("arg.domain", "arg.type", "arg.proto")))
        builder.add(rows, ctx.pid[rows], ctx.res[rows], 2 * rows,
                    {"type": kinds, "name": "", "l4proto": l4, "open": True, "has_tuple": False, "is_server": False})
    # accept(): a new connected socket described by the tuple (client -> server).
    rows = np.nonzero(raw.type_in({"accept", "accept4"}) & exits & (ctx.res >= 0))[0]
    if len(rows):
        tuples = raw.arrow("arg.tuple").take(pa.array(rows, type=pa.int64())) if raw.has(
            "arg.tuple") else pa.nulls(len(rows), type=pa.binary())
        builder.add(rows, ctx.pid[rows], ctx.res[rows], 2 * rows, _accepted_values(decode_tuples(tuples)))


@dataclass
class _AddressRows:
    """A batch's rows that may change a socket's addresses, in position order, with what each carries."""

    rows: np.ndarray
    pid: np.ndarray
    fd: np.ndarray
    kinds: np.ndarray  # Update kinds (object array of str)
    data: pa.Array  # the raw tuple or sockaddr bytes of each row (binary)

    def subset(self, at: np.ndarray) -> _AddressRows:
        return _AddressRows(self.rows[at], self.pid[at], self.fd[at], self.kinds[at],
                            self.data.take(pa.array(at, type=pa.int64())))


_ADDRESS_SOURCES = (  # (event names, exit?, parameter, kind)
    (("connect",), False, "arg.addr.bytes", "connect_enter"),
    (("connect",), True, "arg.tuple", "connect_exit"),
    (("bind",), True, "arg.addr.bytes", "bind"),
    (("sendto", "sendmsg"), True, "arg.tuple", "send"),  # the tuple of the matching enter
    (("recvfrom", "recvmsg"), True, "arg.tuple", "recv"),
)


def _address_source_of_type() -> np.ndarray:
    """Per event type id, the index of its `_ADDRESS_SOURCES` entry plus one (0: none), so a batch finds its
    address rows with one gather."""
    table = np.zeros(max(et.EVENTS) + 1, dtype=np.int8)
    for type_id, info in et.EVENTS.items():
        for index, (names, want_exit, _, _) in enumerate(_ADDRESS_SOURCES, start=1):
            if info.name in names and (info.direction == "<") == want_exit:
                table[type_id] = index
    return table


ADDRESS_SOURCE_OF_TYPE = _address_source_of_type()
ADDRESS_KINDS = np.array([None] + [kind for *_, kind in _ADDRESS_SOURCES], dtype=object)  # by source index


def _address_updates(raw: RawBatch, ctx: EventContext) -> _AddressRows | None:
    """Rows of connect enters with a target, connect exits that succeeded or are in progress (libsinsp keeps a
    failed connect out), binds that succeeded and datagram calls that succeeded, each on a known fd number and
    carrying an address; None when there are none."""
    source = ADDRESS_SOURCE_OF_TYPE[np.clip(raw.ints("evt.type_id"), 0, len(ADDRESS_SOURCE_OF_TYPE) - 1)]
    rows = np.flatnonzero((source > 0) & (ctx.fd_num != NO_FD))
    if len(rows) == 0:
        return None
    kinds = ADDRESS_KINDS[source[rows]]
    res = ctx.res[rows]
    ok = np.where(kinds == "connect_exit", (res >= 0) | (res == -EINPROGRESS), True)
    ok &= np.where(kinds == "bind", res == 0, True)
    ok &= np.where((kinds == "send") | (kinds == "recv"), res >= 0, True)
    rows, kinds = rows[ok], kinds[ok]
    if len(rows) == 0:
        return None
    # A row carries a tuple or a sockaddr (never both); a sendto/sendmsg's tuple is its enter's. Only the rows
    # that carry one become Python values (they are applied one by one, in order): a datagram socket's calls
    # without an address (and every call on a connected socket) are many.
    take = pa.array(rows, type=pa.int64())
    data = pa.nulls(len(rows), type=pa.binary())
    for column in ("arg.tuple", "arg.addr.bytes"):
        if raw.has(column):
            data = pc.coalesce(data, _non_empty(raw.arrow(column).take(take)))
    sends = kinds == "send"
    if sends.any():
        entered = _param(raw, ctx, "arg.tuple", rows[sends])
        entered = entered.cast(pa.binary()) if entered.null_count < len(entered) else pa.nulls(len(entered), pa.binary())
        place = np.cumsum(sends) - 1  # each send row's place among the sends
        data = pc.if_else(pa.array(sends), entered.take(pa.array(np.where(sends, place, 0))), data)
    carried = pc.fill_null(pc.greater(pc.binary_length(data), 0), False).to_numpy(zero_copy_only=False)
    if not carried.any():
        return None
    rows = rows[carried]
    return _AddressRows(rows, ctx.pid[rows], ctx.fd_num[rows], kinds[carried], data.filter(pa.array(carried)))


def _non_empty(values: pa.Array) -> pa.Array:
    """Binary values with empty ones null (an empty parameter carries no address)."""
    values = values.cast(pa.binary())
    return pc.if_else(pc.equal(pc.binary_length(values), 0), pa.scalar(None, pa.binary()), values)


def _add_address_versions(builder: _Builder, table: BatchVersions, updates: _AddressRows,
                          interfaces: Interfaces) -> bool:
    """Apply `updates` socket by socket in event order (`stages.state.addresses.apply`), each from the socket's
    state as of the other versions (`table`) or as its previous update left it, and add a version per change.
    The first connects of new sockets, a client's every connection, are applied column-wise
    (`_first_connects`). Returns whether any version was added."""
    seeds = table.lookup([updates.pid, updates.fd], 2 * updates.rows - 1)
    first, values = _first_connects(updates, seeds, table.select(seeds))
    if len(first):
        rows, pids, fds = updates.rows[first], updates.pid[first], updates.fd[first]
        builder.add(rows, pids, fds, 2 * rows, values, base_keys=(pids, fds))
    rest = np.setdiff1d(np.arange(len(updates.rows)), first, assume_unique=True)
    if not len(rest):
        return bool(len(first))
    updates = updates.subset(rest)
    seeds = seeds[rest]
    kept, values = _applied(updates, seeds, table.select(seeds), interfaces)
    if not kept:
        return bool(len(first))
    at = np.asarray(kept, dtype=np.int64)
    rows, pids, fds = updates.rows[at], updates.pid[at], updates.fd[at]
    builder.add(rows, pids, fds, 2 * rows, values, base_keys=(pids, fds))
    return True


# Connects: below this, the column-wise path's Arrow calls (1.7 ms a batch holding 500, most of it whatever the
# count) cost more than applying them one by one (~12 us each; cProfile of the accept-loop recording).
COLUMN_WISE_FROM = 64


def _first_connects(updates: _AddressRows, seeds: np.ndarray, seen) -> tuple[np.ndarray, dict[str, object]]:
    """The updates that are the batch's only update of their socket (its fd number and its version: a client
    reuses the number for connection after connection), a connect exit with an IP tuple on a socket without
    addresses or a role yet (made by socket()), and the socket's fields after each. `_with_tuple` gives such a
    socket the tuple's ends and name as they are, the client role, and keeps its transport (`l4proto`);
    computed here for all of them at once."""
    candidates = np.flatnonzero((updates.kinds == "connect_exit") & _alone(updates.pid, updates.fd, seeds))
    if len(candidates) < COLUMN_WISE_FROM:
        return candidates[:0], {}
    fresh = ~filled(seen.column("has_tuple"), False) & (filled(seen.column("sport"), 0) == 0)
    fresh &= ~filled(seen.column("sip").is_valid(), False) & ~filled(seen.column("role").is_valid(), False)
    candidates = candidates[fresh[candidates]]
    decoded = decode_tuples(updates.data.take(pa.array(candidates, type=pa.int64())))
    is_ip = pc.fill_null(pc.is_in(decoded.family, value_set=pa.array(["ipv4", "ipv6"])), False)
    is_ip = is_ip.to_numpy(zero_copy_only=False)
    first = candidates[is_ip]
    if not len(first):
        return first, {}
    ip = pa.array(is_ip)
    n = len(first)
    return first, {"type": decoded.family.filter(ip), "name": decoded.name.filter(ip),
                   "l4proto": seen.column("l4proto").take(pa.array(first, type=pa.int64())),
                   "cip": decoded.cip.filter(ip), "cport": decoded.cport.filter(ip), "sip": decoded.sip.filter(ip),
                   "sport": decoded.sport.filter(ip), "is_server": np.zeros(n, dtype=bool),
                   "has_tuple": np.ones(n, dtype=bool), "role": pa.array(["client"] * n, type=pa.string())}


def _alone(*keys: np.ndarray) -> np.ndarray:
    """Whether each row's combination of `keys` is the only one of its value."""
    order = np.lexsort(keys[::-1])
    ordered = np.stack([key[order] for key in keys])
    starts = np.ones(len(order) + 1, dtype=bool)
    starts[1:-1] = (ordered[:, 1:] != ordered[:, :-1]).any(axis=0)
    alone = np.empty(len(order), dtype=bool)
    alone[order] = starts[:-1] & starts[1:]  # a group of one starts here and the next starts right after
    return alone


def _applied(updates: _AddressRows, seeds: np.ndarray, seen, interfaces: Interfaces
             ) -> tuple[list[int], dict[str, list]]:
    """The updates that change their socket (indices into `updates`) and the socket's fields after each. A
    socket's state carries from one update to its next unless the fd was made again in between (its version
    among the other versions changed). Updates known to change nothing are not decoded (`_changes_nothing`)."""
    seed_fields = list(zip(*(seen.column(name).to_pylist() for name in ADDRESS_FIELDS)))
    data = updates.data.to_pylist()
    current: dict[tuple[int, int], tuple[int, Socket, tuple[str, bytes]]] = {}
    kept: list[int] = []
    changes: list[Socket] = []
    for i, kind in enumerate(updates.kinds.tolist()):
        key, seed = (int(updates.pid[i]), int(updates.fd[i])), int(seeds[i])
        known_seed, state, last = current.get(key, (None, None, None))
        if state is None or known_seed != seed:
            state, last = Socket(*seed_fields[i]), None
        if _changes_nothing(kind, seed, state, last, data[i]):
            continue
        endpoints = (decode_sockaddr if kind in ("connect_enter", "bind") else decode_tuple)(data[i])
        changed = None if endpoints is None else apply(Update(kind, endpoints), state, interfaces)
        current[key] = (seed, changed or state, (kind, data[i]))
        if changed is not None:
            kept.append(i)
            changes.append(changed)
    return kept, {name: [getattr(change, name) for change in changes] for name in ADDRESS_FIELDS}


def _changes_nothing(kind: str, seed: int, state: Socket, last: tuple[str, bytes] | None, data: bytes) -> bool:
    """An update known to change nothing without decoding it: the same as the socket's previous one (applying
    an update twice gives the state of applying it once); a datagram on an fd the process's table does not
    have, on a named TCP socket or on a bound one (see `stages.state.addresses.apply`)."""
    if last == (kind, data):
        return True
    if kind not in ("send", "recv"):
        return False
    named_tcp = state.l4proto == "tcp" and bool(state.name)
    bound = bool(state.is_server) and state.cip is None and state.sip is not None
    return seed < 0 or named_tcp or bound


def _accepted_values(decoded: TupleColumns) -> dict[str, object]:
    """Fields of sockets made by accept: the server end of a TCP connection described by the tuple (client ->
    server; an IPv4-mapped pair reads as IPv4)."""
    kind = decoded.family.fill_null("unknown")
    is_ip = pc.is_in(kind, value_set=pa.array(["ipv4", "ipv6"]))
    return {"name": decoded.name.fill_null(""), "cip": decoded.cip, "cport": decoded.cport, "sip": decoded.sip,
            "sport": decoded.sport, "type": kind, "has_tuple": True, "is_server": True, "open": True,
            "role": "server", "l4proto": pc.if_else(is_ip, "tcp", pa.scalar(None, pa.string()))}


def _simple(raw: RawBatch, ctx: EventContext, builder: _Builder) -> None:
    """pipes and the anonymous fd kinds (eventfd, signalfd, timerfd, inotify, epoll...)."""
    rows = np.nonzero(raw.type_in({"pipe", "pipe2"}) & ctx.exits & (ctx.res >= 0))[0]
    if len(rows):
        fd1 = raw.ints("arg.fd1", default=-1)[rows]
        fd2 = raw.ints("arg.fd2", default=-1)[rows]
        both = np.concatenate([rows, rows])
        fds = np.concatenate([fd1, fd2])
        ok = fds >= 0
        builder.add(both[ok], ctx.pid[both][ok], fds[ok], 2 * both[ok],
                    {"type": "pipe", "name": "", "open": True, "has_tuple": False, "is_server": False})
    present = raw.types_present()
    for name, kind in SIMPLE_TYPES.items():
        if name not in present:
            continue
        rows = np.nonzero(raw.type_in({name}) & ctx.exits & (ctx.res >= 0))[0]
        if len(rows):
            builder.add(rows, ctx.pid[rows], ctx.res[rows], 2 * rows,
                        {"type": kind, "name": "", "open": True, "has_tuple": False, "is_server": False})


def _dups_and_closes(raw: RawBatch, ctx: EventContext, builder: _Builder) -> None:
    """dup: the new fd is a copy of the source fd's version; close: a tombstone after the event."""
    rows = np.nonzero(raw.type_in({"dup", "dup2", "dup3"}) & ctx.exits & (ctx.res >= 0) & (ctx.fd_num != NO_FD))[0]
    if len(rows):
        source = _param(raw, ctx, "arg.fd", rows).cast(pa.int64()).fill_null(-1).to_numpy(zero_copy_only=False)
        source = np.where(raw.ints("arg.oldfd", default=-1)[rows] >= 0, raw.ints("arg.oldfd")[rows], source)
        builder.add(rows, ctx.pid[rows], ctx.res[rows], 2 * rows, {}, base_keys=(ctx.pid[rows], source))
    rows = np.nonzero(raw.type_in({"close"}) & ctx.exits & (ctx.res >= 0) & (ctx.fd_num != NO_FD))[0]
    if len(rows):
        builder.add(rows, ctx.pid[rows], ctx.fd_num[rows], 2 * rows + 1, {"open": False})


def _inherited(ctx: EventContext, builder: _Builder, snapshot: VersionTable) -> None:
    """A new process starts with a copy of its creator's fd table: a version per fd number the creator has (in
    the snapshot or this batch), at the fork, each a copy of the creator's version then, as dup makes (a number
    the creator did not have open then gives a closed one). The child's table is then its own, also in later
    batches, where the creator's versions as of the fork are gone. One pass for all of a batch's forks: a
    fork storm makes thousands a batch."""
    if ctx.forks is None or not len(ctx.forks[0]):
        return
    child, creator, at = ctx.forks
    fork, fd = _creator_numbers(creator, builder, snapshot)
    # A creator made by an earlier fork of this batch also has what that fork copied to it (a shell's child
    # starting a pipeline), so forks are copied generation after generation.
    made_by = _made_by(child, creator)
    done = made_by < 0
    while not done.all():
        ready = np.flatnonzero(~done & done[np.maximum(made_by, 0)])
        have = np.isin(fork, made_by[ready])
        order = np.argsort(fork[have], kind="stable")
        parents, inherited = fork[have][order], fd[have][order]
        which, at_pair = ranges(np.searchsorted(parents, made_by[ready], side="left"),
                                np.searchsorted(parents, made_by[ready], side="right"))
        fork, fd = np.concatenate([fork, ready[which]]), np.concatenate([fd, inherited[at_pair]])
        done[ready] = True
    if not len(fork):
        return
    order = np.lexsort((fd, fork))
    fork, fd = fork[order], fd[order]
    first = np.ones(len(fork), dtype=bool)  # each number once per fork
    first[1:] = (fork[1:] != fork[:-1]) | (fd[1:] != fd[:-1])
    fork, fd = fork[first], fd[first]
    row = (at[fork] + 1) // 2  # the fork's row: versions at its position, copies of the creator's as of at
    builder.add(row, child[fork], fd, 2 * row, {}, base_keys=(creator[fork], fd))


def _creator_numbers(creator: np.ndarray, builder: _Builder, snapshot: VersionTable) -> tuple[np.ndarray, np.ndarray]:
    """(fork index, fd number) of every fd number each fork's creator has in the snapshot or in this batch's
    versions so far (whatever their position: one the creator did not have at the fork copies as closed)."""
    forks, numbers = snapshot.second_keys_of_each(creator)
    if builder.pids:
        pids, fds = np.concatenate(builder.pids), np.concatenate(builder.fds)
        mine = np.isin(pids, creator)
        order = np.argsort(pids[mine], kind="stable")
        owners, owned = pids[mine][order], fds[mine][order]
        which, at = ranges(np.searchsorted(owners, creator, side="left"),
                           np.searchsorted(owners, creator, side="right"))
        forks, numbers = np.concatenate([forks, which]), np.concatenate([numbers, owned[at]])
    return forks, numbers


def _made_by(child: np.ndarray, creator: np.ndarray) -> np.ndarray:
    """For each fork (in position order), the earlier fork of the batch that made its creator, -1 if none."""
    order = np.argsort(child, kind="stable")
    slot = np.minimum(np.searchsorted(child[order], creator), len(child) - 1)
    made_by = order[slot]
    return np.where((child[made_by] == creator) & (made_by < np.arange(len(child))), made_by, -1)


def typechar_of(kind: pa.Array) -> pa.Array:
    keys = pa.array(list(TYPECHARS), type=pa.string())
    chars = pa.array(list(TYPECHARS.values()), type=pa.string())
    return chars.take(pc.index_in(kind, value_set=keys))
