"""Thread/process state as version tables keyed by tid.

Versions come from (a) the capture's initial thread list (position -1), (b) execve/execveat exits that
succeeded (new exe, args, comm, cwd... for that tid, visible to the execve exit itself), (c) clone/fork/vfork
exits in the child (res == 0: the child's tid with the parameters the event carries), with the caller libsinsp
creates when it knows neither child nor caller (`_new_version_rows`), (d) the same exits in the parent
(res > 0) when the child has no version yet, built from the caller, (e) procexit (marks the thread exited,
effective from the next event) and (f) JSON container events (a made-up thread standing for the container,
`_put_container_threads`). Fields an event does not carry are inherited from the base version: the previous
version of the tid, or for a new child its caller's version as of the clone.

`ptid` is libsinsp's parent thread: the thread that made this one (`_parent_tids`), which `proc.pname` names.
The parent of a process (`proc.ppid`, `proc.aname`...) is the `ptid` of its main thread: for a thread made by
its process's main thread the two differ.

Everything is vectorized over the batch. The only Python loop is over the capture's initial thread list
(once per capture) in `initial_snapshot`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kernel.scap.decode import filled
from stages.state.containers import container_ids
from stages.state.raw import RawBatch
from stages.state.versions import (BatchVersions, PendingVersions, VersionTable, empty_table, lookup_over, materialize,
                                   nullable_indices)

STRINGS = pa.list_(pa.string())
THREAD_SCHEMA: dict[str, pa.DataType] = {
    "tid": pa.int64(), "pid": pa.int64(), "ptid": pa.int64(), "sid": pa.int64(), "vpgid": pa.int64(),
    "vpid": pa.int64(), "vtid": pa.int64(), "comm": pa.string(), "exe": pa.string(), "exepath": pa.string(),
    "args": STRINGS, "cwd": pa.string(), "uid": pa.int64(), "gid": pa.int64(), "loginuid": pa.int64(),
    "tty": pa.int64(), "env": STRINGS, "cgroups": STRINGS, "root": pa.string(), "start_ts": pa.int64(),
    "exe_writable": pa.bool_(), "exe_upper_layer": pa.bool_(), "exe_from_memfd": pa.bool_(),
    "cap_effective": pa.int64(), "cap_permitted": pa.int64(), "cap_inheritable": pa.int64(),
    # The program's inode (number; change and modification times, epoch ns) and the epoch ns the init of the
    # process's pid namespace started (a container's start): from the exec, or the capture's process list.
    "exe_ino": pa.int64(), "exe_ino_ctime": pa.int64(), "exe_ino_mtime": pa.int64(),
    "pidns_init_start_ts": pa.int64(),
    "exit_ts": pa.int64(),
    # The process whose fd table a new process starts from a copy of (tid of the creator, as of `fd_parent_pos`:
    # `stages.state.fds._inherited` makes the copy in the batch that creates the process).
    "fd_parent_tid": pa.int64(), "fd_parent_pos": pa.int64(),
    # The container a container event's thread stands for (see `_put_container_threads`): its cgroups name none.
    "container_override": pa.string(),
}
# Derived per version after inheritance is resolved.
DERIVED_SCHEMA: dict[str, pa.DataType] = {
    "cmdline": pa.string(), "exeline": pa.string(), "args_text": pa.string(), "container_id": pa.string(),
}

EXEC_NAMES = frozenset({"execve", "execveat"})
CLONE_NAMES = frozenset({"clone", "clone3", "fork", "vfork"})
EXIT_NAMES = frozenset({"procexit"})
CWD_NAMES = frozenset({"chdir"})
UID_NAMES = frozenset({"setuid", "setresuid"})
GID_NAMES = frozenset({"setgid", "setresgid"})
CAPSET_NAMES = frozenset({"capset"})
CAP_COLUMNS = ("cap_inheritable", "cap_permitted", "cap_effective")  # arg.<name> of exec and capset exits
EXEC_INODE_COLUMNS = ("exe_ino", "exe_ino_ctime", "exe_ino_mtime", "pidns_init_start_ts")  # arg.<name>: 0 = unknown
NO_ID = 0xFFFFFFFF  # setres*id's "leave unchanged"
PPM_EXE_UPPER_LAYER, PPM_EXE_FROM_MEMFD = 1 << 1, 1 << 2  # execve exit flags: overlayfs upper layer, a memfd
PPM_CL_CLONE_THREAD = 1 << 13
COMM_LEN = 15


@dataclass
class ThreadCounters:
    """How much the thread table holds and how much was pruned."""

    live: int = 0
    pruned_exited: int = 0
    pruned_cap: int = 0


class ThreadState:
    """Thread versions across batches: `versions_for(raw)` builds one batch's table; `commit` keeps the snapshot."""

    def __init__(self, snapshot: VersionTable | None = None, *, max_threads: int = 131072,
                 exit_grace_ns: int = 5_000_000_000) -> None:
        self.snapshot = snapshot if snapshot is not None else empty_table(THREAD_SCHEMA | DERIVED_SCHEMA, 1)
        self.max_threads = max_threads
        self.exit_grace_ns = exit_grace_ns
        self.counters = ThreadCounters(live=len(self.snapshot))
        self._oldest_exit: int | None = None  # a lower bound of the kept threads' exit times (None: none exited)
        self._oldest_exit_of: VersionTable | None = None  # the snapshot it is of

    def versions_for(self, raw: RawBatch, container_events: Mapping[int, str] | None = None) -> BatchVersions:
        """The snapshot plus this batch's thread versions (inherited fields and derived columns resolved when
        first gathered). `container_events`: the container id of each JSON container event, by row."""
        rows, keys, pos, base_keys = _phase_one_rows(raw)
        candidates = _parent_side_rows(raw)
        if len(candidates):
            known = lookup_over(self.snapshot, [keys], pos, [raw.ints("evt.rawres")[candidates]], 2 * candidates)
            candidates = candidates[known < 0]
        container_events = container_events or {}
        if len(rows) == 0 and len(candidates) == 0 and not container_events:  # skip building empty columns
            none = np.empty(0, dtype=np.int64)
            pending = PendingVersions([none], none, {}, {}, none)
        else:
            pending = _pending(raw, self.snapshot, rows, keys, pos, base_keys, candidates, container_events)
        return materialize(self.snapshot, pending, THREAD_SCHEMA | DERIVED_SCHEMA, _derive, DERIVED_SCHEMA)

    def _expired(self, now_ns: int) -> bool:
        """Whether some thread of the snapshot may have exited longer than the grace period ago."""
        if self._oldest_exit_of is not self.snapshot:  # a snapshot set from outside (a restore): read it once
            exit_ts = self.snapshot.columns.get("exit_ts")
            oldest = None if exit_ts is None or len(exit_ts) == 0 else pc.min(exit_ts).as_py()
            self._oldest_exit, self._oldest_exit_of = oldest, self.snapshot
        return self._oldest_exit is not None and now_ns - self._oldest_exit > self.exit_grace_ns

    def commit(self, table: BatchVersions, now_ns: int) -> np.ndarray:
        """Keep the latest version per tid; drop threads exited longer than the grace period; cap the size.
        Returns the pids of the processes that ended in this batch (`_ended`).

        The snapshot's rows are read only when one of them may be due for pruning (`_expired`: the oldest
        exit time kept is a lower bound, exact after such a pass); otherwise only the batch's new versions
        are, so the cost does not grow with the host's processes."""
        recheck = self._expired(now_ns)
        if len(table.pending) == 0 and not recheck:
            return _NO_PIDS  # no new version and no exited thread due for pruning (most live batches)
        pruned = 0
        oldest = None if recheck else self._oldest_exit

        def keep(column) -> np.ndarray:
            nonlocal pruned, oldest
            exit_ts = column("exit_ts").fill_null(-1).to_numpy(zero_copy_only=False)
            kept = (exit_ts < 0) | (now_ns - exit_ts <= self.exit_grace_ns)
            pruned = int((~kept).sum())
            exited = exit_ts[kept & (exit_ts >= 0)]
            if len(exited):
                oldest = int(exited.min()) if oldest is None else min(oldest, int(exited.min()))
            return kept

        latest = table.snapshot_after(keep, recheck=recheck)
        self.counters.pruned_exited += pruned
        if latest.live > self.max_threads:
            latest = latest.compacted()
            start = latest.columns["start_ts"].fill_null(0).to_numpy(zero_copy_only=False)
            newest = np.sort(np.argsort(start, kind="stable")[-self.max_threads:])
            self.counters.pruned_cap += len(latest) - len(newest)
            latest = latest.take(newest)
        self.snapshot = latest
        self._oldest_exit, self._oldest_exit_of = oldest, latest
        self.counters.live = latest.live
        return _ended(table, latest)


