"""Enrichment: raw event batches in, event batches with the requested field columns out (event batch contract).

`Enricher(capture).enrich(raw_batch, fields)` adds one column per requested canonical field reference
(`proc.name`, `proc.aname[2]`, `fd.name`, `evt.arg.flags`...), computing only what is asked for. Per batch:

1. the batch's thread and fd versions are built (`threads.ThreadState`, `fds.FdState`), seeded with the
   snapshot of earlier batches;
2. every row finds its thread version with an as-of join on tid, its fd version with an as-of join on
   (pid, fd), its parent thread with an as-of join on the thread's `ptid`, its process's ancestors with one on
   the `ptid` of its main thread (repeated for further ancestors), as libsinsp reads them;
3. field columns are gathers from the version tables (`take`), plus a few vectorized derivations.

With `rows` (the capture stage's candidate rows) only step 1 and the joins it needs cover the whole batch;
the other joins and every field cover those rows. A live batch has a few dozen of them, so a field costs
its Arrow calls, not its rows: a view keeps what several fields share (the thread, ancestor and fd version
rows with their index arrays, the distinct thread versions, fields other fields derive from).

The fd an event refers to follows libsinsp: an enter event of a call that uses an fd reads its `fd`
parameter; an exit event reads the fd of its matching enter event (the previous enter of the same thread
with the matching type) unless it carries an `fd` parameter itself; the exit of an fd-creating call refers
to the new fd (its result); the enter of an fd-creating call has fd -1 and no fd information. An exit
without its enter reads the thread's last-event fd (the fd of the thread's previous enter, 0 before any).
Scheduler switches and other EF_SKIPPARSERESET events do not take part in this pairing. An fd event whose
fd is unknown still has `fd.num`, a guessed `fd.typechar` and, for exits, an `fd.name` taken from the call
(libsinsp's null-fd extraction).

Unknown threads (not in the initial list and never created by an event seen) give `proc.name` null,
`proc.pid` = tid and `user.uid` = 4294967295 with `user.name` null, as sysdig does.

`evt.args`/`evt.info` come from `stages.state.evt_args`, `evt.buflen` from `stages.state.buflen`.

Not extracted (the column is left out, so checks on them are false): latency fields, resource usage fields,
`fdlist.*`, `fs.path.*` and the deprecated `k8s.*`. `fd.cip.name`, `fd.sip.name`, `fd.lip.name` and
`fd.rip.name` name an address by the host names the rules compare them with (`stages.dns`). `k8s.pod.name`,
`k8s.ns.name`, `k8s.pod.uid`/`id` and the sandbox ids come from the container's kubelet labels;
`k8s.pod.label(s)`, `k8s.pod.ip` and `k8s.pod.cni.json` from the pod's sandbox (a CRI runtime's
PodSandboxStatus, or a capture's container event).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping
from functools import cache
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kernel.scap import event_table as et
from kernel.scap.decode import filled, nullable_column
from rules.columns import ALTERNATIVE_COLUMNS
from stages.state.addresses import Interfaces
from stages.state.asof import asof_indices, latest_per_key
from stages.state import capabilities
from stages.state import paramtext as pt
from stages.state.buflen import buflen_column
from stages.state.containers import HOST, ContainerState
from stages.state.evt_args import args_column, prints_as_number, value_text
from stages.state.fds import (NO_FD, SIMPLE_TYPES, EventContext, FdState, _param, resolve_path, resolve_paths,
                              typechar_of)
from stages.state.fds import initial_snapshot as initial_fds
from stages.state.flags import (ENUM_TABLES, FLAGS_TABLE_BY_EVENT, PPM_O_RDONLY, PPM_O_WRONLY, render_enum_column,
                                render_flags_column)
from stages.state.raw import RawBatch
from stages.state.sockets import decode_tuple
from stages.state.threads import DERIVED_SCHEMA, THREAD_SCHEMA, ThreadState, thread_pid
from stages.state.threads import initial_snapshot as initial_threads
from stages.state.users import UNKNOWN_UID, Directory
from stages.state.versions import BatchVersions, TwoPartIndex, VersionRows, VersionTable, concatenated

MAX_ANCESTORS = 32
# Pseudo ancestor level of the thread that made each row's thread (libsinsp's parent thread, `ptid`), which
# proc.pname and the other proc.p* fields read; levels 1.. are the process's ancestors, from its main thread.
PARENT_THREAD = -1
ENTER_PARAMS: dict[str, pa.DataType] = {
    "arg.fd": pa.int64(), "first_fd": pa.int64(), "arg.name": pa.string(), "arg.flags": pa.int64(), "arg.dirfd": pa.int64(),
    "arg.domain": pa.int64(), "arg.type": pa.int64(), "arg.proto": pa.int64(), "arg.mode": pa.int64(),
    "arg.tuple": pa.binary(),  # a sendto/sendmsg's destination, which libsinsp reads at the exit
}
_NO_ENTERS = {"tid": np.empty(0, np.int64), "type_id": np.empty(0, np.int64),  # the memo before any enter
              "params": {name: pa.array([], type=kind) for name, kind in ENTER_PARAMS.items()}}
SWITCH_NAMES = frozenset({"switch"})
_PROCEXIT_IDS = np.array([code for code, event in et.EVENTS.items() if event.name == "procexit"])
OPEN_LIKE = frozenset({"open", "openat", "openat2", "creat", "open_by_handle_at"})
_ANCESTOR = re.compile(r"^proc\.a(name|exe|exepath|cmdline|pid|args|env)(?:\[(\d+)\])?$")
_CONTAINER_LABEL = re.compile(r"^container\.label(?:\[(.+)\]|\.(.+))$")
_POD_LABEL = re.compile(r"^k8s\.pod\.label(?:\[(.+)\]|\.(.+))$")
_CONTAINER_MOUNT = re.compile(r"^container\.mount(?:\.(source|dest|mode|rdwr|propagation))?\[(.+)\]$")
_ANCESTOR_SOURCE = {"name": "comm", "exe": "exe", "exepath": "exepath", "cmdline": "cmdline", "pid": "pid",
                    "args": "args_text", "env": "env"}
_PARENT_FIELDS = {"proc.pname": "comm", "proc.pexe": "exe", "proc.pexepath": "exepath",
                  "proc.pcmdline": "cmdline", "proc.ppid.ts": "start_ts"}
# fd.typechar of an fd event whose fd is unknown (libsinsp guesses from the call: enter id of the pair).
_NULL_FD_TYPECHAR = {2: "f", 102: "f", 306: "f", 58: "f", 18: "4", 26: "4", 56: "4", 246: "4", 248: "4",
                     60: "p", 62: "e", 126: "s", 136: "t", 138: "i"}
# Exits of fd-creating calls whose fd.name, when the fd is unknown (failed call), is their second parameter.
_CREATOR_PARAM_NAME = {3: "name", 59: "name", 27: "tuple", 57: "tuple", 247: "tuple", 249: "tuple", 23: "tuple"}
_OPENAT_EXITS = frozenset({103, 307})
_CONNECT_EXIT = 23
_IO_CATEGORY = {"file": "file", "directory": "file", "ipv4": "net", "ipv6": "net", "unix": "ipc", "pipe": "ipc",
                "event": "ipc", "inotify": "ipc", "signalfd": "ipc", "eventpoll": "ipc", "memfd": "file"}


def _flag_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, list[tuple[str, ...]]]:
    """Per event type id: creates-fd, uses-fd, destroys-fd flags and parameter names."""
    size = max(et.EVENTS) + 1
    creates, uses, destroys = (np.zeros(size, dtype=bool) for _ in range(3))
    params: list[tuple[str, ...]] = [()] * size
    for type_id, info in et.EVENTS.items():
        creates[type_id] = bool(info.flags & et.EventFlags.CREATES_FD)
        uses[type_id] = bool(info.flags & et.EventFlags.USES_FD)
        destroys[type_id] = bool(info.flags & et.EventFlags.DESTROYS_FD)
        params[type_id] = tuple(p.name for p in info.params)
    return creates, uses, destroys, params


CREATES_FD, USES_FD, DESTROYS_FD, PARAM_NAMES = _flag_arrays()
# The first parameter of fd-using events (libsinsp takes it as the event's fd), per event type id, as an index
# into its few distinct names (-1: not an fd-using event).
_FIRST_PARAMS = sorted({names[0] for t, names in enumerate(PARAM_NAMES) if names and (USES_FD[t] or DESTROYS_FD[t])})
FIRST_PARAM = np.array([_FIRST_PARAMS.index(names[0]) if names and (USES_FD[t] or DESTROYS_FD[t]) else -1
                        for t, names in enumerate(PARAM_NAMES)], dtype=np.int64)
# Where an event's fd comes from (`_BatchView._fd_numbers`), per event type id, for enters and for exits.
_FD_NONE, _FD_FIRST_PARAM, _FD_NOT_YET, _FD_OWN_OR_ENTERED, _FD_CREATED = range(5)
ENTER_FD_SOURCE = np.where(CREATES_FD & ~USES_FD, _FD_NOT_YET,
                           np.where(USES_FD | DESTROYS_FD, _FD_FIRST_PARAM, _FD_NONE))
EXIT_FD_SOURCE = np.where(CREATES_FD, _FD_CREATED, np.where(USES_FD | DESTROYS_FD, _FD_OWN_OR_ENTERED, _FD_NONE))
SKIP_RESET = np.array([bool(et.EVENTS[i].flags & et.EventFlags.SKIPPARSERESET) if i in et.EVENTS else False
                       for i in range(len(CREATES_FD))], dtype=bool)
PROCINFO_ID = 234
# fd.typechar guessed per event type id, as indices into its few distinct characters (a gather, no Python).
_GUESSED_CHARS = sorted(set(_NULL_FD_TYPECHAR.values()) | {"o"})
NULL_FD_TYPECHAR_VALUES = pa.array(_GUESSED_CHARS, type=pa.string())
NULL_FD_TYPECHAR = np.array([_GUESSED_CHARS.index(_NULL_FD_TYPECHAR.get(i & ~1, "o")) for i in range(len(CREATES_FD))],
                            dtype=np.int64)


class Enricher:
    """Stateful enrichment of consecutive raw batches of one event stream (capture file or live)."""

    def __init__(self, capture: object | None = None, *, directory: Directory | None = None) -> None:
        threads = list(getattr(capture, "threads", {}).values()) if isinstance(
            getattr(capture, "threads", None), dict) else list(getattr(capture, "threads", []) or [])
        pid_of = {t.tid: t.pid for t in threads}
        self.threads = ThreadState(initial_threads(threads) if threads else None)
        fds = list(getattr(capture, "fds", []) or [])
        self.fds = FdState(initial_fds(fds, pid_of) if fds else None,
                           interfaces=Interfaces.from_capture(getattr(capture, "interfaces", None) or []))
        if directory is None:
            directory = Directory.from_capture(list(getattr(capture, "users", []) or []),
                                               list(getattr(capture, "groups", []) or [])) if capture else \
                Directory.from_host()
        self.directory = directory
        self.containers = ContainerState()
        self._enter_memo: dict[str, object] | None = None
        self._seen_tids = SeenTids()  # tids of non-switch events so far (see _threadless)
        # Set by a caller that looks new containers up (`stages.runtimes`): each commit then lists the container
        # ids of the batch's new thread versions whose metadata is unknown.
        self.track_containers = False
        self.unknown_containers: list[str] = []
        # Addresses and the host names the rules compare `fd.*.name` with that resolve to them (`stages.dns`).
        self.address_names: Mapping[str, str] = {}
        self._column_types: dict[str, dict[str, pa.DataType]] = {}  # each gated field's columns (see enrich)

    def enrich(self, raw_batch: pa.RecordBatch | RawBatch, fields: set[str], rows: np.ndarray | None = None,
               only_for: Mapping[str, frozenset[str]] | None = None,
               raw_columns: Collection[str] | None = None,
               gates: Mapping[str, Callable[[pa.RecordBatch], np.ndarray]] | None = None,
               field_gates: FieldGrouper | None = None) -> pa.RecordBatch:
        """`raw_batch` plus one column per requested field (absent when not extractable at all).

        With `rows` (ascending positions), the state still advances over the whole batch but the result holds
        only those rows, and fields are computed for them alone: the capture stage passes the rows some rule
        can match, which are usually a small part of the stream. `field_gates` (stages.gates.FieldGates)
        skips its fields, null on every row, when no rule reading them may match any row, judged on the
        fields it does not gate, computed first. `only_for[name]` narrows a field to the rows of those event
        types (null elsewhere): for fields built row by row in Python (evt.args), which only the rules of a
        few event types print. `gates[name]` narrows it to the rows where a condition holds (the conditions of
        the rules that print it: their matches are the rows that print it), evaluated on the other fields,
        which are computed before. `raw_columns` limits the batch's own columns in the result to those
        (default: all of them).
        """
        raw = raw_batch if isinstance(raw_batch, RawBatch) else RawBatch(raw_batch)  # a caller's, codes and all
        full = _BatchView(self, raw)
        view = full if rows is None else full.restricted(np.asarray(rows, dtype=np.int64))
        names = [name for name in raw.batch.schema.names if raw_columns is None or name in raw_columns]
        columns = {name: view.raw.column(name) for name in names}
        only_for, gates = only_for or {}, gates or {}
        narrowed = (field_gates.fields if field_gates is not None else frozenset()) & set(fields) - set(gates)
        for name in sorted(set(fields) - narrowed - set(gates)):
            columns.update(_field_for_types(view, name, only_for[name]) if name in only_for else view.field(name))
        if narrowed:
            for needed, members in field_gates.groups(_record_batch(columns), narrowed):
                columns.update(self._fields_if(needed, view, members))
        for name in sorted(set(fields) & set(gates)):  # last: their gates read every other field
            where = gates[name](_record_batch(columns))
            columns.update(_field_for_types(view, name, only_for.get(name), where))
        full.commit()
        return _record_batch(columns)

    def _fields_if(self, needed: bool, view: "_BatchView", names: list[str]) -> dict[str, pa.Array]:
        """Fields `names` on every row of the view if `needed` (a gather costs its calls, not its rows, and a
        value on a row no rule reading it can match is harmless), else null on every row."""
        if needed:
            return {column: values for name in names for column, values in self._typed(name, view.field(name)).items()}
        return {column: pa.nulls(view.n, type=kind) for name in names
                for column, kind in self._types_of(view, name).items()}

    def _typed(self, name: str, produced: dict[str, pa.Array]) -> dict[str, pa.Array]:
        """`produced`, its column types noted for the batches where no row needs the field."""
        self._column_types[name] = {column: values.type for column, values in produced.items()}
        return produced

    def _types_of(self, view: "_BatchView", name: str) -> dict[str, pa.DataType]:
        """The columns field `name` gives and their types: as last computed, else computed on no rows once."""
        if name not in self._column_types:
            self._typed(name, view.restricted(np.empty(0, dtype=np.int64)).field(name))
        return self._column_types[name]


class FieldGrouper(Protocol):
    """What `Enricher.enrich` needs of its `field_gates` (stages.gates.FieldGates)."""

    fields: frozenset[str]

    def groups(self, batch: pa.RecordBatch, names: Collection[str]) -> list[tuple[bool, list[str]]]: ...


def _record_batch(columns: Mapping[str, pa.Array]) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(list(columns.values()), names=list(columns))


def _field_for_types(view: "_BatchView", name: str, types: frozenset[str] | None, where: np.ndarray | None = None
                     ) -> dict[str, pa.Array]:
    """Field `name` computed for the view's rows of the given event types only (all types: None), and only
    where `where` is true if given; null on the others."""
    wanted = np.ones(view.n, dtype=bool) if types is None else view.raw.type_in(types)
    selected = np.flatnonzero(wanted if where is None else wanted & where)
    if len(selected) == view.n:
        return view.field(name)
    return _scattered(view.restricted(selected).field(name), selected, view.n)


def _scattered(produced: dict[str, pa.Array], selected: np.ndarray, n: int) -> dict[str, pa.Array]:
    """Columns computed for the `selected` rows of `n`, placed at those rows (null elsewhere)."""
    place = np.full(n, -1, dtype=np.int64)
    place[selected] = np.arange(len(selected), dtype=np.int64)
    positions = nullable_column(place, place >= 0)
    return {column: values.take(positions) for column, values in produced.items()}


def _forks(threads: BatchVersions) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(child pid, creator pid, position of the fork) of the processes a batch creates (the thread versions
    that set `fd_parent_tid`), in position order; None when it creates none."""
    pending = threads.pending
    if not len(pending) or "fd_parent_tid" not in pending.values:
        return None
    creator = filled(pending.values["fd_parent_tid"], -1)
    rows = np.flatnonzero(pending.sets["fd_parent_tid"] & (creator >= 0))
    if not len(rows):
        return None
    child, creator = threads.pending_keys[0][rows], creator[rows]
    at = filled(pending.values["fd_parent_pos"], -1)[rows]
    order = np.lexsort((at, child))  # each child's earliest
    child, creator, at = child[order], creator[order], at[order]
    first = np.ones(len(child), dtype=bool)
    first[1:] = child[1:] != child[:-1]
    child, creator, at = child[first], creator[first], at[first]
    # A child alive before the batch got its copy in the batch of its parent's clone exit (this is its own).
    before = threads.lookup([child], at)
    new = ~((before >= 0) & (before < threads.n_snap) & (threads.numbers("exit_ts", before, -1) < 0))
    order = np.argsort(at[new], kind="stable")
    child, creator, at = child[new][order], creator[new][order], at[new][order]
    if not len(child):
        return None
    return child, thread_pid(threads, threads.lookup([creator], at), creator), at


