"""As-of join, latest-per-key and inheritance resolution of the version tables."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from stages.state.asof import asof_indices, latest_per_key, resolve_inheritance
from stages.state.versions import PendingVersions, VersionTable, materialize


def test_asof_picks_latest_version_at_or_before_query() -> None:
    """A query sees the newest version of its key whose position is not after it, -1 before any."""
    keys = np.array([7, 7, 9, 7])
    pos = np.array([-1, 4, 2, 10])
    queries = np.array([7, 7, 7, 9, 9, 8])
    qpos = np.array([0, 4, 12, 0, 6, 6])
    assert asof_indices([keys], pos, [queries], qpos).tolist() == [0, 1, 3, -1, 2, -1]


def test_asof_version_after_row_is_invisible_to_that_row() -> None:
    """A version at 2*row+1 (close tombstone) is seen by row+1, not by row itself."""
    result = asof_indices([np.array([1, 1])], np.array([0, 5]), [np.array([1, 1])], np.array([4, 6]))
    assert result.tolist() == [0, 1]


def test_asof_composite_key() -> None:
    """Keys made of two arrays (pid, fd) must match on both parts."""
    result = asof_indices([np.array([1, 1, 2]), np.array([3, 4, 3])], np.array([0, 0, 0]),
                          [np.array([1, 2, 2]), np.array([4, 3, 4])], np.array([2, 2, 2]))
    assert result.tolist() == [1, 2, -1]


def test_latest_per_key_prefers_highest_position_then_last_appended() -> None:
    """The snapshot keeps one version per key: the newest."""
    assert latest_per_key([np.array([5, 5, 6, 5])], np.array([0, 8, 3, 8])).tolist() == [2, 3]


def test_resolve_inheritance_follows_chains() -> None:
    """Pointer jumping ends at the version that sets the value, or -1."""
    assert resolve_inheritance(np.array([0, 0, 1, 2, -1, 4])).tolist() == [0, 0, 0, 0, -1, -1]


def test_materialize_inherits_unset_fields_from_base() -> None:
    """A new version copies the fields it does not set from its base version."""
    snapshot = VersionTable([np.array([10])], np.array([-1]), {"comm": pa.array(["bash"]), "uid": pa.array([1000])})
    pending = PendingVersions([np.array([10])], np.array([4]), {"comm": pa.array(["cat"])},
                              {"comm": np.array([True])}, np.array([0]))
    table = materialize(snapshot, pending, {"comm": pa.string(), "uid": pa.int64()})
    assert table.columns["comm"].to_pylist() == ["bash", "cat"]
    assert table.columns["uid"].to_pylist() == [1000, 1000]
