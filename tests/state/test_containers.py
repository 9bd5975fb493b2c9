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


def test_a_container_event_gives_its_pod_sandbox_mounts_and_namespaces() -> None:
    """The container plugin's JSON: the pod's labels, CNI result (its address is then the pod's), host
    namespaces and mounts; what an event leaves out takes libsinsp's default (not privileged, no mounts)."""
    import json

    body = {"container": {
        "id": "32a1026ccb88", "type": 7, "name": "web", "image": "nginx:1", "ip": "10.1.0.7",
        "cni_json": '{"eth0":{}}', "host_pid": True, "host_network": False, "host_ipc": False,
        "labels": {"io.kubernetes.pod.name": "web-7d9f"}, "pod_sandbox_labels": {"app": "web", "tier": "front"},
        "Mounts": [{"Source": "/srv", "Destination": "/data", "Mode": "ro", "RW": False, "Propagation": "rprivate"}]}}
    values = containers.parse_container_event(json.dumps(body), {}).values
    assert (values["type"], values["pod_name"], values["pod_ip"], values["cni_json"]) == (
        "containerd", "web-7d9f", "10.1.0.7", '{"eth0":{}}')
    assert values["pod_labels"] == "app:web, tier:front" and json.loads(values["pod_labels_json"])["tier"] == "front"
    assert (values["host_pid"], values["host_network"]) == (True, False)
    assert values["mounts"] == "/srv:/data:ro:false:rprivate"
    bare = containers.parse_container_event(json.dumps({"container": {"id": "32a1026ccb88", "ip": "172.17.0.2"}}),
                                            {}).values
    assert (bare["privileged"], bare["mounts"], bare["host_network"], bare.get("pod_ip")) == (False, "", False, None)
    old = containers.parse_container_event(None, {"id": "59fd49aa4072", "type": 0, "name": "lb", "image": "haproxy"})
    assert (old.values["type"], old.values["privileged"], old.values["mounts"], old.values["host_pid"]) == (
        "docker", False, "", False)