class _BatchView:
    """One batch: the as-of indices, computed on first use, and the field extractors."""

    def __init__(self, owner: Enricher, raw: RawBatch) -> None:
        self.owner = owner
        self.raw = raw
        self.n = raw.n
        self.pos = raw.rows_pos()
        self.tid = raw.ints("thread.tid")
        self.type_id = raw.ints("evt.type_id")
        self.exits = raw.is_exit()
        self.res_valid = raw.valid("evt.rawres")
        self.res = raw.ints("evt.rawres", default=-1)
        container_events = owner.containers.ingest(raw)
        self.first_fd = self._first_param_fds()
        self.enter_index, self.enter = self._match_enters()
        self.thread_table = owner.threads.versions_for(raw, container_events)
        self.t_idx = self.thread_table.lookup([self.tid], self.pos)
        self.no_thread = self._threadless()
        self.t_idx = np.where(self.no_thread, -1, self.t_idx)  # every thread field null for those rows
        self._reset_memo()
        self.pid = thread_pid(self.thread_table, self.t_idx, self.tid)
        self.fd_num = self._fd_numbers()
        self.ctx = EventContext(self.exits, np.where(self.res_valid, self.res, -1), self.pid,
                                _cwd_reader(self.thread_table, self.t_idx),
                                self.fd_num, self.enter, _forks(self.thread_table))
        self.fd_table = owner.fds.versions_for(raw, self.ctx)
        self._f_idx: np.ndarray | None = None
        type_id = np.clip(self.type_id, 0, len(CREATES_FD) - 1)
        # libsinsp extracts fd fields only for fd events (creates/uses/destroys an fd) of a known thread.
        self.fd_event = (CREATES_FD[type_id] | USES_FD[type_id] | DESTROYS_FD[type_id]) & ~self.no_thread

    @property
    def f_idx(self) -> np.ndarray:
        """fd version of every row (-1: none), joined on first use: only fields need it, so a view restricted
        to the candidate rows joins those rows alone."""
        if self._f_idx is None:
            self._f_idx = self._fd_indices()
        return self._f_idx

    def _reset_memo(self) -> None:
        """Per-view results kept for the fields that share them (a restricted view starts its own)."""
        self._ancestors: list[np.ndarray] = []
        self._main: np.ndarray | None = None
        self._parent: np.ndarray | None = None
        self._rows: dict[int | str, VersionRows] = {}
        self._distinct: dict[int, _DistinctVersions] = {}
        self._values: dict[str, pa.Array | None] = {}
        self._creator_name: pa.Array | None = None
        self._fd_names: pa.DictionaryArray | None = None
        self._containers: np.ndarray | None = None

    def _threadless(self) -> np.ndarray:
        """Rows sysdig has no thread for (every thread field null), following libsinsp's parser reset:
        the idle task (tid 0); events flagged EF_SKIPPARSERESET other than procinfo (no thread lookup at
        all); scheduler switch events of a thread neither in the table nor seen in an earlier event that
        creates threads (switch looks threads up without creating them; other events create them)."""
        type_id = np.clip(self.type_id, 0, len(SKIP_RESET) - 1)
        skip = SKIP_RESET[type_id]
        passive = skip | self.raw.type_in(SWITCH_NAMES)  # events that never create a thread
        # Exit times are event times (never the smallest int64), so that value can stand for "none".
        no_exit = np.iinfo(np.int64).min
        looked_up = passive & ~skip  # switches (live capture has none)
        exited = unknown = looked_up
        if looked_up.any():
            exited = looked_up & (self.thread_table.numbers("exit_ts", self.t_idx, no_exit) != no_exit)
            unknown = looked_up & (self.t_idx < 0)
        if unknown.any():
            seen_before = self.owner._seen_tids.contains(self.tid)
            creators = np.nonzero(~passive)[0]
            earlier = asof_indices([self.tid[creators]], 2 * creators, [self.tid], self.pos - 1) >= 0
            unknown &= ~seen_before & ~earlier
        creating = self.tid[~passive]
        run_start = np.ones(len(creating), dtype=bool)  # a thread's events come in runs: one tid per run
        run_start[1:] = creating[1:] != creating[:-1]
        self._new_tids = np.unique(creating[run_start])  # seen from the commit on
        return (self.tid == 0) | (skip & (self.type_id != PROCINFO_ID)) | unknown | exited

    def restricted(self, rows: np.ndarray) -> "_BatchView":
        """The same view over a subset of its rows, for field extraction only (state is not committed from it).

        Every per-row array is indexed by `rows`; version tables stay whole (rows keep their positions, so
        as-of lookups such as ancestors still see the state as of each event)."""
        view = object.__new__(_BatchView)
        view.__dict__.update(self.__dict__)
        take = pa.array(rows, type=pa.int64())
        for name, value in self.__dict__.items():
            if isinstance(value, np.ndarray) and value.shape[:1] == (self.n,):
                setattr(view, name, value[rows])
            elif isinstance(value, pa.Array) and len(value) == self.n:
                setattr(view, name, value.take(take))
        view.enter = self.enter.restricted(rows)
        view.ctx = EventContext(self.ctx.exits[rows], self.ctx.res[rows], self.ctx.pid[rows],
                                _cwd_reader(view.thread_table, view.t_idx),
                                self.ctx.fd_num[rows], view.enter)
        view.raw = self.raw.restricted(rows)
        view.n = len(rows)
        view._reset_memo()
        return view

    # --- joins ------------------------------------------------------------------------------------------
    def _match_enters(self) -> tuple[np.ndarray, dict[str, pa.Array]]:
        """For each exit row, the previous enter of its thread if it has the matching type (memo across batches)."""
        raw = self.raw
        # Scheduler switches and other events outside the parser's reset (EF_SKIPPARSERESET) do not break
        # the pairing of a syscall's enter and exit in libsinsp: they are not candidates.
        passive = SKIP_RESET[np.clip(self.type_id, 0, len(SKIP_RESET) - 1)] | raw.type_in(SWITCH_NAMES)
        enter_rows = np.nonzero(~self.exits & ~passive)[0]
        memo = self.owner._enter_memo or _NO_ENTERS
        n_memo = len(memo["tid"])
        if not len(enter_rows) and not n_memo:  # live capture: exits only, never an enter to pair with
            index = np.full(self.n, -1, dtype=np.int64)
            self.last_enter_fd = np.zeros(self.n, dtype=np.int64)  # libsinsp's value for a thread without one
            self._next_memo = self.owner._enter_memo
            return index, _EnterParams(memo["params"], _enter_columns(raw, self.first_fd), index)
        tids = np.concatenate([memo["tid"], self.tid[enter_rows]])
        types = np.concatenate([memo["type_id"], self.type_id[enter_rows]])
        pos = np.concatenate([np.full(n_memo, -1, dtype=np.int64), 2 * enter_rows])
        found = asof_indices([tids], pos, [self.tid], self.pos - 1)
        # Enter versions by "global" index: the memo's first, then this batch's rows (no copy of either).
        global_of = np.concatenate([np.arange(n_memo, dtype=np.int64), n_memo + enter_rows])
        found_global = np.where(found >= 0, global_of[np.maximum(found, 0)] if len(global_of) else 0, -1)
        # libsinsp's m_lastevent_fd: set by every enter (its fd, -1 when it names none), kept by a non-matching
        # exit, 0 for a thread with no enter yet (the value a new thread starts with).
        memo_fd = filled(memo["params"]["first_fd"], -1)
        last_fd = np.concatenate([memo_fd, np.where(self.first_fd == NO_FD, -1, self.first_fd)])
        self.last_enter_fd = np.where(found_global >= 0, last_fd[np.maximum(found_global, 0)], 0)
        ok = self.exits & (found >= 0)
        if len(types):
            ok &= np.where(found >= 0, types[np.maximum(found, 0)], -1) == self.type_id - 1
        index = np.where(ok, found_global, -1)
        params = _EnterParams(memo["params"], _enter_columns(self.raw, self.first_fd), index)
        if not len(enter_rows):  # no new enter (live capture has exits only): the memo stays as it is
            self._next_memo = self.owner._enter_memo
            return index, params
        last = latest_per_key([tids], pos)
        # A thread whose last enter is its procexit is gone: a thread that reuses its tid starts with no enter
        # (as in libsinsp), and the memo stays bounded by the living threads instead of every thread that ever
        # exited (live capture has no other enters: it stays empty).
        last = last[~np.isin(types[last], _PROCEXIT_IDS)]
        if not len(last):  # procexits only (live capture): the memo stays empty, no parameter gathered
            self._next_memo = None
            return index, params
        self._next_memo = {"tid": tids[last], "type_id": types[last],
                           "params": params.all_at(TwoPartIndex(global_of[last], n_memo))}
        return index, params

    def _first_param_fds(self) -> np.ndarray:
        """The first parameter of fd-using events (libsinsp: an fd-using event's fd is its first parameter)."""
        param = FIRST_PARAM[np.clip(self.type_id, 0, len(FIRST_PARAM) - 1)]
        result = np.full(self.n, NO_FD, dtype=np.int64)
        for index in np.flatnonzero(np.bincount(param + 1, minlength=len(_FIRST_PARAMS) + 1)[1:]):
            column = _param_column(self.raw, _FIRST_PARAMS[index])
            if column is None or not pa.types.is_integer(self.raw.arrow(column).type):
                continue
            rows = np.flatnonzero(param == index)
            result[rows] = self.raw.ints(column, default=NO_FD)[rows]
        return result

    def _fd_numbers(self) -> np.ndarray:
        """The fd each event refers to, NO_FD where none (see the module docstring)."""
        type_id = np.clip(self.type_id, 0, len(CREATES_FD) - 1)
        source = np.where(self.exits, EXIT_FD_SOURCE[type_id], ENTER_FD_SOURCE[type_id])
        result = np.full(self.n, NO_FD, dtype=np.int64)
        rows = np.flatnonzero(source == _FD_FIRST_PARAM)
        result[rows] = self.first_fd[rows]
        result[source == _FD_NOT_YET] = -1
        rows = np.flatnonzero(source == _FD_OWN_OR_ENTERED)
        if len(rows):
            own_fd = self.raw.ints("arg.fd", default=NO_FD)[rows]
            result[rows] = np.where(own_fd != NO_FD, own_fd, self.last_enter_fd[rows])
        rows = np.flatnonzero(source == _FD_CREATED)
        if len(rows):
            result[rows] = self._created_fds(rows)
        return result

    def _created_fds(self, rows: np.ndarray) -> np.ndarray:
        """The new fd of fd-creating exits: their own fd parameter, else the second of a pair (pipe and
        socketpair create two; libsinsp adds fd2 last), else the result; -1 for a failed call (not -errno)."""
        def param(name: str) -> np.ndarray:
            return self.raw.ints(name, default=NO_FD)[rows]

        pair_fd = param("arg.fd2")
        pair_fd = np.where(pair_fd != NO_FD, pair_fd, param("arg.fd1"))
        own_fd = param("arg.fd")
        new_fd = np.where(own_fd != NO_FD, own_fd, np.where(pair_fd != NO_FD, pair_fd,
                                                             np.where(self.res_valid[rows], self.res[rows], NO_FD)))
        return np.where((new_fd != NO_FD) & (new_fd < 0), -1, new_fd)

    def _fd_indices(self, numbers: np.ndarray | None = None) -> np.ndarray:
        """fd version per row of fd `numbers` (default: the event's fd) in its process's table (a new process's
        starts as a copy of its creator's: `stages.state.fds._inherited`); closed = none."""
        table = self.fd_table
        numbers = self.fd_num if numbers is None else numbers
        idx = np.full(self.n, -1, dtype=np.int64)
        rows = np.nonzero(numbers != NO_FD)[0]
        idx[rows] = table.lookup([self.pid[rows], numbers[rows]], self.pos[rows])
        return np.where(table.numbers("open", idx, False), idx, -1)

    def main_thread(self) -> np.ndarray:
        """Thread version of every row's main thread (the thread group leader; the thread itself for a leader),
        -1 where none: libsinsp reads a process's parent (proc.ppid) and ancestors (proc.a*) from it."""
        if self._main is None:
            others = np.flatnonzero((self.t_idx >= 0) & (self.pid != self.tid))
            self._main = self.t_idx
            if len(others):
                self._main = self.t_idx.copy()
                self._main[others] = self.thread_table.lookup([self.pid[others]], self.pos[others])
        return self._main

    def parent_thread(self) -> np.ndarray:
        """Thread version of the thread that made every row's thread (its `ptid`), -1 where none."""
        if self._parent is None:
            self._parent = self._parents_of(self.t_idx, np.arange(self.n))
        return self._parent

    def ancestor(self, level: int) -> np.ndarray:
        """Thread version of the process's ancestor `level` for every row (1 = the parent of its main thread,
        2 = that one's parent...), -1 where none."""
        while len(self._ancestors) < level:
            if self._ancestors:
                self._ancestors.append(self._parents_of(self._ancestors[-1], np.arange(self.n)))
                continue
            main = self.main_thread()
            parent = self.parent_thread()  # the same for the rows of main threads: shared
            others = np.flatnonzero(main != self.t_idx)
            if len(others):
                parent = parent.copy()
                parent[others] = self._parents_of(main[others], others)
            self._ancestors.append(parent)
        return self._ancestors[level - 1]

    def _parents_of(self, versions: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Version of the parent thread (`ptid`) of thread `versions` as of `rows`, -1 where none."""
        ptid = self.thread_table.numbers("ptid", versions, -1)
        parent = np.full(len(rows), -1, dtype=np.int64)
        ok = np.flatnonzero((versions >= 0) & (ptid > 0))
        parent[ok] = self.thread_table.lookup([ptid[ok]], self.pos[rows[ok]])
        return parent

    def cwd_at(self, rows: np.ndarray) -> pa.Array:
        """The cwd of these rows' threads as of each row (null where unknown)."""
        return _cwd_reader(self.thread_table, self.t_idx)(rows)

    def related(self, level: int) -> np.ndarray:
        """Thread versions of the rows (level 0), of the threads that made them (PARENT_THREAD) or of their
        process's ancestors (level >= 1)."""
        if level == 0:
            return self.t_idx
        return self.parent_thread() if level == PARENT_THREAD else self.ancestor(level)

    def commit(self) -> None:
        owner = self.owner
        now = int(self.raw.ints("evt.rawtime").max()) if self.n else 0
        ended = owner.threads.commit(self.thread_table, now)
        owner.fds.commit(self.fd_table, ended)
        if owner.track_containers:
            owner.unknown_containers = self._unknown_containers()
        owner.containers.end_batch()
        owner._enter_memo = self._next_memo
        owner._seen_tids.add(self._new_tids)

    def _unknown_containers(self) -> list[str]:
        """Container ids of the batch's new thread versions (an exec, a clone into new cgroups) whose metadata
        no container event or runtime lookup has given yet."""
        table = self.thread_table
        if not len(table.pending):
            return []
        ids = table.select(table.n_snap + np.arange(len(table.pending))).column("container_id")
        containers = self.owner.containers
        return [cid for cid in pc.unique(ids.drop_null()).to_pylist() if cid != HOST and not containers.knows(cid)]

    # --- fields -----------------------------------------------------------------------------------------
    def field(self, name: str) -> dict[str, pa.Array]:
        """Columns to add for the requested field (several for filter-only either-end fields)."""
        if name in ALTERNATIVE_COLUMNS:
            return {alt: self.value(alt) for alt in ALTERNATIVE_COLUMNS[name] if self.value(alt) is not None}
        value = self.value(name)
        return {} if value is None else {name: value}

    def value(self, name: str) -> pa.Array | None:
        """The column of field `name` for the view's rows, None when not extractable (computed once)."""
        if name not in self._values:
            self._values[name] = self._extract(name)
        return self._values[name]

    def _extract(self, name: str) -> pa.Array | None:
        if name.startswith("evt.arg.") or name.startswith("evt.arg["):
            return self.event_arg(name)
        if name.startswith("evt.rawarg."):
            return self.raw_arg(name[len("evt.rawarg."):])
        match = _ANCESTOR.match(name)
        if match:
            return self.ancestor_field(_ANCESTOR_SOURCE[match.group(1)], match.group(2))
        match = _CONTAINER_LABEL.match(name)
        if match:
            return _label(self, "labels_json", match.group(1) or match.group(2))
        match = _POD_LABEL.match(name)
        if match:
            return _label(self, "pod_labels_json", match.group(1) or match.group(2))
        match = _CONTAINER_MOUNT.match(name)
        if match:
            return _mount(self, match.group(1), match.group(2))
        extractor = _EXTRACTORS.get(name)
        return None if extractor is None else extractor(self)

    def thread_rows(self, level: int = 0) -> VersionRows:
        """The thread versions of the rows or of related threads (`related`): the fields read from them share
        their index arrays, and each is gathered once."""
        rows = self._rows.get(level)
        if rows is None:
            rows = self._rows[level] = self.thread_table.select(self.related(level))
        return rows

    def thread(self, column: str) -> pa.Array:
        return self.thread_rows().column(column)

    def thread_text(self, column: str, level: int = 0) -> pa.Array:
        """A string column of the thread (level 0) or a related one (`related`), dictionary-encoded for output.

        Events of a batch come from few threads: the distinct versions are gathered once and the rows
        point at them, instead of copying a string per row; the rules then test each distinct value once.
        """
        distinct = self._distinct.get(level)
        if distinct is None:
            distinct = self._distinct[level] = _DistinctVersions(self.thread_table, self.related(level))
        return distinct.text(column)

    def container_versions(self) -> np.ndarray:
        """The container metadata version of every row (-1: none), shared by the container.* fields."""
        if self._containers is None:
            self._containers = self.owner.containers.versions_at(self.value("container.id"), self.pos)
        return self._containers

    def fd(self, column: str) -> pa.Array:
        rows = self._rows.get("fd")
        if rows is None:
            rows = self._rows["fd"] = self.fd_table.select(self.f_idx)
        return rows.column(column)

    def fd_names(self) -> pa.DictionaryArray:
        """The fd `name` of every row dictionary-encoded once per view: fd.name, fd.directory and fd.filename
        share it, and the rules test each distinct name once (a batch's fds name few files)."""
        if self._fd_names is None:
            self._fd_names = self.fd("name").dictionary_encode()
        return self._fd_names

    def has_fd(self) -> np.ndarray:
        """Rows whose fd is in the table; a failed connect exit reads like an unknown fd (libsinsp)."""
        failed_connect = (self.type_id == _CONNECT_EXIT) & (self.res < 0)
        return (self.f_idx >= 0) & ~failed_connect

    def creator_name(self) -> pa.Array:
        """fd.name of an fd event without a known fd: what the call names (failed open: its path; failed
        accept/connect: its tuple), the empty string for other exits, null for enters (libsinsp). Only the
        rows `has_fd` leaves out are filled (the others read the fd table): usually none."""
        if self._creator_name is None:
            self._creator_name = self._creator_name_of(self.fd_event & ~self.has_fd())
        return self._creator_name

    def _creator_name_of(self, wanted: np.ndarray) -> pa.Array:
        if not wanted.any():
            return pa.nulls(self.n, type=pa.string())
        result = np.full(self.n, None, dtype=object)
        result[wanted & self.exits] = ""
        for type_id, param in _CREATOR_PARAM_NAME.items():
            rows = np.nonzero((self.type_id == type_id) & wanted)[0]
            column = f"arg.{param}"
            if len(rows) == 0 or not self.raw.has(column):
                continue
            values = self.raw.arrow(column).take(pa.array(rows, type=pa.int64())).to_pylist()
            if param == "tuple":
                # libsinsp renders an empty tuple parameter as "NULL", and that rendering is the name
                result[rows] = [_tuple_name(v) for v in values]
            else:
                take = pa.array(rows, type=pa.int64())
                names = self.raw.arrow(column).take(take).cast(pa.string())
                paths = resolve_paths(pc.if_else(pc.equal(names, ""), pa.scalar(None, pa.string()), names),
                                      lambda at, rows=rows: self.cwd_at(rows[at]))
                result[rows] = paths.fill_null("").to_pylist()
        rows = np.nonzero(np.isin(self.type_id, list(_OPENAT_EXITS)) & wanted)[0]
        if len(rows):
            take = pa.array(rows, type=pa.int64())
            result[rows] = resolve_paths(_param(self.raw, self.ctx, "arg.name", rows),
                                         lambda at: self.cwd_at(rows[at])).to_pylist()
        return pa.array(result.tolist(), type=pa.string())

    def ancestor_field(self, column: str, level_text: str | None) -> pa.Array:
        if level_text is not None:
            level = int(level_text)
            return self.thread_rows(level).column(column)
        levels = []
        for level in range(1, MAX_ANCESTORS + 1):
            found = self.ancestor(level)
            if not (found >= 0).any():
                break  # no row has an ancestor this far up: neither further up
            levels.append(found)
        if not levels:
            return pa.ListArray.from_arrays(pa.array(np.zeros(self.n + 1, dtype=np.int32)),
                                            self.thread_table.column(column, np.zeros(0, dtype=np.int64)))
        matrix = np.stack(levels, axis=1)
        present = np.logical_and.accumulate(matrix >= 0, axis=1)
        lengths = present.sum(axis=1)
        flat = matrix[present]
        values = self.thread_table.column(column, flat)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
        return pa.ListArray.from_arrays(pa.array(offsets), values)

    def event_arg(self, name: str) -> pa.Array:
        """`evt.arg.NAME` / `evt.arg[N]`: the parameter rendered as sysdig prints it."""
        if name.startswith("evt.arg["):
            index = int(name[len("evt.arg["):-1])
            result = pa.nulls(self.n, type=pa.string())
            type_ids = np.clip(self.type_id, 0, len(PARAM_NAMES) - 1)
            for type_id in np.unique(type_ids):
                params = PARAM_NAMES[type_id]
                if index >= len(params):
                    continue
                rendered = self.render_param(params[index])
                mask = pa.array(type_ids == type_id)
                result = pc.if_else(mask, rendered, result)
            return result
        return self.render_param(name[len("evt.arg."):])

    def _render_by_type(self, values: pa.Array, param: str, tables: Mapping[str, object],
                        render: Callable[[pa.Array, object], pa.Array]) -> pa.Array:
        """Symbolic text of an integer parameter through the table of each row's event type, vectorized (open
        flags are in rule conditions); other event types' rows as `_stateless_text` gives them."""
        raw = self.raw
        types = raw.types_present()
        present = [event for event in tables if event in types]
        masks = [raw.type_in((event,)) for event in present]
        if len(present) == 1 and masks[0].all():  # a batch of one such event type: no number rendered
            return render(values, tables[present[0]])
        result = _stateless_text(self.type_id, values, param)
        for event, mask in zip(present, masks):
            if mask.any():
                result = pc.if_else(pa.array(mask), render(values, tables[event]), result)
        return result

    def render_param(self, param: str) -> pa.Array:
        raw = self.raw
        column_name = _param_column(raw, param)
        if column_name is None:
            return pa.nulls(self.n, type=pa.string())
        values = raw.arrow(column_name)
        if pa.types.is_integer(values.type):
            enums = {event: table for (event, name), table in ENUM_TABLES.items() if name == param}
            if enums:
                return self._render_by_type(values, param, enums, render_enum_column)
            if param in ("flags",):
                return self._render_by_type(values, param, FLAGS_TABLE_BY_EVENT, render_flags_column)
            kinds = _param_types(self.type_id, param)
            text = _stateless_text(self.type_id, values, param)
            fd_rows = kinds == et.ParamType.FD
            if fd_rows.any():
                text = pc.if_else(pa.array(fd_rows), self.render_fd(values), text)
            errno_rows = (kinds == et.ParamType.ERRNO) | fd_rows
            if errno_rows.any():
                text = pc.if_else(pa.array(errno_rows), _errno_or_number(values, text), text)
            pid_rows = kinds == et.ParamType.PID
            if pid_rows.any():  # a living thread's pid prints as its command name
                names = pa.array(self.thread_names(np.where(pid_rows, filled(values, -1), -1)), type=pa.string())
                text = pc.if_else(pc.is_valid(names), names, text)
            return text
        if pa.types.is_list(values.type):
            return pc.binary_join(values, " ")
        if pa.types.is_binary(values.type) or pa.types.is_large_binary(values.type):
            kinds = _param_types(self.type_id, param)
            # Live exits carry some parameters that the schema gives only to the enter (sendto's tuple).
            return _binary_text(values, np.where(kinds == 0, _usual_param_type(param), kinds))
        text = values.cast(pa.string())
        path_rows = np.isin(_param_types(self.type_id, param), _PATH_TYPES)
        if path_rows.any():  # a relative path prints joined to the thread's working directory
            resolved = pa.array(self.relative_paths_resolved(text, path_rows), type=pa.string())
            text = pc.if_else(pc.is_valid(resolved), resolved, text)
        return text

    def relative_paths_resolved(self, names: pa.Array, rows: np.ndarray) -> list[str | None]:
        """Each of `rows`' relative path joined to its thread's working directory, as libsinsp resolves a path
        parameter (None for absolute or empty paths, other rows, and rows without a thread)."""
        out: list[str | None] = [None] * self.n
        relative = rows & ~np.asarray(self.no_thread, dtype=bool) & pc.fill_null(
            pc.invert(pc.or_(pc.starts_with(names, "/"), pc.equal(names, ""))), False).to_numpy(zero_copy_only=False)
        relative &= pc.fill_null(pc.not_equal(names, "<NA>"), False).to_numpy(zero_copy_only=False)
        wanted = np.flatnonzero(relative)
        if len(wanted) == 0:
            return out
        take = pa.array(wanted, type=pa.int64())
        cwds = self.thread("cwd").take(take).to_pylist()
        for row, name, cwd in zip(wanted.tolist(), names.take(take).to_pylist(), cwds):
            out[row] = pt.sanitized(resolve_path(name, None, cwd or "/"))
        return out

    def thread_names(self, pids: np.ndarray) -> list[str | None]:
        """The command name of the thread each row's pid names, as of the row's event (None where the table does
        not hold it or it has exited): how libsinsp resolves a pid parameter."""
        wanted = np.flatnonzero(pids > 0)
        out: list[str | None] = [None] * self.n
        if len(wanted) == 0:
            return out
        found = self.thread_table.lookup([pids[wanted]], self.pos[wanted])
        alive = self.thread_table.column("exit_ts", found).is_null().to_numpy(zero_copy_only=False)
        comms = self.thread_table.column("comm", np.where(alive, found, -1)).to_pylist()
        for row, comm in zip(wanted.tolist(), comms):
            out[row] = comm
        return out

    def render_fd(self, values: pa.Array) -> pa.Array:
        """An fd parameter as libsinsp resolves it: `<typechar[l4 char]>name` when the process has that fd
        (`<4t>1.2.3.4:5->6.7.8.9:80`, `<f>/etc/passwd`), else the number. The l4 char shows once the socket
        has an address (`<4>` right after socket())."""
        numbers = filled(values, NO_FD)
        idx = self._fd_indices(np.where(numbers >= 0, numbers, NO_FD))
        kinds = self.fd_table.column("type", idx)
        l4 = pc.fill_null(self.fd_table.column("l4proto", idx), "")
        l4_char = _L4_CHARS.take(pc.fill_null(pc.index_in(l4, value_set=_L4_NAMES), len(_L4_NAMES)))
        is_ip = pc.fill_null(pc.and_(pc.is_in(kinds, value_set=pa.array(["ipv4", "ipv6"])),
                                     self.fd_table.column("has_tuple", idx)), False)
        tag = pc.binary_join_element_wise(typechar_of(kinds), pc.if_else(is_ip, l4_char, ""), "")
        text = pc.binary_join_element_wise("<", tag, ">", self.fd_table.column("name", idx), "")
        return pc.if_else(pc.is_valid(text), text, pc.cast(values, pa.string()))

    def raw_arg(self, param: str) -> pa.Array | None:
        column_name = _param_column(self.raw, param)
        if column_name is None:
            return None
        values = self.raw.arrow(column_name)
        if pa.types.is_list(values.type):
            return pc.binary_join(values, " ")
        return values


class _DistinctVersions:
    """The distinct thread versions of a batch's rows (-1: none), for dictionary-encoded text columns: the
    distinct versions are one `VersionRows`, and the row -> distinct index array is shared by every column
    without nulls among them."""

    def __init__(self, table: BatchVersions, found: np.ndarray) -> None:
        self.valid = found >= 0
        distinct, self.position = np.unique(found[self.valid], return_inverse=True)
        self.versions = table.select(distinct)
        self.indices = np.zeros(len(found), dtype=np.int32)
        self.indices[self.valid] = self.position
        self._shared = nullable_column(self.indices, self.valid, pa.int32())

    def text(self, column: str) -> pa.Array:
        dictionary = self.versions.column(column)
        if not dictionary.null_count:
            return pa.DictionaryArray.from_arrays(self._shared, dictionary)
        valid = self.valid.copy()  # a version without that value: the row has no value either
        valid[valid] &= dictionary.is_valid().to_numpy(zero_copy_only=False)[self.position]
        return pa.DictionaryArray.from_arrays(nullable_column(self.indices, valid, pa.int32()), dictionary)


class SeenTids:
    """The tids seen so far in events that create threads (see `_BatchView._threadless`), as a bitmap over the
    tid space: adding a batch's tids costs what they number, whatever the sensor's age. (A sorted array of
    every tid seen since the start grew to pid_max — 4,194,304 where systemd sets it — and was copied whole,
    ~4 ms, at every batch that brought a new tid.) Tids outside [0, 2^22), which Linux never gives (a corrupt
    capture's), are kept apart."""

    SPAN = 1 << 22  # PID_MAX_LIMIT on 64-bit Linux

    def __init__(self) -> None:
        self.bits = np.zeros(0, dtype=bool)
        self.others = np.empty(0, dtype=np.int64)

    def add(self, tids: np.ndarray) -> None:
        inside = (tids >= 0) & (tids < self.SPAN)
        small = tids[inside]
        if len(small):
            top = int(small.max()) + 1
            if top > len(self.bits):  # grown by doubling, so a rising tid costs few copies
                grown = np.zeros(min(self.SPAN, max(top, 2 * len(self.bits))), dtype=bool)
                grown[:len(self.bits)] = self.bits
                self.bits = grown
            self.bits[small] = True
        if not inside.all():
            self.others = np.union1d(self.others, tids[~inside])

    def contains(self, tids: np.ndarray) -> np.ndarray:
        found = np.zeros(len(tids), dtype=bool)
        mapped = (tids >= 0) & (tids < len(self.bits))
        found[mapped] = self.bits[tids[mapped]]
        apart = (tids < 0) | (tids >= self.SPAN)
        if len(self.others) and apart.any():
            found[apart] = np.isin(tids[apart], self.others)
        return found


# The view's helpers below are closures over what they read, never bound methods of the view: a view that
# refers to itself through them would outlive its batch until the cyclic collector ran (a batch's worth of
# arrays held meanwhile, and the collector pausing mid-batch to walk them).

def _enter_columns(raw: RawBatch, first_fd: np.ndarray) -> Callable[[str], pa.Array]:
    """This batch's column of an enter parameter (every row; only enter rows are ever gathered)."""
    def column(name: str) -> pa.Array:
        kind = ENTER_PARAMS[name]
        if name == "first_fd":
            return pa.array(first_fd, mask=first_fd == NO_FD, type=kind)
        if raw.has(name):
            return raw.arrow(name, kind)
        return pa.nulls(raw.n, type=kind)
    return column


def _cwd_reader(threads: BatchVersions, t_idx: np.ndarray) -> Callable[[np.ndarray], pa.Array]:
    """The cwd of the given rows' threads as of each row (null where unknown)."""
    return lambda rows: threads.column("cwd", t_idx[rows])


class _EnterParams(Mapping):
    """Parameters of each row's matching enter event (null where none), gathered per parameter on first use
    from the enter memo of earlier batches followed by this batch's columns (global enter indices)."""

    def __init__(self, memo: dict[str, pa.Array], batch_column: Callable[[str], pa.Array], index: np.ndarray):
        self.memo = memo
        self.batch_column = batch_column
        self.index = index
        self._columns: dict[str, pa.Array] = {}
        self._batch: dict[str, pa.Array] = {}
        self._whole: dict[str, pa.Array | None] = {}
        self._rows = TwoPartIndex(index, len(memo["first_fd"]))
        self._any = bool((index >= 0).any())

    def values_at(self, name: str, indices: TwoPartIndex, *, every_row: bool = False) -> pa.Array:
        """The parameter of the enters at global `indices` (memo first, then this batch's rows). For an index
        of `every_row`, from the memo and batch columns joined once (`concatenated`); for a few rows (the
        memo's last enters, opens, sockets) from each part, which costs what those rows cost."""
        if name not in self._batch:
            self._batch[name] = self.batch_column(name)
        column = self._batch[name]
        if every_row and name not in self._whole:
            self._whole[name] = concatenated(self.memo[name], column)
        return indices.take(self.memo[name], column, self._whole.get(name) if every_row else None)

    def all_at(self, indices: TwoPartIndex) -> dict[str, pa.Array]:
        """Every parameter of the enters at `indices` (one index for all of them)."""
        return {name: self.values_at(name, indices) for name in ENTER_PARAMS}

    def at(self, name: str, rows: np.ndarray) -> pa.Array:
        """The parameter for the given rows only."""
        if not self._any:  # no row has an enter (live capture): nothing to gather
            return pa.nulls(len(rows), type=ENTER_PARAMS[name])
        if name in self._columns:
            return self._columns[name].take(pa.array(np.asarray(rows, dtype=np.int64), type=pa.int64()))
        return self.values_at(name, TwoPartIndex(self.index[rows], self._rows.split))

    def restricted(self, rows: np.ndarray) -> "_EnterParams":
        view = _EnterParams(self.memo, self.batch_column, self.index[rows])
        view._batch, view._whole = self._batch, self._whole
        return view

    def __getitem__(self, name: str) -> pa.Array:
        if name not in ENTER_PARAMS:
            raise KeyError(name)
        if name not in self._columns:
            self._columns[name] = (self.values_at(name, self._rows, every_row=True) if self._any else
                                   pa.nulls(len(self.index), type=ENTER_PARAMS[name]))
        return self._columns[name]

    def __contains__(self, name: object) -> bool:
        return name in ENTER_PARAMS

    def __iter__(self) -> Iterator[str]:
        return iter(ENTER_PARAMS)

    def __len__(self) -> int:
        return len(ENTER_PARAMS)


_L4_CHAR = {"tcp": "t", "udp": "u", "icmp": "i", "raw": "r"}
_L4_NAMES = pa.array(list(_L4_CHAR))
_L4_CHARS = pa.array(list(_L4_CHAR.values()) + [""])  # the last entry serves protocols not in the table


def _param_types(type_ids: np.ndarray, param: str) -> np.ndarray:
    """The schema type (`ParamType`) of parameter `param` for each row's event type; NONE where absent."""
    table = _PARAM_TYPE_TABLES.get(param)
    if table is None:
        table = np.zeros(len(PARAM_NAMES), dtype=np.int64)
        for type_id, info in et.EVENTS.items():
            for info_param in info.params:
                if info_param.name == param and type_id < len(table):
                    table[type_id] = int(info_param.type)
        _PARAM_TYPE_TABLES[param] = table
    return table[np.clip(type_ids, 0, len(table) - 1)]


_PARAM_TYPE_TABLES: dict[str, np.ndarray] = {}


@cache
def _usual_param_type(param: str) -> int:
    """The schema type most events give parameter `param` (0 when none has it)."""
    kinds = Counter(int(p.type) for info in et.EVENTS.values() for p in info.params if p.name == param)
    return kinds.most_common(1)[0][0] if kinds else 0


def _stateless_text(type_ids: np.ndarray, values: pa.Array, param: str) -> pa.Array:
    """An integer parameter as sysdig's `evt.arg` prints it where no state is needed (flag and enum names, hex
    and octal formats: `evt_args.value_text`), the number elsewhere; each distinct (event type, value) that is
    not a plain decimal number rendered once."""
    text = pc.cast(values, pa.string())
    type_ids = np.asarray(type_ids, dtype=np.int64)
    named = np.isin(type_ids, [t for t in np.unique(type_ids).tolist() if not prints_as_number(t, param)])
    named &= _param_types(type_ids, param) != et.ParamType.ERRNO  # errno names: `_errno_or_number`, vectorized
    rows = np.flatnonzero(named & ~np.asarray(pc.is_null(values), dtype=bool))
    if len(rows) == 0:
        return text
    numbers = filled(values, 0).astype(np.int64, copy=False)[rows]
    pairs, inverse = np.unique(np.stack([type_ids[rows], numbers]), axis=1, return_inverse=True)
    texts = [value_text(type_id, param, number) for type_id, number in pairs.T.tolist()]
    texts = [str(number) if text is None else text for text, number in zip(texts, pairs[1].tolist())]
    at = np.full(len(type_ids), -1, dtype=np.int64)
    at[rows] = inverse.reshape(-1)
    rendered = pa.array(texts, type=pa.string()).take(pa.array(at, mask=at < 0))
    return pc.if_else(pc.is_valid(rendered), rendered, text)


_PATH_TYPES = (int(et.ParamType.FSPATH), int(et.ParamType.FSRELPATH))
_ADDRESS_TEXT = {et.ParamType.SOCKADDR: pt.sockaddr_text, et.ParamType.SOCKTUPLE: pt.socktuple_text}


def _binary_text(values: pa.Array, kinds: np.ndarray) -> pa.Array:
    """A binary parameter as sysdig prints it: socket addresses and tuples as text (each distinct value
    rendered once), any other buffer with every byte that is not printable ASCII as a dot."""
    text = pt.buffer_column(values)
    for kind, render in _ADDRESS_TEXT.items():
        rows = kinds == kind
        if rows.any():
            encoded = values.dictionary_encode()
            names = pa.array([None if value is None else render(value) for value in encoded.dictionary.to_pylist()],
                             type=text.type)
            text = pc.if_else(pa.array(rows), names.take(encoded.indices), text)
    return text


def _buffer(v: _BatchView) -> pa.Array:
    """`evt.buffer`: the `data` parameter of the events whose `data` is a buffer (the exits of reads, writes,
    sends and receives: the first bytes the call moved), null for every other event."""
    if not v.raw.has("arg.data"):
        return pa.nulls(v.n, type=pa.binary())
    data = v.raw.arrow("arg.data")
    is_buffer = _param_types(v.type_id, "data") == et.ParamType.BYTEBUF
    return pc.if_else(pa.array(is_buffer), data, pa.scalar(None, data.type))
# Name of the errno -i at index i (null for 0 and unknown codes), built once rather than per batch.
_ERRNO_TEXT = pa.array([et.errno_name(code) for code in range(0, -600, -1)], type=pa.string())
_RES_TEXT = pa.array(["SUCCESS"] + _ERRNO_TEXT.to_pylist()[1:], type=pa.string())  # evt.res of -index


def _errno_or_number(values: pa.Array, text: pa.Array) -> pa.Array:
    """A negative errno-like value resolves to its name (`-2` -> `ENOENT`), as libsinsp's parameter text."""
    ints = values.cast(pa.int64())
    code = pc.negate(pc.min_element_wise(ints, 0))
    named = _ERRNO_TEXT.take(pc.if_else(pc.less(code, 600), code, 0))
    return pc.if_else(pc.fill_null(pc.and_(pc.less(ints, 0), pc.is_valid(named)), False), named, text)


def _param_column(raw: RawBatch, param: str) -> str | None:
    for candidate in (f"arg.{param}", f"arg.{param}.string", f"arg.{param}.int", f"arg.{param}.bytes",
                      f"arg.{param}.strlist"):
        if raw.has(candidate):
            return candidate
    return None


# --- extractors by field name -------------------------------------------------------------------------------

def _raw(name: str, kind: pa.DataType | None = None) -> Callable[[_BatchView], pa.Array]:
    return lambda v: v.raw.arrow(name, kind) if v.raw.has(name) else None


def _coded(name: str) -> Callable[[_BatchView], pa.Array]:
    """A text column as the batch stores it, dictionary-encoded by the decoders: the rules then test each
    distinct value once, and the workers split a batch by event type without encoding it again."""
    def extract(v: _BatchView) -> pa.Array | None:
        if not v.raw.has(name):
            return None
        column = v.raw.column(name)
        return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    return extract


def _res(v: _BatchView) -> pa.Array:
    """SUCCESS, or the errno's name (null for an unknown code); dictionary-encoded: a batch holds a few."""
    res = v.raw.ints("evt.rawres")
    code = np.where(res < 0, -res, 0)  # index into _RES_TEXT
    unknown = ~v.raw.valid("evt.rawres") | (code >= len(_RES_TEXT))
    return pa.DictionaryArray.from_arrays(pa.array(np.where(unknown, 0, code).astype(np.int32), mask=unknown),
                                          _RES_TEXT)


def _failed(v: _BatchView) -> pa.Array:
    return pc.fill_null(pc.less(v.raw.arrow("evt.rawres", pa.int64()), 0), False)


def _open_mode(bit: int) -> Callable[[_BatchView], pa.Array]:
    def extract(v: _BatchView) -> pa.Array:
        is_open = v.raw.type_in(OPEN_LIKE) & v.exits
        flags = v.raw.ints("arg.flags", default=0)
        entered = filled(v.enter["arg.flags"], 0)
        flags = np.where(v.raw.valid("arg.flags"), flags, entered)
        return pa.array(is_open & ((flags & bit) == bit))
    return extract


def _category(v: _BatchView) -> pa.Array:
    category = v.raw.arrow("evt.category", pa.string())
    kinds = v.fd("type")
    keys = pa.array(list(_IO_CATEGORY), type=pa.string())
    mapped = pa.array(list(_IO_CATEGORY.values()), type=pa.string()).take(pc.index_in(kinds, value_set=keys))
    io = pc.fill_null(pc.starts_with(category, "io_"), False)
    return pc.if_else(io, pc.fill_null(mapped, "unknown"), category)


def _known(v: _BatchView) -> np.ndarray:
    return v.t_idx >= 0


def _uid(v: _BatchView) -> pa.Array:
    uid = v.thread("uid").fill_null(UNKNOWN_UID).cast(pa.int64())
    uid = pc.if_else(pa.array(_known(v)), uid, UNKNOWN_UID).cast(pa.uint32())
    return pc.if_else(pa.array(v.no_thread), pa.scalar(None, pa.uint32()), uid)


def _user_part(part: int) -> Callable[[_BatchView], pa.Array]:
    return lambda v: v.owner.directory.user_column(v.thread("uid"), part)


def _loginuid(v: _BatchView) -> pa.Array:
    loginuid = v.thread("loginuid")
    return pc.if_else(pc.equal(loginuid, UNKNOWN_UID), -1, loginuid).cast(pa.int64())


def _pid(v: _BatchView) -> pa.Array:
    return pa.array(v.pid, mask=v.no_thread, type=pa.int64())


def _ppid(v: _BatchView) -> pa.Array:
    """The parent of the process: its main thread's `ptid` (a thread's own is the thread that made it); -1 when
    the main thread is unknown (libsinsp then makes an empty one)."""
    main = v.main_thread()
    ppid = pc.if_else(pa.array(main >= 0), v.thread_table.column("ptid", main), -1).cast(pa.int64())
    return pc.if_else(pa.array(v.no_thread), pa.scalar(None, pa.int64()), ppid)


# Thread columns holding text: given to the rules dictionary-encoded (see _BatchView.thread_text).
THREAD_TEXT_COLUMNS = {name: kind == pa.string() for name, kind in (THREAD_SCHEMA | DERIVED_SCHEMA).items()}


def _parent(column: str) -> Callable[[_BatchView], pa.Array]:
    if THREAD_TEXT_COLUMNS.get(column):
        return lambda v: v.thread_text(column, level=PARENT_THREAD)
    return lambda v: v.thread_rows(PARENT_THREAD).column(column)


def _sname(v: _BatchView) -> pa.Array:
    sid = v.thread_table.numbers("sid", v.t_idx, -1)
    idx = v.thread_table.lookup([sid], v.pos)
    return v.thread_table.column("comm", np.where(sid > 0, idx, -1))


def _container_id(v: _BatchView) -> pa.Array:
    """The thread's container id, `host` outside a container or for an unknown thread, null for a row without
    a thread; dictionary-encoded over the batch's distinct thread versions (as proc.name), so the rules and
    the gates test each distinct id once."""
    ids = v.thread_text("container_id")
    if not ids.null_count:
        return ids
    codes = filled(ids.indices, len(ids.dictionary))
    dictionary = pa.concat_arrays([ids.dictionary, pa.array([HOST], type=pa.string())])
    return pa.DictionaryArray.from_arrays(pa.array(codes, mask=v.no_thread, type=pa.int32()), dictionary)


def _from_container_json(v: _BatchView, column: str, pick: Callable[[object], object]) -> pa.Array:
    """`pick` of a JSON metadata column of the event's container (as text), once per distinct value."""
    def picked(texts: pa.Array) -> pa.Array:
        values = [pick(json.loads(text)) for text in texts.to_pylist()]
        return pa.array([None if value is None else str(value) for value in values], type=pa.string())

    return _per_distinct(v.owner.containers.column(column, v.container_versions()), picked)


def _label(v: _BatchView, column: str, key: str) -> pa.Array:
    """`container.label[KEY]` (`labels_json`), `k8s.pod.label[KEY]` (`pod_labels_json`): one label."""
    return _from_container_json(v, column, lambda labels: labels.get(key))


# `container.mount*[ARG]`: the mount's part each field gives ((source, dest, mode, rdwr, propagation) by index;
# None: the whole mount as `container.mounts` prints it).
_MOUNT_PART = {None: None, "source": 0, "dest": 1, "mode": 2, "rdwr": 3, "propagation": 4}


def _mount(v: _BatchView, part: str | None, arg: str) -> pa.Array:
    """`container.mount[ARG]`, `container.mount.source[ARG]`...: one mount of the event's container, chosen by
    index (ARG a number) or as the first whose path matches the glob ARG, as libsinsp chooses: by destination for
    `.source`, by source for the others. Null when none is."""
    by = 1 if part == "source" else 0

    def pick(mounts: list) -> str | None:
        if arg.isdigit():
            chosen = mounts[int(arg)] if int(arg) < len(mounts) else None
        else:
            chosen = next((m for m in mounts if fnmatch.fnmatchcase(m[by], arg)), None)
        if chosen is None:
            return None
        text = [str(value).lower() if isinstance(value, bool) else value for value in chosen]
        return ":".join(text) if _MOUNT_PART[part] is None else text[_MOUNT_PART[part]]

    return _from_container_json(v, "mounts_json", pick)


def _capabilities(column: str) -> Callable[[_BatchView], pa.Array]:
    """`thread.cap_*`: the thread's capability set as names (`stages.state.capabilities`), once per distinct set;
    null for a thread whose sets are unknown."""
    def names(sets: pa.Array) -> pa.Array:
        return pa.array([capabilities.names_of(bits) for bits in sets.to_pylist()], type=pa.string())

    return lambda v: _per_distinct(v.thread(column), names)


def _container_meta(name: str) -> Callable[[_BatchView], pa.Array]:
    def extract(v: _BatchView) -> pa.Array:
        ids = v.value("container.id")
        values = v.owner.containers.column(name, v.container_versions())
        if name in ("name", "type"):  # a host thread's container is named and typed `host`
            values = pc.if_else(pc.equal(ids, HOST), HOST, values)
        return values
    return extract


def _fd_num(v: _BatchView) -> pa.Array:
    """The thread's last-event fd: -1 for fd events that name none (an enter of an fd-creating call)."""
    number = np.where(v.fd_num == NO_FD, -1, v.fd_num)
    return pa.array(number, mask=~v.fd_event, type=pa.int64())


def _fd_typechar(v: _BatchView) -> pa.Array:
    known = v.f_idx >= 0
    if known.all():  # the usual candidate rows: every fd is in the table
        return typechar_of(v.fd("type"))
    codes = NULL_FD_TYPECHAR[np.clip(v.type_id, 0, len(NULL_FD_TYPECHAR) - 1)]
    guessed = NULL_FD_TYPECHAR_VALUES.take(pa.array(codes, mask=~v.fd_event))
    return pc.if_else(pa.array(known), typechar_of(v.fd("type")), guessed)


def _fd_name(v: _BatchView) -> pa.Array:
    has_fd = v.has_fd()
    if has_fd.all():  # the usual candidate rows: no unknown fd to name from the call
        return v.fd_names()
    return pc.if_else(pa.array(has_fd), v.fd("name"), v.creator_name()).dictionary_encode()  # the same type


_FD_MAKING_NAMES = OPEN_LIKE | {"socket", "accept", "accept4"} | frozenset(SIMPLE_TYPES)  # exits naming the new fd


def _fd_name_changed(v: _BatchView) -> pa.Array:
    """Whether the event changed its fd's name, as libsinsp tells: the name after the event differs from the
    name before it, an fd the event made having had none (an open, an accept; a socket is made nameless).
    Null for a row without a known fd."""
    after = v.f_idx
    rows = np.flatnonzero(after >= 0)
    table = v.fd_table
    before = np.full(v.n, -1, dtype=np.int64)
    if len(rows):
        before[rows] = table.lookup([v.pid[rows], v.fd_num[rows]], v.pos[rows] - 1)
        before = np.where(table.numbers("open", before, False), before, -1)
    # An fd the event made (its result) had no name before, even where its number still named an fd
    # (libsinsp makes a new fd entry for it).
    made = v.exits & (v.res >= 0) & v.raw.type_in(_FD_MAKING_NAMES)
    before = np.where(made, -1, before)
    old_name = pc.fill_null(table.select(before).column("name"), "")
    changed = pc.not_equal(pc.fill_null(v.fd("name"), ""), old_name)
    return pc.if_else(pa.array(after >= 0), changed, pa.scalar(None, pa.bool_()))


def _fd_nameraw(v: _BatchView) -> pa.Array:
    """The name as the program wrote it (`../x`); a failed open's own argument; else as fd.name."""
    has_fd = v.has_fd()
    known = v.fd("nameraw") if has_fd.all() else pc.if_else(pa.array(has_fd), v.fd("nameraw"),
                                                               pa.scalar(None, pa.string()))
    if not known.null_count:
        return known
    opened = pc.if_else(pa.array(v.raw.type_in(OPEN_LIKE) & v.exits), v.raw.arrow("arg.name", pa.string())
                        if v.raw.has("arg.name") else pa.nulls(v.n, pa.string()), pa.scalar(None, pa.string()))
    return pc.coalesce(known, opened, _plain(v.value("fd.name")))


def _per_distinct(values: pa.Array, transform: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """`transform(values)` computed once per distinct value (null stays null): the fd names of a batch repeat a
    lot and a regex costs per string, so this is several times faster on live batches (and ~25 % slower when
    every value differs)."""
    encoded = values if pa.types.is_dictionary(values.type) else values.dictionary_encode()
    return transform(encoded.dictionary).take(encoded.indices)


def _tuple_name(value: bytes | None) -> str:
    """fd.name from a call's tuple parameter when no fd holds it: "NULL" for an empty one, as sysdig prints."""
    if value is None:
        return ""
    decoded = decode_tuple(value)
    return decoded.name if decoded is not None else "NULL" if len(value) == 0 else ""


def _directory_of(path: pa.Array) -> pa.Array:
    """libsinsp's directory of a file path: up to the last '/', kept whole when it ends with '/', '/' when the
    only '/' is the first character or there is none. Once per distinct path, in Python: a batch names few
    files, and an Arrow regex kernel compiles its pattern on every call."""
    return _text_per_distinct(path, _directory_of_one)


_LAST_COMPONENT = re.compile(r"/[^/]+\Z")
_UP_TO_LAST_SLASH = re.compile(r"^.*/")
_HAS_PARENT = re.compile(r".+/")


def _text_per_distinct(values: pa.Array, transform: Callable[[str], str]) -> pa.Array:
    """`transform` of each distinct string in Python (null stays null)."""
    return _per_distinct(values, lambda distinct: _text_map(distinct, transform))


def _text_map(values: pa.Array, transform: Callable[[str], str]) -> pa.Array:
    """`transform` of each string in Python (null stays null): for values already distinct."""
    return pa.array([None if text is None else transform(text) for text in values.to_pylist()], type=pa.string())


def _directory_of_one(path: str) -> str:
    return _LAST_COMPONENT.sub("", path, count=1) if _HAS_PARENT.match(path) else "/"


def _fd_ip_field(column: str) -> Callable[[_BatchView], pa.Array]:
    return lambda v: v.fd(column)


def _fd_port(column: str) -> Callable[[_BatchView], pa.Array]:
    return lambda v: v.fd(column).cast(pa.uint16())


def _fd_cport(v: _BatchView) -> pa.Array:
    """The client port; 0 for a socket with a role but no client end (a bound or listening IP socket, a unix
    socket): libsinsp's extraction has no `break` there and reads an empty string as the port. None for a
    socket without a role."""
    cport = v.fd("cport").cast(pa.uint16())
    no_client = pc.and_(pc.is_valid(v.fd("role")), pc.is_null(v.fd("cip")))
    return pc.if_else(pc.fill_null(no_client, False), pa.scalar(0, pa.uint16()), cport)


def _fd_local_remote(local: bool, port: bool) -> Callable[[_BatchView], pa.Array]:
    def extract(v: _BatchView) -> pa.Array:
        server = v.fd("is_server")
        server_side, client_side = ("sport", "cport") if port else ("sip", "cip")
        mine, other = (server_side, client_side) if local else (client_side, server_side)
        values = pc.if_else(server, v.fd(mine), v.fd(other))
        return values.cast(pa.uint16()) if port else values
    return extract


def _address_name(address_field: str) -> Callable[[_BatchView], pa.Array]:
    """`fd.sip.name` and the like: the host name (among those the rules compare it with, resolved by
    `stages.dns`) that the event's address belongs to; null when none does."""
    def extract(v: _BatchView) -> pa.Array:
        table = v.owner.address_names

        def names(addresses: pa.Array) -> pa.Array:
            return pa.array([table.get(address) for address in addresses.to_pylist()], type=pa.string())

        return _per_distinct(_EXTRACTORS[address_field](v).cast(pa.string()), names)
    return extract


def _fd_l4proto(v: _BatchView) -> pa.Array:
    return pc.if_else(pc.fill_null(v.fd("has_tuple"), False), v.fd("l4proto"), pa.scalar(None, pa.string()))


def _fd_directory(v: _BatchView) -> pa.Array:
    """A directory fd's own name, a file's directory (once per distinct name), null for other fds; given to the
    rules dictionary-encoded over the fd names' dictionary followed by their directories."""
    names = v.fd_names()
    kind = v.fd("type")
    is_file = filled(pc.equal(kind, "file"), False)
    is_dir = filled(pc.equal(kind, "directory"), False)
    codes, named = _codes(names)
    dictionary = pa.concat_arrays([names.dictionary, _text_map(names.dictionary, _directory_of_one)])
    codes = np.where(is_file, codes + len(names.dictionary), codes)
    known = pa.DictionaryArray.from_arrays(pa.array(codes, mask=~((is_file | is_dir) & named), type=pa.int32()),
                                           dictionary)
    if (v.f_idx >= 0).all():
        return known
    creator = v.creator_name()
    if creator.null_count < len(creator):  # usually every row without a known fd is a non-fd event: all null
        creator = _directory_of(creator)
    return pc.if_else(pa.array(v.f_idx >= 0), _plain(known), creator).dictionary_encode()  # the same type


def _fd_filename(v: _BatchView) -> pa.Array:
    """A file fd's last path component (once per distinct name, dictionary-encoded), null for other fds."""
    names = v.fd_names()
    is_file = filled(pc.equal(v.fd("type"), "file"), False)
    base = _text_map(names.dictionary, lambda name: _UP_TO_LAST_SLASH.sub("", name, count=1))
    codes, named = _codes(names)
    return pa.DictionaryArray.from_arrays(pa.array(codes, mask=~(is_file & named), type=pa.int32()), base)


def _codes(values: pa.DictionaryArray) -> tuple[np.ndarray, np.ndarray]:
    """(dictionary index of every row, 0 where null; whether the row has a value) as numpy."""
    indices = values.indices
    if not indices.null_count:
        return indices.to_numpy(zero_copy_only=False).astype(np.int64), np.ones(len(indices), dtype=bool)
    return (filled(indices, 0).astype(np.int64),
            indices.is_valid().to_numpy(zero_copy_only=False))


def _plain(values: pa.Array) -> pa.Array:
    """A text column without its dictionary encoding, for kernels that need one type on every side."""
    return values.dictionary_decode() if pa.types.is_dictionary(values.type) else values


def _fd_sockfamily(v: _BatchView) -> pa.Array:
    kind = v.fd("type")
    ip = pc.fill_null(pc.is_in(kind, value_set=pa.array(["ipv4", "ipv6"])), False)
    unix = pc.fill_null(pc.equal(kind, "unix"), False)
    return pc.if_else(ip, "ip", pc.if_else(unix, "unix", pa.scalar(None, pa.string())))


def _since(later: pa.Array, earlier: pa.Array) -> pa.Array:
    """`later - earlier` in ns (uint64), null where either is unknown or the difference is negative."""
    gap = pc.subtract(later, earlier)
    return pc.if_else(pc.less(gap, 0), pa.scalar(None, pa.int64()), gap).cast(pa.uint64(), safe=False)


def _in_container(v: _BatchView, values: pa.Array) -> pa.Array:
    """`values` for the rows of threads in a container, null for the host's (container.* of a host thread)."""
    return pc.if_else(pc.equal(_container_id(v), HOST), pa.scalar(None, values.type), values)


def _duration(v: _BatchView) -> pa.Array:
    now = v.raw.arrow("evt.rawtime", pa.int64())
    return pc.subtract(now, v.thread("start_ts")).cast(pa.uint64(), safe=False)


_EXTRACTORS: dict[str, Callable[[_BatchView], pa.Array | None]] = {
    "evt.num": _raw("evt.num"), "evt.rawtime": _raw("evt.rawtime"), "evt.cpu": _raw("evt.cpu"),
    "evt.type": _coded("evt.type"), "evt.dir": _coded("evt.dir"), "evt.category": _category,
    "evt.rawres": _raw("evt.rawres", pa.int64()), "evt.res": _res, "evt.failed": _failed,
    "evt.args": args_column, "evt.info": args_column, "evt.buflen": buflen_column,
    "evt.buffer": _buffer,
    "evt.is_open_read": _open_mode(PPM_O_RDONLY), "evt.is_open_write": _open_mode(PPM_O_WRONLY),
    "evt.source": lambda v: pa.array(["syscall"] * v.n, type=pa.string()),
    "evt.count": lambda v: pa.array(np.ones(v.n, dtype=np.uint32)),
    "evt.rawtime.s": lambda v: pc.divide(v.raw.arrow("evt.rawtime", pa.uint64()), 1_000_000_000),
    "syscall.type": lambda v: pc.if_else(pc.fill_null(pc.equal(v.raw.arrow("evt.category", pa.string()),
                                                                "internal"), False),
                                         pa.scalar(None, pa.string()), v.raw.arrow("evt.type", pa.string())),
    "proc.name": lambda v: v.thread_text("comm"), "proc.exe": lambda v: v.thread_text("exe"),
    "proc.exepath": lambda v: v.thread_text("exepath"), "proc.args": lambda v: v.thread_text("args_text"),
    "proc.cmdline": lambda v: v.thread_text("cmdline"), "proc.exeline": lambda v: v.thread_text("exeline"),
    "proc.cwd": lambda v: v.thread_text("cwd"), "proc.pid": _pid, "proc.ppid": _ppid,
    "proc.sid": lambda v: v.thread("sid"), "proc.vpid": lambda v: v.thread("vpid"),
    "proc.vpgid": lambda v: v.thread("vpgid"),
    "proc.tty": lambda v: v.thread("tty").cast(pa.uint32()), "proc.sname": _sname,
    "proc.env": lambda v: pc.binary_join(v.thread("env"), " "),
    "proc.cmdnargs": lambda v: pc.list_value_length(v.thread("args")).cast(pa.uint64()),
    "proc.is_exe_upper_layer": lambda v: v.thread("exe_upper_layer"),
    "proc.is_exe_from_memfd": lambda v: v.thread("exe_from_memfd"),
    "proc.is_exe_writable": lambda v: v.thread("exe_writable"),
    "proc.pid.ts": lambda v: v.thread("start_ts").cast(pa.uint64(), safe=False),
    "proc.duration": _duration,
    "proc.exe_ino": lambda v: v.thread("exe_ino"),
    "proc.exe_ino.ctime": lambda v: v.thread("exe_ino_ctime").cast(pa.uint64(), safe=False),
    "proc.exe_ino.mtime": lambda v: v.thread("exe_ino_mtime").cast(pa.uint64(), safe=False),
    "proc.exe_ino.ctime_duration_proc_start": lambda v: _since(v.thread("start_ts"), v.thread("exe_ino_ctime")),
    "proc.exe_ino.ctime_duration_pidns_start": lambda v: _since(v.thread("pidns_init_start_ts"),
                                                                v.thread("exe_ino_ctime")),
    "proc.pidns_init_start_ts": lambda v: v.thread("pidns_init_start_ts").cast(pa.uint64(), safe=False),
    "container.start_ts": lambda v: _in_container(v, v.thread("pidns_init_start_ts")).cast(pa.uint64(), safe=False),
    "container.duration": lambda v: _since(v.raw.arrow("evt.rawtime", pa.int64()),
                                           _in_container(v, v.thread("pidns_init_start_ts"))),
    "proc.pvpid": _parent("vpid"),
    "thread.tid": _raw("thread.tid", pa.int64()), "thread.vtid": lambda v: v.thread("vtid"),
    "thread.ismain": lambda v: pc.equal(pa.array(v.pid), pa.array(v.tid)),
    "thread.cgroups": lambda v: pc.binary_join(v.thread("cgroups"), " "),
    "thread.cap_permitted": _capabilities("cap_permitted"), "thread.cap_inheritable": _capabilities("cap_inheritable"),
    "thread.cap_effective": _capabilities("cap_effective"),
    "user.uid": _uid, "user.name": _user_part(0), "user.homedir": _user_part(1), "user.shell": _user_part(2),
    "user.loginuid": _loginuid,
    "user.loginname": lambda v: v.owner.directory.user_column(v.thread("loginuid"), 0),
    "group.gid": lambda v: v.thread("gid").cast(pa.uint32()),
    "group.name": lambda v: v.owner.directory.group_column(v.thread("gid")),
    "container.id": _container_id,
    "container.name": _container_meta("name"), "container.image": _container_meta("image"),
    "container.image.id": _container_meta("image_id"),
    "container.image.repository": _container_meta("image_repository"),
    "container.image.tag": _container_meta("image_tag"), "container.image.digest": _container_meta("image_digest"),
    "container.type": _container_meta("type"), "container.privileged": _container_meta("privileged"),
    "container.full_id": _container_meta("full_id"), "container.ip": _container_meta("ip"),
    "container.labels": _container_meta("labels"), "container.mounts": _container_meta("mounts"),
    "container.cni.json": _container_meta("cni_json"), "container.host_pid": _container_meta("host_pid"),
    "container.host_network": _container_meta("host_network"), "container.host_ipc": _container_meta("host_ipc"),
    "k8s.pod.labels": _container_meta("pod_labels"), "k8s.pod.ip": _container_meta("pod_ip"),
    "k8s.pod.cni.json": _container_meta("cni_json"),
    "k8s.pod.name": _container_meta("pod_name"), "k8s.ns.name": _container_meta("pod_namespace"),
    "k8s.pod.uid": _container_meta("pod_uid"), "k8s.pod.id": _container_meta("pod_uid"),
    "k8s.pod.full_sandbox_id": _container_meta("pod_sandbox_id"),
    "k8s.pod.sandbox_id": lambda v: pc.utf8_slice_codeunits(_container_meta("pod_sandbox_id")(v), 0, 12),
    "fd.num": _fd_num, "fd.type": lambda v: v.fd("type"), "fd.typechar": _fd_typechar,
    "fd.name": _fd_name, "fd.nameraw": _fd_nameraw, "fd.name_changed": _fd_name_changed,
    "fd.directory": _fd_directory, "fd.filename": _fd_filename,
    "fd.l4proto": _fd_l4proto, "fd.sockfamily": _fd_sockfamily,
    "fd.cip": _fd_ip_field("cip"), "fd.sip": _fd_ip_field("sip"),
    "fd.cport": _fd_cport, "fd.sport": _fd_port("sport"),
    "fd.lip": _fd_local_remote(True, False), "fd.rip": _fd_local_remote(False, False),
    "fd.lport": _fd_local_remote(True, True), "fd.rport": _fd_local_remote(False, True),
    **{name: _address_name(address) for name, address in (("fd.cip.name", "fd.cip"), ("fd.sip.name", "fd.sip"),
                                                            ("fd.lip.name", "fd.lip"), ("fd.rip.name", "fd.rip"))},
    "fd.is_server": lambda v: v.fd("is_server"),
    "fd.connected": lambda v: pc.and_(v.fd("has_tuple"), pc.invert(v.fd("is_server"))),
    "fd.ino": lambda v: v.fd("ino"),
    "fd.uid": lambda v: pc.binary_join_element_wise(pc.cast(_fd_num(v), pa.string()),
                                                    pc.cast(v.raw.arrow("thread.tid", pa.int64()), pa.string()), ""),
}
for _name, _column in _PARENT_FIELDS.items():
    _EXTRACTORS[_name] = _parent(_column)
_EXTRACTORS["proc.ppid.duration"] = lambda v: pc.subtract(v.raw.arrow("evt.rawtime", pa.int64()),
                                                          _parent("start_ts")(v)).cast(pa.uint64(), safe=False)

SUPPORTED_FIELDS = frozenset(_EXTRACTORS) | {"evt.arg", "evt.rawarg", "proc.aname", "proc.aexe", "proc.aexepath",
                                             "proc.acmdline", "proc.apid", "proc.aargs", "proc.aenv"}
__all__ = ["Enricher", "SUPPORTED_FIELDS", "VersionTable"]
