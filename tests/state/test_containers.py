"""Container metadata state: versions by position, bounded by the containers learned last."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from stages.state import containers
from stages.state.containers import ContainerInfo, ContainerState


def _learned(state: ContainerState, cid: str, name: str) -> None:
    state.add(ContainerInfo(cid, {"name": name, "image": None}), -1)


def test_metadata_is_kept_for_the_containers_learned_last(monkeypatch) -> None:
    """Past the bound the least recently learned container is dropped (an update counts as learning it
    again); the others stay findable after their keys are numbered afresh."""
    monkeypatch.setattr(containers, "MAX_CONTAINERS", 3)
    state = ContainerState()
    for cid in ("a", "b", "c"):
        _learned(state, cid, f"name-{cid}")
    state.end_batch()
    _learned(state, "a", "renamed-a")  # now the latest learned
    _learned(state, "d", "name-d")
    state.end_batch()
    assert list(state.current) == ["c", "a", "d"] and state.dropped == 1
    ids = pa.array(["a", "b", "c", "d", "host"])
    found = state.versions_at(ids, np.arange(5))
    assert state.column("name", found).to_pylist() == ["renamed-a", None, "name-c", "name-d", None]
    state.end_batch()  # nothing learned: the same seed
    assert state.column("name", state.versions_at(ids, np.arange(5))).to_pylist()[:4] == [
        "renamed-a", None, "name-c", "name-d"]