_NO_PIDS = np.empty(0, dtype=np.int64)


def _ended(table: BatchVersions, latest: VersionTable) -> np.ndarray:
    """pids of the processes whose last running thread exits in this batch: none of their threads in the new
    snapshot is without an exit time. (The thread versions stay for the grace period; the process's fd table
    does not: the kernel closed every fd at the exit, and a new process that gets the pid must not see them.)"""
    exit_set = table.pending.sets.get("exit_ts")
    if exit_set is None or not exit_set.any():
        return _NO_PIDS
    pids = np.unique(table.numbers("pid", table.n_snap + np.flatnonzero(exit_set), -1))
    pids = pids[pids >= 0]
    if not len(pids):
        return pids
    running = filled(latest.columns["exit_ts"], -1) < 0
    if latest.dead is not None:
        running &= ~latest.dead
    return pids[~np.isin(pids, filled(latest.columns["pid"], -1)[running])]


_CHANGE_NAMES = CWD_NAMES | UID_NAMES | GID_NAMES | CAPSET_NAMES  # one call changes fields of its thread
_PHASE_ONE_NAMES = EXEC_NAMES | CLONE_NAMES | EXIT_NAMES | _CHANGE_NAMES


def _phase_one_rows(raw: RawBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows of execve exits, child-side clone exits and procexits: (rows, tid keys, positions, base keys)."""
    if not raw.types_present() & _PHASE_ONE_NAMES:  # most live batches: no thread changes at all
        none = np.empty(0, dtype=np.int64)
        return none, none, none, none
    exits = raw.is_exit()
    res = raw.ints("evt.rawres", default=-1)
    tid = raw.ints("thread.tid")
    execs = raw.type_in(EXEC_NAMES) & exits & (res == 0)
    children = raw.type_in(CLONE_NAMES) & exits & (res == 0)
    procexits = raw.type_in(EXIT_NAMES)
    # chdir, set*id and capset change fields of the calling thread (its other fields are inherited).
    changes = raw.type_in(_CHANGE_NAMES) & exits & (res == 0)
    rows = np.nonzero(execs | children | procexits | changes)[0]
    keys = tid[rows]
    # A procexit takes effect after the event itself; the others are visible to the event that makes them.
    pos = 2 * rows + procexits[rows].astype(np.int64)
    base_keys = np.where(children[rows], _clone_callers(raw)[rows], keys) if children.any() else keys
    return rows, keys, pos, base_keys


def _clone_callers(raw: RawBatch) -> np.ndarray:
    """The thread a clone child seen from its own exit comes from, as libsinsp names it from that event: the
    thread group leader (`pid`) for a thread, the parent (`ptid`) for a process. The child is a copy of it."""
    is_thread = (raw.ints("arg.flags", default=0) & PPM_CL_CLONE_THREAD) != 0
    return np.where(is_thread, raw.ints("arg.pid", default=-1), raw.ints("arg.ptid", default=-1))


def _parent_side_rows(raw: RawBatch) -> np.ndarray:
    """Rows of clone/fork exits in the parent (res = child tid). A caller inside a pid namespace (its vtid is not
    its tid) gets the child's namespace tid as result, which names no thread: libsinsp skips those."""
    if not raw.types_present() & CLONE_NAMES:
        return np.empty(0, dtype=np.int64)
    res = raw.ints("evt.rawres", default=-1)
    vtid = raw.ints("arg.vtid", default=-1)
    in_namespace = (vtid >= 0) & (vtid != raw.ints("thread.tid"))
    return np.nonzero(raw.type_in(CLONE_NAMES) & raw.is_exit() & (res > 0) & ~in_namespace)[0]


def _pending(raw: RawBatch, snapshot: VersionTable, rows: np.ndarray, keys: np.ndarray, pos: np.ndarray,
             base_keys: np.ndarray, parent_rows: np.ndarray, container_events: Mapping[int, str]) -> PendingVersions:
    """Explicit values and bases of the batch's new versions (phase-one rows, kept parent-side rows, container
    events and the callers `_new_version_rows` creates)."""
    tid = raw.ints("thread.tid")
    container_rows = np.fromiter(container_events, dtype=np.int64, count=len(container_events))
    new = _new_version_rows(raw, snapshot, rows, keys, pos, base_keys, parent_rows, container_rows)
    all_rows, all_keys, all_pos = new.rows, new.keys, new.pos
    is_parent_side, is_created = new.parent_side, new.created_caller

    base = lookup_over(snapshot, [all_keys], all_pos, [new.base_keys], 2 * all_rows - 1)
    # A clone child libsinsp already knows keeps its state; a created caller and a container's thread start
    # from nothing.
    base = np.where(new.known_child >= 0, new.known_child, np.where(is_created | new.container, -1, base))

    n = len(all_rows)
    take = pa.array(all_rows, type=pa.int64())
    execs = raw.type_in(EXEC_NAMES)[all_rows]
    children = raw.type_in(CLONE_NAMES)[all_rows] & ~is_parent_side & ~is_created
    procexit = raw.type_in(EXIT_NAMES)[all_rows]
    from_params = (execs | children)
    values: dict[str, pa.Array] = {}
    sets: dict[str, np.ndarray] = {}

    def put(name: str, column: pa.Array, mask: np.ndarray) -> None:
        column = column.cast(THREAD_SCHEMA[name]) if column.type != THREAD_SCHEMA[name] else column
        valid = column.is_valid().to_numpy(zero_copy_only=False) if len(column) else np.zeros(0, dtype=bool)
        values[name] = column
        sets[name] = mask & valid

    def param(name: str, kind: pa.DataType) -> pa.Array:
        if kind == STRINGS:
            return raw.string_list(name).take(take)
        if kind == pa.string():
            return raw.strings(name).take(take)
        return raw.arrow(name, None).cast(kind).take(take) if raw.has(name) else pa.nulls(n, type=kind)

    put("tid", pa.array(all_keys, type=pa.int64()), np.ones(n, dtype=bool))
    exe = param("arg.exe", pa.string())
    comm = pc.utf8_slice_codeunits(pc.coalesce(param("arg.comm", pa.string()), _basename(exe)), 0, COMM_LEN)
    for name, column in (("exe", exe), ("comm", comm), ("args", param("arg.args", STRINGS))):
        put(name, column, from_params | is_created)
    for name, column in (("cwd", _unless_empty(param("arg.cwd", pa.string()))), ("pid", param("arg.pid", pa.int64())),
                         ("env", param("arg.env", STRINGS)),
                         ("cgroups", param("arg.cgroups", STRINGS)), ("vtid", param("arg.vtid", pa.int64())),
                         ("vpid", param("arg.vpid", pa.int64())), ("loginuid", param("arg.loginuid", pa.int64())),
                         ("tty", param("arg.tty", pa.int64())),
                         *((name, param(f"arg.{name}", pa.int64())) for name in CAP_COLUMNS + EXEC_INODE_COLUMNS),
                         ("exepath", pc.coalesce(param("arg.trusted_exepath", pa.string()), exe))):
        put(name, column, from_params)
    put("uid", param("arg.uid", pa.int64()), children)
    put("gid", param("arg.gid", pa.int64()), children)
    rawtime = raw.arrow("evt.rawtime", pa.int64()).take(take) if raw.has("evt.rawtime") else pa.nulls(n, pa.int64())
    put("start_ts", rawtime, children | is_parent_side)
    put("exit_ts", rawtime, procexit)
    # execve exits carry PPM_EXE_* bits in `flags` (clone exits use the same name for clone flags).
    exe_flags = param("arg.flags", pa.int64())
    has_flags = exe_flags.is_valid().to_numpy(zero_copy_only=False) if n else np.zeros(0, dtype=bool)
    flag_bits = exe_flags.fill_null(0).to_numpy(zero_copy_only=False)
    for name, bit in (("exe_from_memfd", PPM_EXE_FROM_MEMFD), ("exe_upper_layer", PPM_EXE_UPPER_LAYER)):
        put(name, pa.array((flag_bits & bit) != 0, type=pa.bool_()), execs & has_flags)
    _put_identity_changes(raw, all_rows, is_parent_side, param, values, sets)

    # Parent side: the child is a copy of the caller with its own tid; a thread keeps the caller's pid. A
    # created caller is its own process.
    flags = raw.ints("arg.flags")[all_rows]
    is_thread = (flags & PPM_CL_CLONE_THREAD) != 0
    caller_tid = tid[all_rows]
    side_pid = np.where(is_thread & is_parent_side, raw.ints("arg.pid", default=-1)[all_rows], all_keys)
    if (is_parent_side | is_created).any():
        values["pid"] = pc.if_else(pa.array(is_parent_side | is_created), pa.array(side_pid), values["pid"])
        sets["pid"] = sets["pid"] | is_parent_side | is_created
    put("ptid", *_parent_tids(raw, new, execs, children, caller_tid))
    # A new process starts with a copy of its creator's fd table as of its creation.
    new_process = (children & (param("arg.pid", pa.int64()).fill_null(-1).to_numpy(zero_copy_only=False)
                               == all_keys)) | (is_parent_side & ~is_thread)
    creator = np.where(is_parent_side, caller_tid, raw.ints("arg.ptid", default=-1)[all_rows])
    creator_pos = 2 * all_rows - 1
    creator, creator_pos = _fork_time_creator(snapshot, all_keys, all_pos, all_rows, children,
                                              is_parent_side & new_process, creator, creator_pos)
    put("fd_parent_tid", pa.array(np.where(new_process, creator, -1), type=pa.int64()), new_process)
    put("fd_parent_pos", pa.array(creator_pos, type=pa.int64()), new_process)
    # The child of an exec keeps its fd table: fd_parent stays inherited (CLOEXEC closes are not tracked).
    if new.container.any():
        ids = [container_events[int(row)] for row in all_rows[new.container]]
        _put_container_threads(new.container, ids, rawtime, values, sets)
    return PendingVersions([all_keys], all_pos, values, sets, base + 0)


# The thread libsinsp (sysdig 0.29) gives a JSON container event, beside its comm `container:<id>`: made up,
# not kept in its thread table, with these values (a few are the thread defaults: ptid 0, uid 0, sid -1).
_CONTAINER_THREAD: dict[str, object] = {
    "pid": -1, "ptid": 0, "vtid": -2, "vpid": -2, "exe": "", "exepath": "", "args": [], "env": [], "cwd": "",
    "uid": 0, "gid": 0, "loginuid": 0, "tty": 0, "sid": -1, "vpgid": -1,
}


def _put_container_threads(rows: np.ndarray, ids: list[str], rawtime: pa.Array, values: dict[str, pa.Array],
                           sets: dict[str, np.ndarray]) -> None:
    """Values of the versions standing for container events' threads (`rows` marks them; `ids` their
    containers, in order). Such an event comes with tid -1, which no real thread has, so no other event finds
    its version; it exits with the event, so the snapshot drops it after the exit grace period."""
    n = len(rows)
    mask = pa.array(rows)
    per_row = np.full(n, None, dtype=object)
    per_row[rows] = ids
    own = {"container_override": pa.array(per_row.tolist(), type=pa.string()),
           "comm": pc.binary_join_element_wise("container:", pa.array(per_row.tolist(), type=pa.string()), ""),
           "exit_ts": rawtime}
    for name, value in list(_CONTAINER_THREAD.items()) + list(own.items()):
        kind = THREAD_SCHEMA[name]
        column = value if isinstance(value, pa.Array) else pa.array([value] * n, type=kind)
        current = values.get(name)
        values[name] = pc.if_else(mask, column, current if current is not None else pa.nulls(n, type=kind))
        sets[name] = sets.get(name, np.zeros(n, dtype=bool)) | rows


def _parent_tids(raw: RawBatch, new: _NewVersionRows, execs: np.ndarray, children: np.ndarray,
                 caller_tid: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """libsinsp's parent tid (`ptid`, the thread `proc.pname` names) of the new versions, and where they set it.

    It is the thread that made the version: the caller of a clone seen from the parent, the caller named by a
    clone seen first from the child (`_clone_callers`), -1 for a created caller; an execve sets the parent its
    event names. A clone child already known keeps its own."""
    named = raw.ints("arg.ptid", default=-1)[new.rows]
    new_child = children & (new.known_child < 0)
    ptid = np.select([new.parent_side, new_child, new.created_caller], [caller_tid, new.base_keys, -1], named)
    named_valid = raw.valid("arg.ptid")[new.rows]
    return pa.array(ptid, type=pa.int64()), new.parent_side | new_child | new.created_caller | (execs & named_valid)


@dataclass
class _NewVersionRows:
    """The rows making a batch's new thread versions, one per version in position order (callers created for
    clone children come last): event row, tid, position, base tid, and what made the version."""

    rows: np.ndarray
    keys: np.ndarray
    pos: np.ndarray
    base_keys: np.ndarray
    parent_side: np.ndarray  # a clone exit in the parent, for the child
    created_caller: np.ndarray  # a caller created for a clone child (see `_new_version_rows`)
    known_child: np.ndarray  # the live version a child-side clone exit finds for its child, -1 if none
    container: np.ndarray  # a container event's thread (see `_put_container_threads`)


def _new_version_rows(raw: RawBatch, snapshot: VersionTable, rows: np.ndarray, keys: np.ndarray, pos: np.ndarray,
                      base_keys: np.ndarray, parent_rows: np.ndarray, container_rows: np.ndarray) -> _NewVersionRows:
    """Phase-one, parent-side and container event rows in position order, then the callers libsinsp creates
    for clone children.

    A clone exit seen first in the child (the parent's exit came later, was lost or is not in the capture)
    makes the child from its caller (`_clone_callers`). When libsinsp knows neither the child nor the caller,
    it creates the caller too, with no parent (-1) and the child's comm, exe and args: the child's parent name
    is then its own, and a thread's process has no parent (`proc.ppid` -1). A child it already knows (made by
    the parent's exit) keeps its state. Exited threads count as unknown (libsinsp drops them)."""
    res = raw.ints("evt.rawres", default=-1)
    tid = raw.ints("thread.tid")
    all_rows = np.concatenate([rows, parent_rows, container_rows])
    order = np.lexsort([np.concatenate([pos, 2 * parent_rows, 2 * container_rows])])
    all_rows = all_rows[order]
    all_keys = np.concatenate([keys, res[parent_rows], tid[container_rows]])[order]
    all_pos = np.concatenate([pos, 2 * parent_rows, 2 * container_rows])[order]
    all_base_keys = np.concatenate([base_keys, tid[parent_rows], np.full(len(container_rows), -1)])[order]
    kind = np.repeat([0, 1, 2], [len(rows), len(parent_rows), len(container_rows)])[order]
    parent_side, container = kind == 1, kind == 2
    children = np.flatnonzero(raw.type_in(CLONE_NAMES)[all_rows] & ~parent_side)
    known_child = np.full(len(all_rows), -1, dtype=np.int64)
    created = np.empty(0, dtype=np.int64)
    if len(children):
        exited = raw.type_in(EXIT_NAMES)[all_rows]
        before = 2 * all_rows[children] - 1
        callers = all_base_keys[children]
        # One join for both: the child's version, then the caller's, as of the clone.
        found = _live_versions(snapshot, all_keys, all_pos, exited, np.concatenate([all_keys[children], callers]),
                               np.concatenate([before, before]))
        known_child[children] = found[:len(children)]
        unknown = (found[:len(children)] < 0) & (found[len(children):] < 0) & (callers > 0)
        first = np.unique(callers[unknown], return_index=True)[1]  # one caller per tid: the earliest child's
        created = children[unknown][first]
    n_created = len(created)
    return _NewVersionRows(
        np.concatenate([all_rows, all_rows[created]]), np.concatenate([all_keys, all_base_keys[created]]),
        np.concatenate([all_pos, all_pos[created]]), np.concatenate([all_base_keys, np.full(n_created, -1)]),
        np.concatenate([parent_side, np.zeros(n_created, dtype=bool)]),
        np.concatenate([np.zeros(len(all_rows), dtype=bool), np.ones(n_created, dtype=bool)]),
        np.concatenate([known_child, np.full(n_created, -1, dtype=np.int64)]),
        np.concatenate([container, np.zeros(n_created, dtype=bool)]))


def _live_versions(snapshot: VersionTable, keys: np.ndarray, pos: np.ndarray, exited: np.ndarray,
                   query_keys: np.ndarray, query_pos: np.ndarray) -> np.ndarray:
    """The version of each queried tid current at its position (global index over the snapshot and the
    pending versions `keys`/`pos`), -1 when there is none or it is an exit (`exited` per pending version; a
    snapshot version with an exit time)."""
    found = lookup_over(snapshot, [keys], pos, [query_keys], query_pos)
    n_snap = len(snapshot)
    in_snapshot = (found >= 0) & (found < n_snap)
    gone = np.zeros(len(found), dtype=bool)
    if in_snapshot.any():
        gone[in_snapshot] = snapshot.column("exit_ts", found[in_snapshot]).is_valid().to_numpy(zero_copy_only=False)
    pending = found >= n_snap
    gone[pending] = exited[found[pending] - n_snap]
    return np.where(gone, -1, found)


def _put_identity_changes(raw: RawBatch, rows: np.ndarray, parent_side: np.ndarray, param, values: dict,
                          sets: dict) -> None:
    """cwd after chdir to an absolute path; uid/gid after setuid/setresuid/setgid/setresgid (the effective id
    when the call gives one; the parameters come with the exit in live capture); the capability sets after
    capset."""
    capset = raw.type_in(CAPSET_NAMES)[rows] & ~parent_side
    if capset.any():
        for name in CAP_COLUMNS:
            value = param(f"arg.{name}", pa.int64())
            mask = capset & value.is_valid().to_numpy(zero_copy_only=False)
            values[name] = pc.if_else(pa.array(mask), value, values[name])
            sets[name] = sets[name] | mask
    chdir = raw.type_in(CWD_NAMES)[rows] & ~parent_side
    if chdir.any():
        path = param("arg.path", pa.string())
        absolute = pc.fill_null(pc.starts_with(path, "/"), False).to_numpy(zero_copy_only=False)
        mask = chdir & absolute
        values["cwd"] = pc.if_else(pa.array(mask), path, values["cwd"])
        sets["cwd"] = sets["cwd"] | mask
    for names, single, effective, column in ((UID_NAMES, "arg.uid", "arg.euid", "uid"),
                                             (GID_NAMES, "arg.gid", "arg.egid", "gid")):
        calls = raw.type_in(names)[rows] & ~parent_side
        if not calls.any():
            continue
        value = pc.coalesce(param(effective, pa.int64()), param(single, pa.int64()))
        known = (value.fill_null(NO_ID).to_numpy(zero_copy_only=False) & NO_ID) != NO_ID
        mask = calls & known
        values[column] = pc.if_else(pa.array(mask), value.cast(values[column].type), values[column])
        sets[column] = sets[column] | mask


def _fork_time_creator(snapshot: VersionTable, child_keys: np.ndarray, pos: np.ndarray, rows: np.ndarray,
                       children: np.ndarray, forks: np.ndarray, creator: np.ndarray,
                       creator_pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A child's fd table is its creator's as of the fork: when the parent's clone exit came first (it made
    the child's earlier version), keep that moment rather than the child's own clone exit, since the parent
    may close fds in between (a shell closing its pipe ends after forking)."""
    n_snap = len(snapshot)
    prev = lookup_over(snapshot, [child_keys], pos, [child_keys], 2 * rows - 1)
    pending_tid = np.where(forks, creator, -1)  # parent-side rows of new processes: creator at the fork
    pending_pos = np.where(forks, creator_pos, -1)
    # Positions from an earlier batch are already folded into the snapshot as -1: keep the child's own then.
    earlier = children & (prev >= n_snap)
    safe = np.where(earlier, prev - n_snap, 0)
    use = earlier & (pending_tid[safe] >= 0)
    return np.where(use, pending_tid[safe], creator), np.where(use, pending_pos[safe], creator_pos)


def _unless_empty(column: pa.Array) -> pa.Array:
    """Null where the text is empty: newer drivers send an empty `cwd` in clone/execve exits, and libsinsp then
    keeps the inherited working directory."""
    return pc.if_else(pc.fill_null(pc.equal(column, ""), False), pa.scalar(None, column.type), column)


def _basename(path: pa.Array) -> pa.Array:
    return pc.replace_substring_regex(path, pattern=r"^.*/", replacement="")


def _derive(column) -> dict[str, pa.Array]:
    """cmdline (comm + args, as proc.cmdline), args text, exeline and container id, from a version table's
    columns (`column(name)`)."""
    args = column("args")
    if len(args):
        args_text = pc.binary_join(args.fill_null(pa.scalar([], type=STRINGS)), " ")
    else:
        args_text = pa.array([], type=pa.string())
    comm = column("comm")
    has_args = pc.greater(pc.list_value_length(args).fill_null(0), 0) if len(args) else pa.array([], pa.bool_())
    spaced = pc.binary_join_element_wise(comm, args_text, " ")
    exe = column("exe")
    return {
        "cmdline": pc.if_else(has_args, spaced, comm) if len(comm) else pa.array([], pa.string()),
        "exeline": (pc.if_else(has_args, pc.binary_join_element_wise(exe, args_text, " "), exe)
                    if len(exe) else pa.array([], pa.string())),
        "args_text": args_text,
        "container_id": pc.coalesce(column("container_override"), container_ids(column("cgroups"))),
    }


def initial_snapshot(threads: Iterable[object]) -> VersionTable:
    """Versions at position -1 from the capture's thread list (ThreadInfo-like objects; missing attrs = null)."""
    rows: dict[str, list] = {name: [] for name in THREAD_SCHEMA}
    for info in threads:
        for name in THREAD_SCHEMA:
            value = getattr(info, name, None)
            if name == "comm" and isinstance(value, str):
                value = value[:COMM_LEN]
            if name in ("args", "env", "cgroups") and isinstance(value, str):
                value = [part for part in value.split("\0") if part]
            if name in ("exe_writable", "exe_upper_layer", "exe_from_memfd") and value is not None:
                value = bool(value)
            if name in ("exit_ts", "fd_parent_tid", "fd_parent_pos") or (name in EXEC_INODE_COLUMNS and not value):
                value = None
            rows[name].append(value)
    columns = {name: pa.array(values, type=THREAD_SCHEMA[name]) for name, values in rows.items()}
    n = len(rows["tid"])
    table = VersionTable([np.asarray(rows["tid"], dtype=np.int64)], np.full(n, -1, dtype=np.int64), columns)
    table.columns.update(_derive(table.columns.__getitem__))
    return table


def thread_pid(table: VersionTable, indices: np.ndarray, tid: np.ndarray) -> np.ndarray:
    """pid of each event's thread; an unknown thread counts as its own process (pid = tid), like sysdig."""
    pid = table.column("pid", indices).fill_null(-1).to_numpy(zero_copy_only=False)
    return np.where((indices >= 0) & (pid >= 0), pid, tid)


__all__ = ["THREAD_SCHEMA", "ThreadState", "initial_snapshot", "nullable_indices", "thread_pid"]
