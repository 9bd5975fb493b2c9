"""Thread/process state as version tables keyed by tid.

Versions come from (a) the capture's initial thread list (position -1), (b) execve/execveat exits that
succeeded (new exe, args, comm, cwd... for that tid, visible to the execve exit itself), (c) clone/fork/vfork
exits in the child (res == 0: the child's tid with the parameters the event carries) and (d) the same exits
in the parent (res > 0) when the child has no version yet, built from the caller, and (e) procexit (marks the
thread exited, effective from the next event). Fields an event does not carry are inherited from the base
version: the previous version of the tid, or for a new child the parent's version as of the clone.

Everything is vectorized over the batch. The only Python loop is over the capture's initial thread list
(once per capture) in `initial_snapshot`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
    "exit_ts": pa.int64(),
    # The process whose fd table a new process starts from (tid of the creator, as of `fd_parent_pos`).
    "fd_parent_tid": pa.int64(), "fd_parent_pos": pa.int64(),
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
NO_ID = 0xFFFFFFFF  # setres*id's "leave unchanged"
PPM_EXE_FROM_MEMFD = 1 << 2  # execve exit flags: the program runs from a memfd
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

    def versions_for(self, raw: RawBatch) -> BatchVersions:
        """The snapshot plus this batch's thread versions (inherited fields and derived columns resolved when
        first gathered)."""
        rows, keys, pos, base_keys = _phase_one_rows(raw)
        candidates = _parent_side_rows(raw)
        if len(candidates):
            known = lookup_over(self.snapshot, [keys], pos, [raw.ints("evt.rawres")[candidates]], 2 * candidates)
            candidates = candidates[known < 0]
        if len(rows) == 0 and len(candidates) == 0:  # no thread changed: skip building empty columns
            none = np.empty(0, dtype=np.int64)
            pending = PendingVersions([none], none, {}, {}, none)
        else:
            pending = _pending(raw, self.snapshot, rows, keys, pos, base_keys, candidates)
        return materialize(self.snapshot, pending, THREAD_SCHEMA | DERIVED_SCHEMA, _derive, DERIVED_SCHEMA)

    def commit(self, table: BatchVersions, now_ns: int) -> None:
        """Keep the latest version per tid; drop threads exited longer than the grace period; cap the size."""
        pruned = 0

        def keep(column) -> np.ndarray:
            nonlocal pruned
            exit_ts = column("exit_ts").fill_null(-1).to_numpy(zero_copy_only=False)
            kept = (exit_ts < 0) | (now_ns - exit_ts <= self.exit_grace_ns)
            pruned = int((~kept).sum())
            return kept

        latest = table.snapshot_after(keep)
        self.counters.pruned_exited += pruned
        if len(latest) > self.max_threads:
            start = latest.columns["start_ts"].fill_null(0).to_numpy(zero_copy_only=False)
            newest = np.sort(np.argsort(start, kind="stable")[-self.max_threads:])
            self.counters.pruned_cap += len(latest) - len(newest)
            latest = latest.take(newest)
        self.snapshot = latest
        self.counters.live = len(latest)


def _phase_one_rows(raw: RawBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows of execve exits, child-side clone exits and procexits: (rows, tid keys, positions, base keys)."""
    exits = raw.is_exit()
    res = raw.ints("evt.rawres", default=-1)
    tid = raw.ints("thread.tid")
    execs = raw.type_in(EXEC_NAMES) & exits & (res == 0)
    children = raw.type_in(CLONE_NAMES) & exits & (res == 0)
    procexits = raw.type_in(EXIT_NAMES)
    # chdir and set*id change one field of the calling thread (its other fields are inherited).
    changes = raw.type_in(CWD_NAMES | UID_NAMES | GID_NAMES) & exits & (res == 0)
    rows = np.nonzero(execs | children | procexits | changes)[0]
    keys = tid[rows]
    # A procexit takes effect after the event itself; the others are visible to the event that makes them.
    pos = 2 * rows + procexits[rows].astype(np.int64)
    ptid = raw.ints("arg.ptid", default=-1)
    base_keys = np.where(children[rows], ptid[rows], keys)
    return rows, keys, pos, base_keys


