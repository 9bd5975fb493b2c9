"""Append-only version tables: rows of state (a thread, an fd) with a key, a position and field columns.

A batch's table (`BatchVersions`) is the snapshot carried over from earlier batches (one version per key, at
position -1) followed by the versions the batch's state-changing events create. New versions set some fields
and inherit the others from a `base` version (the previous version of the same key, or the parent thread
for a new child). The snapshot is used as is: nothing of it is copied per batch. Inherited fields of the new
versions are resolved by pointer jumping over the new versions only, one field at a time when first asked
for, and a lookup searches the new versions (an as-of join over few rows) before the snapshot (a binary
search in a key index built once per snapshot).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from stages.state.asof import NO_VERSION, asof_indices, latest_per_key

_FD_BIAS = 1 << 31  # second key component of a composite key index, made non-negative


def nullable_indices(indices: np.ndarray) -> pa.Array:
    """An Arrow index array where -1 becomes null, so `take` yields null for "no version"."""
    indices = np.asarray(indices, dtype=np.int64)
    missing = indices < 0
    return pa.array(indices, mask=missing if missing.any() else None, type=pa.int64())


def gather(values: pa.Array, indices: np.ndarray) -> pa.Array:
    """`values[indices]`, null where the index is -1."""
    if len(values) == 0:
        return pa.nulls(len(indices), type=values.type)
    return values.take(nullable_indices(indices))


def gather_two(first: pa.Array, second: pa.Array, indices: np.ndarray) -> pa.Array:
    """`concat(first, second)[indices]` (null where -1) without concatenating the inputs: each part is taken
    on its own and the two results are interleaved back, so the cost follows len(indices), not the parts."""
    indices = np.asarray(indices, dtype=np.int64)
    split = len(first)
    in_second = indices >= split
    if not in_second.any():
        return gather(first, indices)
    if not ((indices >= 0) & ~in_second).any():
        return gather(second, np.where(in_second, indices - split, NO_VERSION))
    from_second = np.nonzero(in_second)[0]
    from_first = np.nonzero(~in_second)[0]
    both = pa.concat_arrays([gather(first, indices[from_first]), gather(second, indices[from_second] - split)])
    placement = np.empty(len(indices), dtype=np.int64)
    placement[np.concatenate([from_first, from_second])] = np.arange(len(indices), dtype=np.int64)
    return both.take(pa.array(placement, type=pa.int64()))


@dataclass
class VersionTable:
    """Materialized versions: key arrays, positions and one Arrow column per field (all the same length)."""

    keys: list[np.ndarray]
    pos: np.ndarray
    columns: dict[str, pa.Array] = field(default_factory=dict)
    _index: tuple[np.ndarray, np.ndarray, bool] | None = field(default=None, init=False, repr=False,
                                                                compare=False)

    def __len__(self) -> int:
        return len(self.pos)

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
        """(sorted packed keys, their row order, keys unique), built on first use; None when not applicable."""
        if self._index is None:
            packed = _packed_key(self.keys)
            if packed is None or len(self.pos) == 0 or self.pos.min() != self.pos.max():
                return None
            order = np.argsort(packed, kind="stable")
            sorted_keys = packed[order]
            self._index = (sorted_keys, order, bool((sorted_keys[1:] != sorted_keys[:-1]).all()))
        return self._index

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
                            {name: col.take(idx) for name, col in self.columns.items()})

    def snapshot(self, keep: np.ndarray | None = None) -> "VersionTable":
        """The latest version of every key (optionally only where `keep` is true), at position -1."""
        latest = latest_per_key(self.keys, self.pos)
        if keep is not None:
            latest = latest[keep[latest]]
        table = self.take(latest)
        table.pos = np.full(len(latest), -1, dtype=np.int64)
        return table


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

    Lookups and gathers use global version indices. The snapshot's columns are used as they are; a field of
    the pending versions is resolved (inheritance followed) when first gathered."""

    def __init__(self, snapshot: VersionTable, pending: PendingVersions, schema: dict[str, pa.DataType],
                 derive: Derive | None = None, derived: Sequence[str] = ()) -> None:
        self.snapshot = snapshot
        self.pending = pending
        self.schema = schema
        self.n_snap = len(snapshot)
        self._derive = derive
        self._derived = frozenset(derived)
        self._resolved: dict[str, pa.Array] = {}
        self._sources: dict[bytes, np.ndarray] = {}
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

    def column(self, name: str, indices: np.ndarray) -> pa.Array:
        """Field `name` of the versions at `indices` (null where -1)."""
        return gather_two(self._snapshot_column(name), self.resolved(name), indices)

    def _snapshot_column(self, name: str) -> pa.Array:
        values = self.snapshot.columns.get(name)
        kind = self.schema.get(name)
        if values is None:
            return pa.nulls(self.n_snap, type=kind)
        return values if kind is None or values.type == kind else values.cast(kind)

    def resolved(self, name: str) -> pa.Array:
        """Field `name` of every pending version, inherited values resolved."""
        if name not in self._resolved:
            if name in self._derived:
                self._resolved.update(self._derive(self.resolved))
            else:
                self._resolved[name] = self._resolve(name)
        return self._resolved[name]

    def _resolve(self, name: str) -> pa.Array:
        kind = self.schema[name]
        n_new = len(self.pending)
        values = self.pending.values.get(name)
        if values is None:
            values = pa.nulls(n_new, type=kind)
        elif values.type != kind:
            values = values.cast(kind)
        sets = self.pending.sets.get(name)
        if sets is None or not sets.any():
            source = self._follow(np.zeros(n_new, dtype=bool))
        elif sets.all():
            return values
        else:
            source = self._follow(sets)
        return gather_two(self._snapshot_column(name), values, source)

    def _follow(self, sets: np.ndarray) -> np.ndarray:
        """The version holding each pending version's value: itself where it sets the field, else its base's
        (pointer jumping; snapshot versions hold every field). Memoized per `sets` pattern."""
        key = np.packbits(sets).tobytes() + len(sets).to_bytes(8, "little")
        if key not in self._sources:
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
            self._sources[key] = current
        return self._sources[key]

    def snapshot_after(self, keep: Callable[[Callable[[str], np.ndarray]], np.ndarray] | None = None
                       ) -> VersionTable:
        """The latest version of every key, at position -1: the snapshot's versions of keys the batch did not
        touch (in order), then the latest pending version of each touched key (in order). `keep` receives
        a column getter over those latest versions and says which to keep (pruning)."""
        snap = self.snapshot
        if not snap.has_unique_keys():
            return self._snapshot_by_join(keep)
        latest = latest_per_key(self.pending_keys, self.pending_pos) if len(self.pending) else np.empty(0, np.int64)
        untouched = np.ones(self.n_snap, dtype=bool)
        if len(latest):
            touched = snap.find([k[latest] for k in self.pending_keys], np.full(len(latest), -1, dtype=np.int64))
            untouched[touched[touched >= 0]] = False
        if keep is not None:
            indices = np.concatenate([np.nonzero(untouched)[0], self.n_snap + latest])
            kept = keep(lambda name: self.column(name, indices))
            untouched[indices[:-len(latest) or None][~kept[:len(kept) - len(latest)]]] = False
            latest = latest[kept[len(kept) - len(latest):]]
        if len(latest) == 0 and untouched.all():
            return snap  # nothing changed: the same table, key index and all
        # Untouched snapshot rows then the new latest versions: a filter and a concatenation per column.
        mask = pa.array(untouched)
        pick = pa.array(latest, type=pa.int64())
        columns = {name: pa.concat_arrays([self._snapshot_column(name).filter(mask), self.resolved(name).take(pick)])
                   for name in self.schema}
        keys = [np.concatenate([s[untouched], p[latest]]) for s, p in zip(snap.keys, self.pending_keys)]
        return VersionTable(keys, np.full(len(keys[0]), -1, dtype=np.int64), columns)

    def _snapshot_by_join(self, keep) -> VersionTable:
        """`snapshot_after` for a snapshot holding several versions of a key (an initial list with repeats)."""
        indices = latest_per_key(self.keys, self.pos)
        if keep is not None:
            indices = indices[keep(lambda name: self.column(name, indices))]
        keys = [np.concatenate([s, p])[indices] for s, p in zip(self.snapshot.keys, self.pending_keys)]
        columns = {name: self.column(name, indices) for name in self.schema}
        return VersionTable(keys, np.full(len(indices), -1, dtype=np.int64), columns)


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
