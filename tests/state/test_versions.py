"""Gathers from version tables, the as-of join and container ids give what the plain formulations give.

The state engine avoids Arrow calls per field (shared index arrays, inherited values read from the version
holding them, small columns concatenated once, binary search instead of a sort of every query, slices
instead of a filter); each test compares one of those paths with the straightforward computation.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from stages.state.asof import asof_indices
from stages.state.containers import container_ids
from stages.state.versions import (
    WHOLE_COLUMN_BYTES,
    PendingVersions,
    TwoPartIndex,
    VersionTable,
    _take,
    concatenated,
    materialize,
    nullable_indices,
)


def _brute_asof(version_keys, version_pos, query_keys, query_pos) -> list[int]:
    """The latest version (last appended among equals) with the query's key at or before its position."""
    result = []
    for query in range(len(query_pos)):
        best = -1
        for version in range(len(version_pos)):
            same = all(v[version] == q[query] for v, q in zip(version_keys, query_keys))
            visible = same and version_pos[version] <= query_pos[query]
            if visible and (best < 0 or version_pos[version] >= version_pos[best]):
                best = version
        result.append(best)
    return result


@pytest.mark.parametrize("wide", [False, True])
def test_asof_matches_brute_force(wide: bool) -> None:
    """Random (pid, fd) keys with repeated positions; `wide` keys take the lexsort path instead."""
    rng = np.random.default_rng(3)
    scale = 1 << 45 if wide else 1
    version_keys = [rng.integers(0, 4, 40) * scale, rng.integers(-1, 3, 40)]
    version_pos = rng.integers(-1, 12, 40)
    query_keys = [rng.integers(0, 5, 60) * scale, rng.integers(-1, 3, 60)]
    query_pos = rng.integers(0, 14, 60)
    expected = _brute_asof(version_keys, version_pos, query_keys, query_pos)
    assert asof_indices(version_keys, version_pos, query_keys, query_pos).tolist() == expected


@pytest.mark.parametrize("first_len", [0, 3, 7])
def test_two_part_index_equals_take_of_concatenation(first_len: int) -> None:
    """Split takes, and one take from the concatenation, both give concat(first, second)[indices]."""
    first = pa.array([f"s{i}" for i in range(first_len)], type=pa.string())
    second = pa.array(["p0", None, "p2", "p3"], type=pa.string())
    both = pa.concat_arrays([first, second])
    for indices in ([-1, -1], list(range(first_len)), [first_len + 1, first_len, -1],
                    [first_len + 3, 0 if first_len else -1, -1, first_len + 2]):
        expected = both.take(nullable_indices(np.array(indices, dtype=np.int64)))
        rows = TwoPartIndex(np.array(indices, dtype=np.int64), first_len)
        assert rows.take(first, second).equals(expected)
        assert rows.take(first, second, concatenated(first, second)).equals(expected)


def test_concatenated_only_for_small_first_part() -> None:
    small = pa.array(np.arange(10))
    large = pa.array(np.arange(WHOLE_COLUMN_BYTES))  # 8 bytes a value
    assert concatenated(small, small).to_pylist() == list(range(10)) * 2
    assert concatenated(large, small) is None


def _table(n_snap: int = 6) -> tuple[VersionTable, PendingVersions]:
    """Snapshot of `n_snap` threads and pending versions that set some fields and inherit the others, from the
    snapshot or from an earlier pending version (a chain)."""
    snapshot = VersionTable([np.arange(n_snap)], np.full(n_snap, -1),
                            {"comm": pa.array([f"c{i}" for i in range(n_snap)]),
                             "uid": pa.array([1000 + i if i % 3 else None for i in range(n_snap)], type=pa.int64())})
    keys = np.array([1, 1, 2, 1, 9])
    pending = PendingVersions([keys], np.array([2, 4, 6, 8, 10]),
                              {"comm": pa.array(["x", None, "y", None, "z"]),
                               "uid": pa.array([None, 7, None, None, 5], type=pa.int64())},
                              {"comm": np.array([True, False, True, False, True]),
                               "uid": np.array([False, True, False, False, True])},
                              np.array([1, n_snap, 2, n_snap + 1, -1]))
    return snapshot, pending


