"""Vectorized as-of join: for each query (key, position), the latest version with that key at or before it.

State (threads, fds) is kept as append-only version tables. A version carries a key (tid, or (pid, fd)) and
the position from which it is visible. Enrichment of a batch asks, for every event row, "which version of my
key was current at my position?". That is an as-of join, done here without a Python loop per row:

1. concatenate versions and queries, tag them (version = 0, query = 1);
2. `numpy.lexsort` by (key..., position, tag): within a key, a version sorts before a query at the same
   position, so a version is visible to the row that created it;
3. a running maximum of "index of the last version seen" forward-fills the version index over the queries;
4. a query whose forward-filled version belongs to another key (an earlier key group) gets -1.

When the keys and positions are narrow enough (always, for tids, pids and fds), the composite key and the
position are packed into one int64 instead: only the versions are sorted (one stable `argsort`) and each
query finds the last version at or before its own (key, position) by binary search. A batch's joins have
few versions (the pending ones) and up to a batch of queries, so this skips sorting the queries.

Positions are integers chosen by the caller. The state engine uses `2 * row` for versions visible to the
event that creates them and `2 * row + 1` for versions that take effect from the next event (a close keeps
its fd visible to the close event itself), and `2 * row` for queries; seeded versions from earlier batches
use position -1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

NO_VERSION = -1
_KEY_BITS = 40  # a combined key must fit in 40 bits, positions and the tag in the other 23
_POS_BITS = 22


def combined_key(version_keys: Sequence[np.ndarray], query_keys: Sequence[np.ndarray]
                 ) -> tuple[np.ndarray, np.ndarray] | None:
    """One int64 key per version and query standing for the composite key (order and equality kept), or None
    when the key ranges are too wide to pack in `_KEY_BITS` bits."""
    versions = [np.asarray(k, dtype=np.int64) for k in version_keys]
    queries = [np.asarray(k, dtype=np.int64) for k in query_keys]
    packed_v = np.zeros(len(versions[0]) if versions else 0, dtype=np.int64)
    packed_q = np.zeros(len(queries[0]) if queries else 0, dtype=np.int64)
    total = 1
    for v, q in zip(versions, queries):
        low = min(int(v.min()) if len(v) else 0, int(q.min()) if len(q) else 0)
        high = max(int(v.max()) if len(v) else 0, int(q.max()) if len(q) else 0)
        span = high - low + 1
        total *= span
        if total >= 1 << _KEY_BITS:
            return None
        packed_v = packed_v * span + (v - low)
        packed_q = packed_q * span + (q - low)
    return packed_v, packed_q


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
    version_pos = np.asarray(version_pos, dtype=np.int64)
    query_pos = np.asarray(query_pos, dtype=np.int64)
    packed = combined_key(version_keys, query_keys)
    low = min(int(version_pos.min()), int(query_pos.min()))
    high = max(int(version_pos.max()), int(query_pos.max()))
    if packed is None or high - low >= 1 << _POS_BITS:
        return _asof_lexsort(version_keys, version_pos, query_keys, query_pos)
    version_key, query_key = packed
    # One sortable int64 per version: key, then position. The stable sort keeps equal versions in order and
    # `side="right"` lands after all of them, so the last appended wins and a version is visible to a query at
    # its own position.
    versions = (version_key << _POS_BITS) | (version_pos - low)
    order = np.argsort(versions, kind="stable")
    ordered = versions[order]
    slot = np.searchsorted(ordered, (query_key << _POS_BITS) | (query_pos - low), side="right") - 1
    safe = np.maximum(slot, 0)
    found = (slot >= 0) & ((ordered[safe] >> _POS_BITS) == query_key)
    return np.where(found, order[safe], NO_VERSION)


def _forward_fill(order: np.ndarray, key: np.ndarray, n_versions: int, n_queries: int) -> np.ndarray:
    """Steps 3-4 of the module docstring on entries sorted by (key, position, tag)."""
    is_version = order < n_versions
    sorted_slot = np.arange(len(order), dtype=np.int64)
    last_version_slot = np.maximum.accumulate(np.where(is_version, sorted_slot, -1))
    found = last_version_slot >= 0
    safe_slot = np.where(found, last_version_slot, 0)
    sorted_key = key[order]
    found &= sorted_key == sorted_key[safe_slot]
    version_of_slot = np.where(found, order[safe_slot], NO_VERSION)
    result = np.empty(n_queries, dtype=np.int64)
    query_slots = ~is_version
    result[order[query_slots] - n_versions] = version_of_slot[query_slots]
    return result


def _asof_lexsort(version_keys: Sequence[np.ndarray], version_pos: np.ndarray,
                  query_keys: Sequence[np.ndarray], query_pos: np.ndarray) -> np.ndarray:
    """The general case (keys or positions too wide to pack): lexsort by (key..., position, tag)."""
    n_versions, n_queries = len(version_pos), len(query_pos)
    keys = [np.concatenate([np.asarray(v, dtype=np.int64), np.asarray(q, dtype=np.int64)])
            for v, q in zip(version_keys, query_keys)]
    pos = np.concatenate([version_pos, query_pos])
    tag = np.concatenate([np.zeros(n_versions, dtype=np.int8), np.ones(n_queries, dtype=np.int8)])
    # lexsort sorts by the last key first: primary keys go last.
    order = np.lexsort([tag, pos, *reversed(keys)])
    # Rank of each distinct composite key in sorted order stands for the key in the equality test.
    sorted_keys = [k[order] for k in keys]
    changed = np.zeros(len(order), dtype=bool)
    for k in sorted_keys:
        changed[1:] |= k[1:] != k[:-1]
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.cumsum(changed)
    return _forward_fill(order, rank, n_versions, n_queries)


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
