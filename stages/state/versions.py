"""Append-only version tables: rows of state (a thread, an fd) with a key, a position and field columns.

A batch's table (`BatchVersions`) is the snapshot carried over from earlier batches (one version per key, at
position -1) followed by the versions the batch's state-changing events create. New versions set some fields
and inherit the others from a `base` version (the previous version of the same key, or the parent thread
for a new child). A lookup searches the new versions (an as-of join over few rows) before the snapshot (a
binary search in a key index built once per snapshot).

Gathers cost Arrow calls, not rows: a live batch reads some 70 fields for a few dozen rows, so the cost
per field is what counts. An inherited field is never copied into the new versions: pointer jumping over
the new versions finds the version holding each one's value (`BatchVersions.holders`, once per pattern of
set fields) and a gather reads from there. The rows a caller reads several fields of (`VersionRows`) share
their index arrays, built once (`TwoPartIndex`). A large snapshot is not copied per batch: a gather takes
from it and from the new versions apart; a small snapshot column is concatenated with the new versions'
once per batch, so that a gather is a single take (`concatenated`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from kernel.scap.decode import filled, nullable_column

from stages.state.asof import NO_VERSION, asof_indices, latest_per_key

_FD_BIAS = 1 << 31  # second key component of a composite key index, made non-negative
# A snapshot of at least APPEND_MIN_BYTES is appended to rather than copied per batch, until its dead rows pass
# MAX_DEAD_SHARE of it or its columns MAX_CHUNKS chunks; then it is compacted (copied once). Below that size a
# copy costs less than what chunked columns add to the batch's gathers (a table of 6,000 fds, ~0.5 MB: copied
# 8.5 ms a batch, appended 9.0 ms; 10,000 processes with their env and cgroups, ~30 MB: 39 against 30 ms).
APPEND_MIN_BYTES = 8 << 20
MAX_DEAD_SHARE = 0.25
MAX_CHUNKS = 16
WHOLE_COLUMN_BYTES = 1 << 16  # see BatchVersions.whole


def nullable_indices(indices: np.ndarray) -> pa.Array:
    """An Arrow index array where -1 becomes null, so `take` yields null for "no version"."""
    indices = np.asarray(indices, dtype=np.int64)
    return nullable_column(indices, indices >= 0)


def gather(values: pa.Array | pa.ChunkedArray, indices: np.ndarray) -> pa.Array:
    """`values[indices]`, null where the index is -1."""
    return _take(values, nullable_indices(indices))


def concatenated(first: pa.Array, second: pa.Array) -> pa.Array | None:
    """`concat(first, second)` when `first` is small enough that copying it costs less than the two extra
    Arrow calls a gather from both parts takes (`TwoPartIndex`): a few thousand rows of numbers or short text
    are copied in microseconds; None otherwise (a large snapshot is never copied per batch)."""
    if not len(second):  # a batch without new versions: the snapshot's column as it is
        return first
    if isinstance(first, pa.ChunkedArray) or first.get_total_buffer_size() > WHOLE_COLUMN_BYTES:
        return None
    return pa.concat_arrays([first, second])


class TwoPartIndex:
    """Indices into `concat(first, second)` (null where -1), for gathering many columns of two-part tables
    (snapshot and pending versions, the enter memo and a batch) at the same rows. The Arrow index arrays are
    made once, on first use: one over the concatenation when the caller has it (`concatenated`), else a take
    from each part and the placement that interleaves the two results back, so the cost follows
    len(indices), not the parts."""

    def __init__(self, indices: np.ndarray, split: int) -> None:
        self.indices = np.asarray(indices, dtype=np.int64)
        self.split = split
        self._whole: pa.Array | None = None
        self._parts: tuple[pa.Array | None, pa.Array | None, pa.Array | None] | None = None
        self._plans: dict[tuple[int, ...], _ChunkPlan] = {}  # by the first part's chunk lengths

    def take(self, first: pa.Array, second: pa.Array, whole: pa.Array | None = None) -> pa.Array:
        """`concat(first, second)[indices]`; `whole` is that concatenation when the caller has it."""
        if whole is not None:
            if self._whole is None:
                self._whole = nullable_indices(self.indices)
            return _take(whole, self._whole)
        if self._parts is None:
            self._parts = self._split()
        from_first, from_second, placement = self._parts
        if placement is None:
            return self._from_first(first, from_first) if from_second is None else _take(second, from_second)
        return pa.concat_arrays([self._from_first(first, from_first), _take(second, from_second)]).take(placement)

    def _from_first(self, first: pa.Array | pa.ChunkedArray, indices: pa.Array) -> pa.Array:
        """`_take` from the first part; from a chunked one by a plan shared by the columns of its chunking."""
        lengths = _chunk_lengths(first)
        if lengths is None or len(first) == 0:
            return _take(first, indices)
        plan = self._plans.get(lengths)
        if plan is None:
            plan = self._plans[lengths] = _ChunkPlan(filled(indices, -1), lengths)
        return plan.take(first)

    def _split(self) -> tuple[pa.Array | None, pa.Array | None, pa.Array | None]:
        """(indices into first, indices into second, placement), None for what the rows do not need."""
        indices, split = self.indices, self.split
        in_second = indices >= split
        if not in_second.any():
            return nullable_indices(indices), None, None
        if not ((indices >= 0) & ~in_second).any():
            return None, nullable_indices(np.where(in_second, indices - split, NO_VERSION)), None
        from_second = np.nonzero(in_second)[0]
        from_first = np.nonzero(~in_second)[0]
        placement = np.empty(len(indices), dtype=np.int64)
        placement[np.concatenate([from_first, from_second])] = np.arange(len(indices), dtype=np.int64)
        return (nullable_indices(indices[from_first]), nullable_indices(indices[from_second] - split),
                pa.array(placement, type=pa.int64()))


def _take(values: pa.Array | pa.ChunkedArray, indices: pa.Array) -> pa.Array:
    """`values.take(indices)`, all null when `values` is empty (only null indices can point into it then); a
    snapshot's chunked column gives one array."""
    if len(values) == 0:
        return pa.nulls(len(indices), type=values.type)
    if _chunk_lengths(values) is not None:
        return _take_from_chunks(values, indices)
    taken = values.take(indices)
    return taken.combine_chunks() if isinstance(taken, pa.ChunkedArray) else taken