def _resolved_by_hand(snapshot: VersionTable, pending: PendingVersions, name: str) -> list:
    """Every version's value of `name`: the snapshot's, then each pending version's own or its base's."""
    values = snapshot.columns[name].to_pylist()
    for own, sets, base in zip(pending.values[name].to_pylist(), pending.sets[name], pending.base):
        values.append(own if sets else (values[base] if base >= 0 else None))
    return values


@pytest.mark.parametrize("n_snap", [0, 6])
def test_gathers_read_inherited_values_from_their_holder(n_snap: int) -> None:
    snapshot, pending = _table(n_snap)
    if n_snap == 0:  # the bases that pointed into the snapshot point nowhere, the others shift down
        pending.base = np.where(pending.base >= 6, pending.base - 6, -1)
    table = materialize(snapshot, pending, {"comm": pa.string(), "uid": pa.int64()})
    indices = np.array([-1, *range(len(table)), 0], dtype=np.int64)
    rows = table.select(indices)
    for name in ("comm", "uid"):
        every = _resolved_by_hand(snapshot, pending, name)
        expected = [every[i] if i >= 0 else None for i in indices]
        assert rows.column(name).to_pylist() == expected
        assert table.column(name, indices).to_pylist() == expected
    uids = [-7 if uid is None else uid for uid in rows.column("uid").to_pylist()]
    assert table.numbers("uid", indices, -7).tolist() == uids
    assert table.resolved("uid").to_pylist() == _resolved_by_hand(snapshot, pending, "uid")[n_snap:]


@pytest.mark.parametrize("dropped", [[], [1], [0, 2, 5], list(range(0, 200, 2))])
def test_snapshot_after_keeps_untouched_rows_in_order(dropped: list[int]) -> None:
    """Few dropped rows are copied as slices, many with a filter: either way the rows kept, in order."""
    n = 200
    snapshot = VersionTable([np.arange(n)], np.full(n, -1), {"v": pa.array(np.arange(n) * 10)})
    pending = PendingVersions([np.array([1000])], np.array([0]), {"v": pa.array([7])}, {"v": np.array([True])},
                              np.array([-1]))
    table = materialize(snapshot, pending, {"v": pa.int64()})
    gone = set(dropped)
    after = table.snapshot_after(lambda column: np.array([i not in gone for i in range(n)] + [True])).compacted()
    assert after.columns["v"].to_pylist() == [i * 10 for i in range(n) if i not in gone] + [7]
    assert after.keys[0].tolist() == [i for i in range(n) if i not in gone] + [1000]


_ID = "0123456789abcdef" * 4


def _arrow_container_ids(cgroups: pa.Array) -> list[str]:
    """The earlier formulation with Arrow's regex kernels (RE2), for comparison."""
    pattern = r"(?:^|[/:-])(?P<id>[0-9a-f]{64})(?:\.scope)?(?:$|/)"
    result = []
    for entries in cgroups.to_pylist():
        found = None
        if entries:
            paths = pc.replace_substring_regex(pa.array(entries, type=pa.string()), pattern=r"^[^=]*=", replacement="")
            ids = pc.struct_field(pc.extract_regex(paths, pattern=pattern), [0]).to_pylist()
            found = next((i[:12] for i in ids if i is not None), None)
        result.append(found or "host")
    return result


def test_container_ids_match_the_regex_kernels() -> None:
    cgroups = pa.array([
        [f"cpu=/docker/{_ID}", "memory=/"],
        ["cpu=/user.slice", f"pids=/system.slice/docker-{_ID}.scope"],
        [f"cpu=/kubepods/burstable/pod1/{_ID}/extra"],
        [f"cpu=/docker/{_ID}\n"],  # `$` is the end of the text only
        [f"{_ID}"], [f"cpu={_ID}"], [f"a=b=/{_ID}"], [f"cpu=/x{_ID}"], [f"cpu=/crio-{_ID[:-1]}"],
        [], None, [None, f"cpu=/libpod-{_ID}.scope/container"],
    ], type=pa.list_(pa.string()))
    assert container_ids(cgroups).to_pylist() == _arrow_container_ids(cgroups)


