"""Append-only version tables: rows of state (a thread, an fd) with a key, a position and field columns.

A batch's table is the snapshot carried over from earlier batches (position -1) followed by the versions the
batch's state-changing events create. New versions set some fields and inherit the others from a `base`
version (the previous version of the same key, or the parent thread for a new child); `materialize`
resolves every inherited field by pointer jumping (`asof.resolve_inheritance`) and one gather per field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from stages.state.asof import NO_VERSION, asof_indices, latest_per_key, resolve_inheritance


def nullable_indices(indices: np.ndarray) -> pa.Array:
    """An Arrow index array where -1 becomes null, so `take` yields null for "no version"."""
    indices = np.asarray(indices, dtype=np.int64)
    return pa.array(indices, mask=indices < 0, type=pa.int64())


def gather(values: pa.Array, indices: np.ndarray) -> pa.Array:
    """`values[indices]`, null where the index is -1."""
    if len(values) == 0:
        return pa.nulls(len(indices), type=values.type)
    return values.take(nullable_indices(indices))


@dataclass
class VersionTable:
    """Materialized versions: key arrays, positions and one Arrow column per field (all the same length)."""

    keys: list[np.ndarray]
    pos: np.ndarray
    columns: dict[str, pa.Array] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.pos)

    def lookup(self, query_keys: Sequence[np.ndarray], query_pos: np.ndarray) -> np.ndarray:
        """As-of join: the version current for each (key, position), -1 if none."""
        return asof_indices(self.keys, self.pos, query_keys, query_pos)

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


def materialize(snapshot: VersionTable, pending: PendingVersions, schema: dict[str, pa.DataType]) -> VersionTable:
    """Snapshot followed by the pending rows, every inherited field resolved (vectorized)."""
    n_snap = len(snapshot)
    n_new = len(pending)
    keys = [np.concatenate([s, p]).astype(np.int64) for s, p in zip(snapshot.keys, pending.keys)]
    pos = np.concatenate([snapshot.pos, pending.pos]).astype(np.int64)
    own = np.arange(n_snap + n_new, dtype=np.int64)
    base = np.concatenate([np.full(n_snap, NO_VERSION, dtype=np.int64), pending.base.astype(np.int64)])
    columns = {}
    for name, kind in schema.items():
        snap_values = snapshot.columns.get(name)
        if snap_values is None:
            snap_values = pa.nulls(n_snap, type=kind)
        new_values = pending.values.get(name)
        if new_values is None:
            new_values = pa.nulls(n_new, type=kind)
        values = pa.concat_arrays([snap_values.cast(kind), new_values.cast(kind)])
        sets = np.concatenate([np.ones(n_snap, dtype=bool), pending.sets.get(name, np.zeros(n_new, dtype=bool))])
        source = resolve_inheritance(np.where(sets, own, base))
        columns[name] = gather(values, source)
    return VersionTable(keys, pos, columns)
