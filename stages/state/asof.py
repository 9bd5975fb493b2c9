"""Vectorized as-of join: for each query (key, position), the latest version with that key at or before it.

State (threads, fds) is kept as append-only version tables. A version carries a key (tid, or (pid, fd)) and
the position from which it is visible. Enrichment of a batch asks, for every event row, "which version of my
key was current at my position?". That is an as-of join, done here without a Python loop per row:

1. concatenate versions and queries, tag them (version = 0, query = 1);
2. `numpy.lexsort` by (key..., position, tag): within a key, a version sorts before a query at the same
   position, so a version is visible to the row that created it;
3. a running maximum of "index of the last version seen" forward-fills the version index over the queries;
4. a query whose forward-filled version belongs to another key (an earlier key group) gets -1.

Positions are integers chosen by the caller. The state engine uses `2 * row` for versions visible to the
event that creates them and `2 * row + 1` for versions that take effect from the next event (a close keeps
its fd visible to the close event itself), and `2 * row` for queries; seeded versions from earlier batches
use position -1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

NO_VERSION = -1


def asof_indices(version_keys: Sequence[np.ndarray], version_pos: np.ndarray,
                 query_keys: Sequence[np.ndarray], query_pos: np.ndarray) -> np.ndarray:
    """Index into the versions of the latest one with the query's key and position <= the query's; -1 if none.

    `version_keys` / `query_keys` are parallel sequences of integer arrays (a composite key such as
    (pid, fd) is two arrays). The result has one int64 entry per query.
    """
    n_versions = len(version_pos)
    n_queries = len(query_pos)
    if n_queries == 0:
        return np.empty(0, dtype=np.int64)
    if n_versions == 0:
        return np.full(n_queries, NO_VERSION, dtype=np.int64)
    keys = [np.concatenate([np.asarray(v, dtype=np.int64), np.asarray(q, dtype=np.int64)])
            for v, q in zip(version_keys, query_keys)]
    pos = np.concatenate([np.asarray(version_pos, dtype=np.int64), np.asarray(query_pos, dtype=np.int64)])
    tag = np.concatenate([np.zeros(n_versions, dtype=np.int8), np.ones(n_queries, dtype=np.int8)])
    # lexsort sorts by the last key first: primary keys go last.
    order = np.lexsort([tag, pos, *reversed(keys)])
    is_version = order < n_versions
    sorted_slot = np.arange(len(order), dtype=np.int64)
    last_version_slot = np.maximum.accumulate(np.where(is_version, sorted_slot, -1))
    found = last_version_slot >= 0
    safe_slot = np.where(found, last_version_slot, 0)
    for key in keys:
        found &= key[order] == key[order][safe_slot]
    version_of_slot = np.where(found, order[safe_slot], NO_VERSION)
    result = np.empty(n_queries, dtype=np.int64)
    query_slots = ~is_version
    result[order[query_slots] - n_versions] = version_of_slot[query_slots]
    return result


def latest_per_key(keys: Sequence[np.ndarray], pos: np.ndarray) -> np.ndarray:
    """Indices (ascending) of the last version of every distinct key: highest position, then last appended."""
    n = len(pos)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    arrays = [np.asarray(k, dtype=np.int64) for k in keys]
    order = np.lexsort([np.arange(n), np.asarray(pos, dtype=np.int64), *reversed(arrays)])
    last_of_group = np.ones(n, dtype=bool)
    last_of_group[:-1] = False
    for key in arrays:
        sorted_key = key[order]
        last_of_group[:-1] |= sorted_key[1:] != sorted_key[:-1]
    return np.sort(order[last_of_group])


def resolve_inheritance(source: np.ndarray) -> np.ndarray:
    """Follow `source[i]` pointers until they reach a fixed point (`source[j] == j`) or -1, vectorized.

    A version that does not set a field points at the version it inherits it from (an earlier one, so the
    pointers form a forest); pointer jumping finds the version that actually holds the value in
    O(log depth) numpy passes.
    """
    current = np.asarray(source, dtype=np.int64).copy()
    while True:
        valid = current >= 0
        following = np.where(valid, current[np.where(valid, current, 0)], NO_VERSION)
        if np.array_equal(following, current):
            return current
        current = following