def test_a_large_snapshot_is_appended_to_and_compacted_when_due(monkeypatch) -> None:
    """Past APPEND_MIN_BYTES a batch's new versions are appended as a chunk and the versions it replaces or
    prunes turn dead (never found again) instead of the whole table being copied; past MAX_DEAD_SHARE dead
    rows the table is compacted."""
    import stages.state.versions as versions

    monkeypatch.setattr(versions, "APPEND_MIN_BYTES", 0)
    n = 200
    snapshot = VersionTable([np.arange(n)], np.full(n, -1), {"v": pa.array(np.arange(n) * 10)})
    # key 5 gets a new version, key 1000 is new, key 7 is pruned by `keep`
    pending = PendingVersions([np.array([5, 1000])], np.array([0, 2]), {"v": pa.array([55, 7])},
                              {"v": np.array([True, True])}, np.array([-1, -1]))
    table = materialize(snapshot, pending, {"v": pa.int64()})
    after = table.snapshot_after(lambda column: column("v").to_numpy(zero_copy_only=False) != 70)
    assert len(after) == n + 2 and after.live == n  # two rows dead (5's old version, 7), two appended
    assert isinstance(after.columns["v"], pa.ChunkedArray) and after.columns["v"].num_chunks == 2
    found = after.lookup([np.array([5, 7, 1000, 6])], np.zeros(4, dtype=np.int64))
    assert found[1] == -1 and after.column("v", found).to_pylist() == [55, None, 7, 60]
    rebuilt = VersionTable(after.keys, after.pos, after.columns, after.dead)._key_index()  # not merged
    assert all(np.array_equal(a, b) for a, b in zip(after._key_index()[:2], rebuilt[:2]))
    assert after.compacted().columns["v"].to_pylist() == [i * 10 for i in range(n) if i not in (5, 7)] + [55, 7]
    # prune three quarters of the rows: too many dead ones, so the table is copied without them
    table = materialize(after, PendingVersions([np.array([], dtype=np.int64)], np.array([], dtype=np.int64), {}, {},
                                               np.array([], dtype=np.int64)), {"v": pa.int64()})
    keep_some = lambda column: np.asarray(column("v").to_numpy(zero_copy_only=False) % 40 == 0)
    pruned = table.snapshot_after(keep_some)
    assert pruned.dead is None and not isinstance(pruned.columns["v"], pa.ChunkedArray)
    assert pruned.columns["v"].to_pylist() == [v for v in after.compacted().columns["v"].to_pylist() if v % 40 == 0]