def _parent_side_rows(raw: RawBatch) -> np.ndarray:
    """Rows of clone/fork exits in the parent (res = child tid). A caller inside a pid namespace (its vtid is not
    its tid) gets the child's namespace tid as result, which names no thread: libsinsp skips those."""
    res = raw.ints("evt.rawres", default=-1)
    vtid = raw.ints("arg.vtid", default=-1)
    in_namespace = (vtid >= 0) & (vtid != raw.ints("thread.tid"))
    return np.nonzero(raw.type_in(CLONE_NAMES) & raw.is_exit() & (res > 0) & ~in_namespace)[0]


def _pending(raw: RawBatch, snapshot: VersionTable, rows: np.ndarray, keys: np.ndarray, pos: np.ndarray,
             base_keys: np.ndarray, parent_rows: np.ndarray) -> PendingVersions:
    """Explicit values and bases of the batch's new versions (phase-one rows plus kept parent-side rows)."""
    res = raw.ints("evt.rawres", default=-1)
    tid = raw.ints("thread.tid")
    all_rows = np.concatenate([rows, parent_rows])
    all_keys = np.concatenate([keys, res[parent_rows]])
    all_pos = np.concatenate([pos, 2 * parent_rows])
    all_base_keys = np.concatenate([base_keys, tid[parent_rows]])
    is_parent_side = np.concatenate([np.zeros(len(rows), dtype=bool), np.ones(len(parent_rows), dtype=bool)])
    order = np.lexsort([all_pos])
    all_rows, all_keys, all_pos = all_rows[order], all_keys[order], all_pos[order]
    all_base_keys, is_parent_side = all_base_keys[order], is_parent_side[order]

    base = lookup_over(snapshot, [all_keys], all_pos, [all_base_keys], 2 * all_rows - 1)

    n = len(all_rows)
    take = pa.array(all_rows, type=pa.int64())
    execs = raw.type_in(EXEC_NAMES)[all_rows]
    children = raw.type_in(CLONE_NAMES)[all_rows] & ~is_parent_side
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
    for name, column in (("exe", exe), ("comm", comm), ("args", param("arg.args", STRINGS)),
                         ("cwd", _unless_empty(param("arg.cwd", pa.string()))), ("pid", param("arg.pid", pa.int64())),
                         ("ptid", param("arg.ptid", pa.int64())), ("env", param("arg.env", STRINGS)),
                         ("cgroups", param("arg.cgroups", STRINGS)), ("vtid", param("arg.vtid", pa.int64())),
                         ("vpid", param("arg.vpid", pa.int64())), ("loginuid", param("arg.loginuid", pa.int64())),
                         ("tty", param("arg.tty", pa.int64())),
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
    from_memfd = (exe_flags.fill_null(0).to_numpy(zero_copy_only=False) & PPM_EXE_FROM_MEMFD) != 0
    put("exe_from_memfd", pa.array(from_memfd, type=pa.bool_()), execs & has_flags)
    _put_identity_changes(raw, all_rows, is_parent_side, param, values, sets)

    # Parent side: the child is a copy of the caller with its own tid; a thread keeps the caller's pid.
    flags = raw.ints("arg.flags")[all_rows]
    is_thread = (flags & PPM_CL_CLONE_THREAD) != 0
    caller_pid = raw.ints("arg.pid", default=-1)[all_rows]
    caller_ptid = raw.ints("arg.ptid", default=-1)[all_rows]
    caller_tid = tid[all_rows]
    side_pid = np.where(is_thread, caller_pid, all_keys)
    side_ptid = np.where(is_thread, caller_ptid, caller_tid)
    if is_parent_side.any():
        values["pid"] = pc.if_else(pa.array(is_parent_side), pa.array(side_pid), values["pid"])
        sets["pid"] = sets["pid"] | is_parent_side
        values["ptid"] = pc.if_else(pa.array(is_parent_side), pa.array(side_ptid), values["ptid"])
        sets["ptid"] = sets["ptid"] | is_parent_side
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
    return PendingVersions([all_keys], all_pos, values, sets, base + 0)


def _put_identity_changes(raw: RawBatch, rows: np.ndarray, parent_side: np.ndarray, param, values: dict,
                          sets: dict) -> None:
    """cwd after chdir to an absolute path; uid/gid after setuid/setresuid/setgid/setresgid (the effective id
    when the call gives one; the parameters come with the exit in live capture)."""
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
        "container_id": container_ids(column("cgroups")),
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
            if name in ("exit_ts", "fd_parent_tid", "fd_parent_pos"):
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