def _take_from_chunks(values: pa.ChunkedArray, indices: pa.Array) -> pa.Array:
    """`_take` from a column of several chunks (an appended snapshot's)."""
    return _ChunkPlan(filled(indices, -1), _chunk_lengths(values)).take(values)


def _chunk_lengths(values: pa.Array | pa.ChunkedArray) -> tuple[int, ...] | None:
    """The chunks' lengths of a column `_ChunkPlan` serves (several chunks, not dictionary-encoded), else None."""
    if isinstance(values, pa.ChunkedArray) and values.num_chunks > 1 and not pa.types.is_dictionary(values.type):
        return tuple(len(chunk) for chunk in values.chunks)
    return None


class _ChunkPlan:
    """Gathering rows from a chunked column chunk by chunk: each chunk gives the rows it holds, then they are
    put in place. Arrow's take joins every chunk into one array first, copying the whole column to gather a few
    rows (~12x the take itself for a 40,000-row column of lists). The plan depends only on the chunks' lengths,
    which all columns of an appended snapshot share, so it is made once for all of them."""

    def __init__(self, wanted: np.ndarray, lengths: tuple[int, ...]) -> None:
        bounds = np.cumsum((0,) + lengths)
        chunk_of = np.searchsorted(bounds, wanted, side="right") - 1  # -1 for a null index
        touched = np.unique(chunk_of[chunk_of >= 0]).tolist()
        self.nulls, self.placement = 0, None
        if len(touched) <= 1:  # nulls and rows of one chunk: a single take
            chunk = touched[0] if touched else 0
            self.parts = [(chunk, nullable_indices(np.where(wanted >= 0, wanted - bounds[chunk], -1)))]
            return
        self.parts, rows = [], []
        for chunk in touched:
            at = np.flatnonzero(chunk_of == chunk)
            self.parts.append((chunk, pa.array(wanted[at] - bounds[chunk])))
            rows.append(at)
        nulls = np.flatnonzero(chunk_of < 0)
        self.nulls = len(nulls)
        order = np.concatenate(rows + [nulls])
        if not (order[1:] > order[:-1]).all():  # ascending indices (a compaction) need no placement
            placement = np.empty(len(wanted), dtype=np.int64)
            placement[order] = np.arange(len(wanted), dtype=np.int64)
            self.placement = pa.array(placement)

    def take(self, values: pa.ChunkedArray) -> pa.Array:
        taken = [values.chunk(chunk).take(indices) for chunk, indices in self.parts]
        if len(taken) == 1:
            return taken[0]
        if self.nulls:
            taken.append(pa.nulls(self.nulls, type=values.type))
        joined = pa.concat_arrays(taken)
        return joined if self.placement is None else joined.take(self.placement)