@pytest.mark.parametrize("indexed", [True, False])
@pytest.mark.parametrize("seed", range(20))
def test_second_keys_of_each_lists_every_live_version_of_each_query(indexed: bool, seed: int) -> None:
    """The fds of several processes at once, by binary search in a snapshot's key index or, for a table
    without one (versions at several positions), by a scan: the same pairs as asking process by process."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 40))
    pids, fds = rng.integers(1, 8, n), rng.integers(0, 6, n)
    if indexed:  # a snapshot: one version per key, all at one position
        unique = np.unique(np.stack([pids, fds]), axis=1)
        pids, fds = unique[0], unique[1]
        pos = np.full(len(pids), -1)
    else:
        pos = rng.integers(0, 3, n)
    table = VersionTable([pids, fds], pos, {})
    if len(pids) and rng.random() < 0.5:
        table.dead = rng.random(len(pids)) < 0.3
    assert (table._key_index() is not None) == (indexed and len(pids) > 0)
    queries = rng.integers(0, 9, int(rng.integers(0, 6)))  # repeats and unknown pids too
    which, numbers = table.second_keys_of_each(queries)
    alive = np.ones(len(pids), dtype=bool) if table.dead is None else ~table.dead
    for i, pid in enumerate(queries.tolist()):
        assert sorted(numbers[which == i].tolist()) == sorted(fds[(pids == pid) & alive].tolist())
    assert (np.diff(which) >= 0).all()


@pytest.mark.parametrize("repeated", [False, True])
def test_snapshot_after_drops_every_version_of_the_gone_first_keys(repeated: bool) -> None:
    """An ended process's fds leave the snapshot, whether the batch touched them or not; a snapshot with
    several versions of a key (an initial list) goes the joined way, with the same result."""
    pids, fds = [1, 1, 2, 2, 3], [0, 1, 0, 1, 0]
    if repeated:
        pids, fds = pids + [1], fds + [0]
    n = len(pids)
    snapshot = VersionTable([np.array(pids), np.array(fds)], np.full(n, -1), {"v": pa.array(range(n))})
    pending = PendingVersions([np.array([2, 3]), np.array([5, 5])], np.array([4, 4]), {"v": pa.array([70, 80])},
                              {"v": np.array([True, True])}, np.array([-1, -1]))
    table = materialize(snapshot, pending, {"v": pa.int64()})
    after = table.snapshot_after(gone=np.array([2, 9])).compacted()
    kept = sorted(zip(after.keys[0].tolist(), after.keys[1].tolist()))
    assert kept == [(1, 0), (1, 1), (3, 0), (3, 5)]


@pytest.mark.parametrize("seed", range(30))
def test_a_take_from_a_chunked_column_gives_what_arrow_gives(seed: int) -> None:
    """A snapshot's appended column (several chunks) is gathered chunk by chunk, not joined whole first:
    nulls, repeats, any order, rows of one chunk or of several, lists and text."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(0, 6, int(rng.integers(2, 5)))
    values = [[f"v{i}"] * int(rng.integers(0, 3)) if rng.random() < 0.8 else None for i in range(int(sizes.sum()))]
    chunked = pa.chunked_array([pa.array(values[a: a + n], type=pa.list_(pa.string()))
                                for a, n in zip(np.cumsum(sizes) - sizes, sizes)], type=pa.list_(pa.string()))
    count = int(rng.integers(0, 12))
    indices = rng.integers(-1, len(values), count) if values else np.full(count, -1)
    if rng.random() < 0.3:
        indices = np.sort(indices)
    taken = _take(chunked, nullable_indices(indices))
    assert isinstance(taken, pa.Array)
    assert taken.to_pylist() == [values[i] if i >= 0 else None for i in indices.tolist()]


@pytest.mark.parametrize("seed", range(20))
def test_two_part_gathers_from_chunked_snapshot_columns_share_one_plan_per_chunking(seed: int) -> None:
    """Rows of a chunked snapshot and of pending versions, gathered for several columns with one index: the
    columns of one chunking share a plan, a column chunked otherwise gets its own; all give plain takes."""
    rng = np.random.default_rng(seed)
    sizes = [int(x) for x in rng.integers(1, 5, int(rng.integers(2, 5)))]
    n_first, n_second = sum(sizes), int(rng.integers(0, 4))
    indices = rng.integers(-1, n_first + n_second, int(rng.integers(1, 10)))

    def chunked(values: list, lengths: list[int]) -> pa.ChunkedArray:
        starts = np.cumsum([0] + lengths[:-1])
        return pa.chunked_array([pa.array(values[a: a + n]) for a, n in zip(starts, lengths)])

    index = TwoPartIndex(indices, n_first)
    columns = [(list(range(n_first)), list(range(100, 100 + n_second)), sizes),
               ([f"t{i}" for i in range(n_first)], [f"p{i}" for i in range(n_second)], sizes),
               ([i * 2 for i in range(n_first)], [-i for i in range(n_second)], [1, n_first - 1])]
    for first, second, lengths in columns:
        expected = [(first + second)[i] if i >= 0 else None for i in indices.tolist()]
        second_array = pa.array(second, type=pa.array(first).type)
        assert index.take(chunked(first, lengths), second_array).to_pylist() == expected
    assert len(index._plans) <= 2