@dataclass
class VersionTable:
    """Materialized versions: key arrays, positions and one Arrow column per field (all the same length).

    A large snapshot is not copied per batch (`BatchVersions.snapshot_after`): the versions a batch replaces
    or prunes stay in place as `dead` rows, which no lookup finds, and the batch's new versions are appended
    as one more chunk of every column; `compacted()` drops the dead rows and joins the chunks, which happens
    once they are a good part of the table."""

    keys: list[np.ndarray]
    pos: np.ndarray
    columns: dict[str, pa.Array | pa.ChunkedArray] = field(default_factory=dict)
    dead: np.ndarray | None = None  # rows that are no longer versions (None: none)
    _index: tuple[np.ndarray, np.ndarray, bool] | None = field(default=None, init=False, repr=False,
                                                                compare=False)
    _nbytes: int | None = field(default=None, init=False, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.pos)

    @property
    def nbytes(self) -> int:
        """Bytes held by the columns' buffers (computed once)."""
        if self._nbytes is None:
            self._nbytes = sum(chunk.get_total_buffer_size() for column in self.columns.values()
                               for chunk in (column.chunks if isinstance(column, pa.ChunkedArray) else [column]))
        return self._nbytes

    @property
    def live(self) -> int:
        """Versions that lookups can find (the rows less the dead ones)."""
        return len(self.pos) - (0 if self.dead is None else int(self.dead.sum()))

    def compacted(self) -> "VersionTable":
        """The same versions without dead rows, every column one array."""
        if self.dead is None and not any(isinstance(c, pa.ChunkedArray) for c in self.columns.values()):
            return self
        rows = np.arange(len(self.pos)) if self.dead is None else np.flatnonzero(~self.dead)
        return self.take(rows)

    def lookup(self, query_keys: Sequence[np.ndarray], query_pos: np.ndarray) -> np.ndarray:
        """As-of join: the version current for each (key, position), -1 if none."""
        found = self.find(query_keys, query_pos)
        if found is not None:
            return found
        return asof_indices(self.keys, self.pos, query_keys, query_pos)

    def find(self, query_keys: Sequence[np.ndarray], query_pos: np.ndarray) -> np.ndarray | None:
        """The as-of join by binary search in a key index built once, for tables whose versions all share one
        position (snapshots); None when the table does not qualify (then `lookup` joins)."""
        if len(self.pos) == 0:
            return np.full(len(query_pos), NO_VERSION, dtype=np.int64)
        index = self._key_index()
        if index is None:
            return None
        sorted_keys, order, _ = index
        wanted = _packed_key(query_keys, strict=False)
        slot = np.searchsorted(sorted_keys, wanted, side="right") - 1  # the last appended among equal keys
        safe = np.maximum(slot, 0)
        hit = (slot >= 0) & (sorted_keys[safe] == wanted) & (np.asarray(query_pos) >= self.pos[0])
        if len(query_keys) == 2:
            hit &= _packable(query_keys)
        return np.where(hit, order[safe], NO_VERSION)

    def _key_index(self) -> tuple[np.ndarray, np.ndarray, bool] | None:
        """(sorted packed keys, their row order, keys unique) of the live rows, built on first use; None when
        not applicable."""
        if self._index is None:
            rows = None if self.dead is None else np.flatnonzero(~self.dead)
            keys = self.keys if rows is None else [k[rows] for k in self.keys]
            packed = _packed_key(keys)
            if packed is None or len(self.pos) == 0 or self.pos.min() != self.pos.max():
                return None
            order = np.argsort(packed, kind="stable")
            sorted_keys = packed[order]
            self._index = (sorted_keys, order if rows is None else rows[order],
                           bool((sorted_keys[1:] != sorted_keys[:-1]).all()))
        return self._index

    def second_keys_of_each(self, firsts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The live versions whose first key is one of `firsts` (the fds of some processes), as pairs: the
        index in `firsts` of each one's first key, and its second key; grouped by that index, in order."""
        firsts = np.asarray(firsts, dtype=np.int64)
        index = self._key_index()
        if index is not None and len(self.keys) == 2:
            sorted_keys, _, _ = index
            lo = np.searchsorted(sorted_keys, firsts << 32)
            hi = np.searchsorted(sorted_keys, (firsts + 1) << 32)
            which, at = ranges(lo, hi)
            return which, (sorted_keys[at] & 0xFFFFFFFF) - _FD_BIAS
        live = np.isin(self.keys[0], firsts)
        if self.dead is not None:
            live &= ~self.dead
        rows = np.flatnonzero(live)
        order = np.argsort(firsts, kind="stable")
        ordered = firsts[order]
        row_of, at = ranges(np.searchsorted(ordered, self.keys[0][rows], side="left"),
                            np.searchsorted(ordered, self.keys[0][rows], side="right"))
        which = order[at]  # every query equal to a row's first key gets the row
        keep = np.argsort(which, kind="stable")
        return which[keep], self.keys[1][rows[row_of]][keep]

    def has_unique_keys(self) -> bool:
        """One version per key at one position (what `snapshot` makes), so `find` is exact and complete."""
        if len(self.pos) == 0:
            return True
        index = self._key_index()
        return index is not None and index[2]

    def column(self, name: str, indices: np.ndarray) -> pa.Array:
        return gather(self.columns[name], indices)

    def take(self, indices: np.ndarray) -> "VersionTable":
        idx = pa.array(np.asarray(indices, dtype=np.int64), type=pa.int64())
        return VersionTable([k[indices] for k in self.keys], self.pos[indices],
                            {name: _take(col, idx) for name, col in self.columns.items()})


def ranges(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every `i, j` with lo[i] <= j < hi[i], as two arrays (i ascending, then j): the rows a set of ranges covers."""
    counts = np.maximum(hi - lo, 0)
    which = np.repeat(np.arange(len(lo)), counts)
    starts = np.cumsum(counts) - counts
    return which, np.arange(len(which)) - starts[which] + lo[which]


def _merged_index(old: tuple[np.ndarray, np.ndarray, bool] | None, dead: np.ndarray, new_keys: Sequence[np.ndarray],
                  first_new_row: int) -> tuple[np.ndarray, np.ndarray, bool] | None:
    """The key index of an appended snapshot from its predecessor's: its dead rows left out and the appended
    rows' keys inserted in order, instead of sorting every key again (None: built from scratch when used)."""
    packed = _packed_key(new_keys)
    if old is None or packed is None:
        return None
    sorted_keys, order, _ = old
    alive = ~dead[order]
    sorted_keys, order = sorted_keys[alive], order[alive]
    by_key = np.argsort(packed, kind="stable")
    at = np.searchsorted(sorted_keys, packed[by_key], side="right")
    sorted_keys = np.insert(sorted_keys, at, packed[by_key])
    order = np.insert(order, at, first_new_row + by_key)
    return sorted_keys, order, bool((sorted_keys[1:] != sorted_keys[:-1]).all())


def _packable(keys: Sequence[np.ndarray]) -> np.ndarray:
    """Composite (pid, fd) keys that `_packed_key` represents exactly."""
    first, second = (np.asarray(k, dtype=np.int64) for k in keys)
    return (first >= 0) & (first < _FD_BIAS) & (second >= -_FD_BIAS) & (second < _FD_BIAS)


def _packed_key(keys: Sequence[np.ndarray], *, strict: bool = True) -> np.ndarray | None:
    """One int64 per key: the key itself, or pid << 32 | (fd + 2^31) for a (pid, fd) key. With `strict`, None
    when some key does not pack exactly; otherwise such keys pack to some value (callers mask them out)."""
    if len(keys) == 1:
        return np.asarray(keys[0], dtype=np.int64)
    if len(keys) != 2:
        return None
    if strict and not _packable(keys).all():
        return None
    first, second = (np.asarray(k, dtype=np.int64) for k in keys)
    return (first << 32) | ((second + _FD_BIAS) & 0xFFFFFFFF)


def empty_table(schema: dict[str, pa.DataType], n_keys: int) -> VersionTable:
    return VersionTable([np.empty(0, dtype=np.int64) for _ in range(n_keys)], np.empty(0, dtype=np.int64),
                        {name: pa.array([], type=kind) for name, kind in schema.items()})


@dataclass
class PendingVersions:
    """New versions of one batch before inheritance is resolved.

    `values[name]` holds the explicit value (null where the row does not set it) and `sets[name]` says which
    rows set it; `base` is the version (index into snapshot + pending) each row inherits from, -1 for none.
    """

    keys: list[np.ndarray]
    pos: np.ndarray
    values: dict[str, pa.Array]
    sets: dict[str, np.ndarray]
    base: np.ndarray

    def __len__(self) -> int:
        return len(self.pos)


# Derived columns of new versions, computed from their resolved fields (see `BatchVersions`).
Derive = Callable[[Callable[[str], pa.Array]], dict[str, pa.Array]]


class BatchVersions:
    """The snapshot (versions 0 .. n_snap-1) followed by one batch's pending versions (n_snap ..).

    Lookups and gathers use global version indices. The snapshot's columns are used as they are. A pending
    version's inherited field is never copied into a resolved column: a gather reads it straight from the
    version holding it (`holders`), so gathering a field for some rows costs the same whether or not the
    batch created versions; derived fields are computed over the pending versions when first needed."""

    def __init__(self, snapshot: VersionTable, pending: PendingVersions, schema: dict[str, pa.DataType],
                 derive: Derive | None = None, derived: Sequence[str] = ()) -> None:
        self.snapshot = snapshot
        self.pending = pending
        self.schema = schema
        self.n_snap = len(snapshot)
        self._derive = derive
        self._derived = frozenset(derived)
        self._values: dict[str, pa.Array] = {}
        self._snapshot_columns: dict[str, pa.Array] = {}
        self._numbers: dict[tuple[str, int | bool, type], np.ndarray] = {}
        self._whole: dict[str, pa.Array | None] = {}
        self._last: VersionRows | None = None
        self._holders: dict[bytes, np.ndarray] = {}
        self._holder_of: dict[str, np.ndarray] = {}
        self._pending_rows: VersionRows | None = None
        self.pending_keys = [np.asarray(k, dtype=np.int64) for k in pending.keys]
        self.pending_pos = np.asarray(pending.pos, dtype=np.int64)
        self.base = np.asarray(pending.base, dtype=np.int64)

    def __len__(self) -> int:
        return self.n_snap + len(self.pending)

    @property
    def keys(self) -> list[np.ndarray]:
        return [np.concatenate([s, p]) for s, p in zip(self.snapshot.keys, self.pending_keys)]

    @property
    def pos(self) -> np.ndarray:
        return np.concatenate([self.snapshot.pos, self.pending_pos])

    @property
    def columns(self) -> Mapping[str, pa.Array]:
        """Every field of every version (snapshot then pending), concatenated on access."""
        return _ConcatenatedColumns(self)

    def lookup(self, query_keys: Sequence[np.ndarray], query_pos: np.ndarray) -> np.ndarray:
        """As-of join: the version current for each (key, position), -1 if none."""
        return lookup_over(self.snapshot, self.pending_keys, self.pending_pos, query_keys, query_pos)

    def select(self, indices: np.ndarray) -> VersionRows:
        """The versions at `indices` (-1: none), for gathering several of their fields."""
        return VersionRows(self, indices)

    def column(self, name: str, indices: np.ndarray) -> pa.Array:
        """Field `name` of the versions at `indices` (null where -1). Callers often read several fields of
        the same rows in a row: the last rows asked for are kept (compared by value) and shared."""
        indices = np.asarray(indices, dtype=np.int64)
        if self._last is None or not np.array_equal(self._last.indices, indices):
            self._last = VersionRows(self, indices.copy())  # a copy: the caller may reuse its array
        return self._last.column(name)

    def numbers(self, name: str, indices: np.ndarray, missing: int | bool) -> np.ndarray:
        """Integer or boolean field `name` of the versions at `indices` as numpy, `missing` where null or -1:
        for the index arithmetic of joins (parents, fd creators), with no Arrow call once the field is in numpy."""
        key = (name, missing, type(missing))  # False == 0 as a key, but not as a dtype
        whole = self._numbers.get(key)
        if whole is None:
            parts = [self.snapshot_column(name), self.pending_values(name)]
            values = [filled(part, missing) for part in parts]
            # The last entry serves index -1 (numpy reads it from the end).
            whole = self._numbers[key] = np.concatenate(values + [np.full(1, missing, values[0].dtype)])
        indices = np.asarray(indices, dtype=np.int64)
        pending = indices >= self.n_snap
        if pending.any():
            holder = self.holders(name)
            indices = np.where(pending, holder[np.where(pending, indices - self.n_snap, 0)], indices)
        return whole[indices]

    def whole(self, name: str) -> pa.Array | None:
        """Field `name` of every version (snapshot then pending) in one array when the snapshot's column is
        small (`concatenated`: a thread table of a few thousand processes, numbers and short text), else None."""
        if name not in self._whole:
            self._whole[name] = concatenated(self.snapshot_column(name), self.pending_values(name))
        return self._whole[name]

    def snapshot_column(self, name: str) -> pa.Array:
        values = self._snapshot_columns.get(name)
        if values is None:
            values = self.snapshot.columns.get(name)
            kind = self.schema.get(name)
            if values is None:
                values = pa.nulls(self.n_snap, type=kind)
            elif kind is not None and values.type != kind:
                values = values.cast(kind)
            self._snapshot_columns[name] = values
        return values

    def pending_values(self, name: str) -> pa.Array:
        """Field `name` as each pending version sets it (null where inherited); a derived field's value."""
        if name not in self._values:
            if not len(self.pending):  # most live batches create no thread: nothing to derive
                self._values[name] = pa.nulls(0, type=self.schema[name])
            elif name in self._derived:
                self._values.update(self._derive(self.resolved))
            else:
                self._values[name] = self._explicit(name)
        return self._values[name]

    def _explicit(self, name: str) -> pa.Array:
        kind = self.schema[name]
        values = self.pending.values.get(name)
        if values is None:
            return pa.nulls(len(self.pending), type=kind)
        return values if values.type == kind else values.cast(kind)

    def resolved(self, name: str) -> pa.Array:
        """Field `name` of every pending version, inherited values resolved."""
        if self._pending_rows is None:
            self._pending_rows = self.select(self.n_snap + np.arange(len(self.pending), dtype=np.int64))
        return self._pending_rows.column(name)

    def holders(self, name: str) -> np.ndarray:
        """The version holding each pending version's value of `name` (global index into snapshot + pending,
        -1 for none). A derived field is held by every version itself."""
        found = self._holder_of.get(name)
        if found is None:
            n_new = len(self.pending)
            sets = np.ones(n_new, dtype=bool) if name in self._derived else self.pending.sets.get(name)
            found = self._holder_of[name] = self._follow(np.zeros(n_new, dtype=bool) if sets is None else sets)
        return found

    def _follow(self, sets: np.ndarray) -> np.ndarray:
        """The version holding each pending version's value: itself where it sets the field, else its base's
        (pointer jumping; snapshot versions hold every field). Memoized per `sets` pattern."""
        key = np.packbits(sets).tobytes() + len(sets).to_bytes(8, "little")
        if key not in self._holders:
            own = self.n_snap + np.arange(len(sets), dtype=np.int64)
            source = np.where(sets, own, self.base)
            current = source
            while True:
                pending = current >= self.n_snap
                following = current.copy()
                following[pending] = source[current[pending] - self.n_snap]
                if np.array_equal(following, current):
                    break
                current = following
            self._holders[key] = current
        return self._holders[key]

    def snapshot_after(self, keep: Callable[[Callable[[str], np.ndarray]], np.ndarray] | None = None, *,
                       recheck: bool = True, gone: np.ndarray | None = None) -> VersionTable:
        """The latest version of every key, at position -1: the snapshot's versions of keys the batch did not
        touch (in order), then the latest pending version of each touched key (in order). `keep` receives
        a column getter over those latest versions and says which to keep (pruning); with `recheck` false,
        over the batch's new versions alone: the caller knows the untouched ones stay, and a large snapshot
        is not read whole for every batch. Every version whose first key is in `gone` is dropped (the fds of
        a process that ended), found from the keys alone."""
        snap = self.snapshot
        if not snap.has_unique_keys():
            return self._snapshot_by_join(keep, gone)
        latest = latest_per_key(self.pending_keys, self.pending_pos) if len(self.pending) else np.empty(0, np.int64)
        alive = np.ones(self.n_snap, dtype=bool) if snap.dead is None else ~snap.dead
        untouched = alive.copy()
        if len(latest):
            touched = snap.find([k[latest] for k in self.pending_keys], np.full(len(latest), -1, dtype=np.int64))
            untouched[touched[touched >= 0]] = False
        if gone is not None and len(gone):
            untouched &= ~np.isin(snap.keys[0], gone)
            latest = latest[~np.isin(self.pending_keys[0][latest], gone)]
        if keep is not None and recheck:
            indices = np.concatenate([np.nonzero(untouched)[0], self.n_snap + latest])
            kept = keep(self.select(indices).column)
            untouched[indices[:-len(latest) or None][~kept[:len(kept) - len(latest)]]] = False
            latest = latest[kept[len(kept) - len(latest):]]
        elif keep is not None and len(latest):
            latest = latest[keep(self.select(self.n_snap + latest).column)]
        if len(latest) == 0 and np.array_equal(untouched, alive):
            return snap  # nothing changed: the same table, key index and all
        appended = self._appended(untouched, latest)
        if appended is not None:
            return appended
        # Untouched snapshot rows then the new latest versions. A small table: one gather per column, at indices
        # shared by the columns (a slice per run of untouched rows cost a call per run and column).
        if snap.nbytes < APPEND_MIN_BYTES:
            rows = self.select(np.concatenate([np.flatnonzero(untouched), self.n_snap + latest]))
            columns = {name: rows.column(name) for name in self.schema}
        else:  # a large one: its runs of untouched rows copied by one concatenation per column (cheaper than a take)
            kept = _Kept(untouched)
            newest = self.select(self.n_snap + latest) if len(latest) else None
            columns = {name: _joined(kept.parts(self.snapshot_column(name)) + ([newest.column(name)] if newest else []),
                                     self.schema[name])
                       for name in self.schema}
        keys = [np.concatenate([s[untouched], p[latest]]) for s, p in zip(snap.keys, self.pending_keys)]
        return VersionTable(keys, np.full(len(keys[0]), -1, dtype=np.int64), columns)

    def _appended(self, untouched: np.ndarray, latest: np.ndarray) -> VersionTable | None:
        """`snapshot_after` without copying a large snapshot: the rows the batch replaced or pruned turn dead and
        its latest versions are appended as one more chunk; None when the table is small (copying it costs less
        than the chunks) or due for compaction (dead rows or chunks past their bounds)."""
        snap = self.snapshot
        dead = np.concatenate([~untouched, np.zeros(len(latest), dtype=bool)])
        chunks = max((c.num_chunks for c in snap.columns.values() if isinstance(c, pa.ChunkedArray)), default=1)
        if (snap.nbytes < APPEND_MIN_BYTES or dead.sum() > MAX_DEAD_SHARE * len(dead)
                or chunks + bool(len(latest)) > MAX_CHUNKS):
            return None
        columns = dict(snap.columns)
        if len(latest):
            newest = self.select(self.n_snap + latest)
            for name in self.schema:
                old = self.snapshot_column(name)
                parts = (old.chunks if isinstance(old, pa.ChunkedArray) else [old]) + [newest.column(name)]
                columns[name] = pa.chunked_array(parts, type=self.schema[name])
        keys = [np.concatenate([s, p[latest]]) for s, p in zip(snap.keys, self.pending_keys)]
        table = VersionTable(keys, np.full(len(dead), -1, dtype=np.int64), columns, dead)
        table._index = _merged_index(snap._key_index(), dead, [p[latest] for p in self.pending_keys], self.n_snap)
        return table if table.has_unique_keys() else None

    def _snapshot_by_join(self, keep, gone: np.ndarray | None) -> VersionTable:
        """`snapshot_after` for a snapshot holding several versions of a key (an initial list with repeats)."""
        indices = latest_per_key(self.keys, self.pos)
        if gone is not None and len(gone):
            indices = indices[~np.isin(self.keys[0][indices], gone)]
        if keep is not None:
            indices = indices[keep(self.select(indices).column)]
        keys = [np.concatenate([s, p])[indices] for s, p in zip(self.snapshot.keys, self.pending_keys)]
        rows = self.select(indices)
        columns = {name: rows.column(name) for name in self.schema}
        return VersionTable(keys, np.full(len(indices), -1, dtype=np.int64), columns)


def _joined(parts: list[pa.Array | pa.ChunkedArray], kind: pa.DataType) -> pa.Array:
    """The parts end to end, copied into one new array (a slice would keep the old column's buffers alive)."""
    arrays = [chunk for part in parts for chunk in (part.chunks if isinstance(part, pa.ChunkedArray) else [part])]
    return pa.concat_arrays(arrays) if arrays else pa.nulls(0, type=kind)


class _Kept:
    """The rows of a column that a mask keeps, as the parts of a concatenation: zero-copy slices of the runs of
    kept rows when they are few (a batch drops a handful of versions from a large snapshot: copying the rest
    in one concatenation is several times cheaper than a filter, for list columns above all), else a filter."""

    MAX_RUNS = 32

    def __init__(self, keep: np.ndarray) -> None:
        edges = np.flatnonzero(np.diff(np.concatenate([[0], keep.astype(np.int8), [0]])))
        self.runs = list(zip(edges[0::2].tolist(), (edges[1::2] - edges[0::2]).tolist()))
        self.mask = None if len(self.runs) <= self.MAX_RUNS else pa.array(keep)

    def parts(self, column: pa.Array) -> list[pa.Array]:
        if self.mask is not None:
            return [column.filter(self.mask)]
        return [column.slice(start, length) for start, length in self.runs]


class VersionRows:
    """Chosen versions (global indices into one `BatchVersions`, -1 for none) whose fields are gathered on
    first use and kept, for callers that read several fields of the same rows.

    A row at a pending version reads the field from the version holding its value (`BatchVersions.holders`).
    Fields whose values those rows find in the same versions share those indices (`TwoPartIndex`), so a
    field costs one to four Arrow calls and next to no numpy work of its own."""

    def __init__(self, table: BatchVersions, indices: np.ndarray) -> None:
        self.table = table
        self.indices = np.asarray(indices, dtype=np.int64)
        pending = self.indices >= table.n_snap
        self._at_pending = np.flatnonzero(pending) if pending.any() else None
        self._pending = None if self._at_pending is None else self.indices[self._at_pending] - table.n_snap
        self._reads: dict[bytes, TwoPartIndex] = {}
        self._columns: dict[str, pa.Array] = {}

    def __len__(self) -> int:
        return len(self.indices)

    def column(self, name: str) -> pa.Array:
        """Field `name` of these versions (null where -1)."""
        values = self._columns.get(name)
        if values is None:
            table = self.table
            values = self._columns[name] = self._read(name).take(table.snapshot_column(name),
                                                                 table.pending_values(name), table.whole(name))
        return values

    def _read(self, name: str) -> TwoPartIndex:
        """The indices with every pending version replaced by the one holding the value of `name`."""
        holder = None if self._pending is None else self.table.holders(name)[self._pending]
        key = b"" if holder is None else holder.tobytes()
        reads = self._reads.get(key)
        if reads is None:
            indices = self.indices
            if holder is not None:
                indices = indices.copy()
                indices[self._at_pending] = holder
            reads = self._reads[key] = TwoPartIndex(indices, self.table.n_snap)
        return reads


def lookup_over(snapshot: VersionTable, pending_keys: Sequence[np.ndarray], pending_pos: np.ndarray,
                query_keys: Sequence[np.ndarray], query_pos: np.ndarray) -> np.ndarray:
    """As-of join over a snapshot followed by pending versions (global indices, -1 if none): the pending
    versions first (few rows), then the snapshot for the queries they do not serve. A pending version
    always follows the snapshot's version of its key (positions >= 0 against -1), so it wins when visible."""
    query_pos = np.asarray(query_pos, dtype=np.int64)
    if len(pending_pos) == 0:
        return snapshot.lookup(query_keys, query_pos)
    result = asof_indices(pending_keys, pending_pos, query_keys, query_pos)
    found = result >= 0
    result[found] += len(snapshot)
    missing = np.nonzero(~found)[0]
    if len(missing) and len(snapshot):
        result[missing] = snapshot.lookup([np.asarray(k)[missing] for k in query_keys], query_pos[missing])
    return result


class _ConcatenatedColumns(Mapping):
    def __init__(self, table: BatchVersions) -> None:
        self.table = table

    def __getitem__(self, name: str) -> pa.Array:
        return self.table.column(name, np.arange(len(self.table), dtype=np.int64))

    def __iter__(self) -> Iterator[str]:
        return iter(self.table.schema)

    def __len__(self) -> int:
        return len(self.table.schema)


def materialize(snapshot: VersionTable, pending: PendingVersions, schema: dict[str, pa.DataType],
                derive: Derive | None = None, derived: Sequence[str] = ()) -> BatchVersions:
    """Snapshot followed by the pending rows; inherited fields are resolved when first gathered."""
    return BatchVersions(snapshot, pending, schema, derive, derived)
