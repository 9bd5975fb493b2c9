"""Containers: the container id of a thread from its cgroups, metadata from `container` events.

Id: the first cgroup path holding a 64-hex-digit id the way the runtimes write it — docker
(`/docker/<id>`, `docker-<id>.scope`), containerd/CRI (`cri-containerd-<id>.scope`, `/kubepods/.../<id>`),
cri-o (`crio-<id>.scope`), podman (`libpod-<id>.scope`) — shortened to 12 characters; `host` otherwise.
Computed per distinct cgroup entry (a batch's new thread versions share a handful), remembered across batches.

Metadata: captures carry `container` events (JSON in newer files, id/type/name/image parameters in old ones).
They are few, so they are parsed one by one; each becomes a version keyed by the container id, so an event
sees only the metadata known at that point of the capture.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stages.state.asof import asof_indices
from stages.state.raw import RawBatch

HOST = "host"
# `\Z`, not `$`: the end of the path only, not before a trailing newline.
_ID = re.compile(r"(?:^|[/:-])(?P<id>[0-9a-f]{64})(?:\.scope)?(?:\Z|/)")
_SUBSYSTEM = re.compile(r"^[^=]*=")  # `cpu,cpuacct=` before the path
CONTAINER_EVENT = "container"

CONTAINER_SCHEMA: dict[str, pa.DataType] = {
    "name": pa.string(), "image": pa.string(), "image_id": pa.string(), "image_repository": pa.string(),
    "image_tag": pa.string(), "image_digest": pa.string(), "type": pa.string(), "privileged": pa.bool_(),
    "full_id": pa.string(), "ip": pa.string(), "labels": pa.string(),
    "pod_name": pa.string(), "pod_namespace": pa.string(), "pod_uid": pa.string(), "pod_sandbox_id": pa.string(),
    "labels_json": pa.string(),  # the labels as a JSON object, for `container.label[KEY]`
    "mounts": pa.string(), "mounts_json": pa.string(),  # text as `container.mounts` prints it; JSON for `.mount*`
    "host_pid": pa.bool_(), "host_network": pa.bool_(), "host_ipc": pa.bool_(),
    "cni_json": pa.string(), "pod_ip": pa.string(), "pod_labels": pa.string(), "pod_labels_json": pa.string(),
}
# The pod of a Kubernetes container, from the labels the kubelet gives it (every CRI runtime and dockershim).
_POD_LABELS = {"pod_name": "io.kubernetes.pod.name", "pod_namespace": "io.kubernetes.pod.namespace",
               "pod_uid": "io.kubernetes.pod.uid", "pod_sandbox_id": "io.kubernetes.sandbox.id"}


def pod_values(labels: dict) -> dict[str, str | None]:
    """The metadata a container's labels give: its pod (`pod_*`, None outside Kubernetes) and the labels
    themselves as JSON (`labels_json`)."""
    return {name: (str(labels[label]) if labels.get(label) is not None else None)
            for name, label in _POD_LABELS.items()} | {"labels_json": json.dumps(labels, sort_keys=True)}


def pod_label_values(labels: dict) -> dict[str, str | None]:
    """The pod's own labels (its sandbox's, as the kubelet set them): `k8s.pod.labels`, `k8s.pod.label[KEY]`."""
    return {"pod_labels": labels_text(labels), "pod_labels_json": json.dumps(labels, sort_keys=True)}


Mount = tuple[str, str, str, bool, str]  # source, destination, mode, read-write, propagation


def mount_values(mounts: list[Mount]) -> dict[str, str]:
    """A container's mounts as `container.mounts` prints them (`source:dest:mode:rdwr:propagation`, comma
    separated, in the runtime's order) and as JSON for `container.mount*[...]`."""
    return {"mounts": ",".join(f"{src}:{dest}:{mode}:{'true' if rw else 'false'}:{propagation}"
                               for src, dest, mode, rw, propagation in mounts),
            "mounts_json": json.dumps([list(mount) for mount in mounts])}


def docker_mounts(entries: object) -> list[Mount]:
    """`Mounts` of Docker's inspect document, also the shape of a capture's container event (Source,
    Destination, Mode, RW, Propagation)."""
    return [(str(m.get("Source") or ""), str(m.get("Destination") or ""), str(m.get("Mode") or ""),
             bool(m.get("RW", False)), str(m.get("Propagation") or ""))
            for m in (entries if isinstance(entries, list) else []) if isinstance(m, dict)]


def split_image(image: str) -> tuple[str | None, str | None]:
    """`repo[:tag][@digest]` -> (repo, tag); a registry port's colon is not a tag's."""
    if not image:
        return None, None
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1:]
    return name, None


def labels_text(labels: object) -> str | None:
    """Labels as `container.labels` prints them: `key:value, key:value`."""
    return ", ".join(f"{k}:{v}" for k, v in labels.items()) if isinstance(labels, dict) else None

_TYPE_NAMES = {0: "docker", 1: "lxc", 2: "libvirt-lxc", 3: "mesos", 4: "rkt", 5: "custom", 6: "cri",
               7: "containerd", 8: "cri-o", 9: "bpm", 10: "static", 11: "podman"}


def container_ids(cgroups: pa.Array) -> pa.Array:
    """12-character container id per list of cgroup entries (`subsys=/path`), `host` when none matches.

    Threads share their cgroups: the entries are matched once per distinct value (Arrow's regex kernels
    compile the 64-digit pattern on every call, which costs more than matching a few entries here)."""
    result = np.full(len(cgroups), HOST, dtype=object)
    flat = cgroups.flatten()
    if len(flat):
        encoded = pc.dictionary_encode(flat)  # the distinct entries, and where each entry is among them
        ids = np.array([_entry_id(entry) for entry in encoded.dictionary.to_pylist()] + [None], dtype=object)
        found = ids[encoded.indices.fill_null(len(ids) - 1).to_numpy(zero_copy_only=False)]
        parents = pc.list_parent_indices(cgroups).to_numpy(zero_copy_only=False)
        matched_at = np.flatnonzero(np.not_equal(found, None))
        owners, first = np.unique(parents[matched_at], return_index=True)  # earliest entry per thread wins
        result[owners] = found[matched_at[first]]
    return pa.array(result.tolist(), type=pa.string())


@lru_cache(maxsize=4096)
def _entry_id(entry: str | None) -> str | None:
    """The container id in one cgroup entry, None when it names none."""
    if entry is None:
        return None
    found = _ID.search(_SUBSYSTEM.sub("", entry, count=1))
    return None if found is None else found.group("id")[:12]


@dataclass
class ContainerInfo:
    """Metadata of one container from a container event."""

    id: str
    values: dict[str, object]


def parse_container_event(json_text: str | None, params: dict[str, object]) -> ContainerInfo | None:
    """Metadata from a JSON container event, or from the old id/type/name/image parameters. What an event does
    not say takes libsinsp's default (not privileged, no mounts, no host namespace), as sysdig prints it."""
    if json_text:
        try:
            data = json.loads(json_text)
        except ValueError:
            return None
        body = data.get("container", data) if isinstance(data, dict) else None
        if not isinstance(body, dict) or not body.get("id"):
            return None
        full_id = str(body.get("full_id") or body["id"])
        image = body.get("image")
        repo = body.get("imagerepo")
        tag = body.get("imagetag")
        labels = body.get("labels") or {}
        pod_labels = body.get("pod_sandbox_labels")
        values = {
            "name": body.get("name"), "image": image, "image_id": body.get("imageid"),
            "image_repository": repo, "image_tag": tag, "image_digest": body.get("imagedigest"),
            "type": _TYPE_NAMES.get(body.get("type"), str(body.get("type"))) if body.get("type") is not None else None,
            "privileged": bool(body.get("privileged", False)), "full_id": full_id, "ip": body.get("ip"),
            "labels": labels_text(labels), "cni_json": body.get("cni_json") or None,
        } | {name: bool(body.get(name, False)) for name in ("host_pid", "host_network", "host_ipc")} \
            | pod_values(labels if isinstance(labels, dict) else {}) \
            | (pod_label_values(pod_labels) if isinstance(pod_labels, dict) else {}) \
            | mount_values(docker_mounts(body.get("Mounts")))
        if values["cni_json"] is not None:
            values["pod_ip"] = values["ip"]  # a pod's container: its address is the pod's
        return ContainerInfo(str(body["id"])[:12], values)
    cid = params.get("id")
    if not cid:
        return None
    ctype = params.get("type")
    values = {"name": params.get("name"), "image": params.get("image"),
              "type": _TYPE_NAMES.get(ctype) if isinstance(ctype, int) else None, "full_id": cid,
              "privileged": False, "host_pid": False, "host_network": False, "host_ipc": False} \
        | mount_values([])  # libsinsp's defaults: what these events do not carry
    return ContainerInfo(str(cid)[:12], values)


MAX_CONTAINERS = 4096  # metadata kept for this many containers, the least recently learned dropped first


class ContainerState:
    """Container metadata versions keyed by container id (ids mapped to small integers: a key's number is its
    place in `key_of`). Bounded: a host that runs container after container (a CI runner, a node's jobs) keeps
    the MAX_CONTAINERS learned last."""

    def __init__(self) -> None:
        self.key_of: dict[str, int] = {}
        self.keys: list[int] = []
        self.pos: list[int] = []
        self.rows: list[dict[str, object]] = []
        self.current: dict[str, dict[str, object]] = {}  # in the order learned (an update moves one last)
        self.dropped = 0
        self._changed = False

    def add(self, info: ContainerInfo, position: int) -> None:
        key = self.key_of.setdefault(info.id, len(self.key_of))
        merged = dict(self.current.pop(info.id, {}))
        merged.update({k: v for k, v in info.values.items() if v is not None})
        self.current[info.id] = merged
        self.keys.append(key)
        self.pos.append(position)
        self.rows.append(merged)
        self._changed = True

    def knows(self, container_id: str) -> bool:
        """Whether some metadata of the container is known."""
        return container_id in self.current

    def ingest(self, raw: RawBatch) -> dict[int, str]:
        """Parse this batch's container events (few: one per container) into versions at their rows.

        Returns the container id of each JSON container event by row: libsinsp gives such an event a thread of
        its own standing for the container (see `stages.state.threads`); the old id/type/name/image event has
        none."""
        rows = np.nonzero(raw.type_in({CONTAINER_EVENT}))[0]
        if len(rows) == 0:
            return {}
        json_col = raw.strings("arg.json")
        params = {name: raw.arrow(f"arg.{name}") for name in ("id", "type", "name", "image") if raw.has(f"arg.{name}")}
        json_events = {}
        for row in rows:
            row_params = {name: column[row].as_py() for name, column in params.items()}
            json_text = json_col[row].as_py()
            info = parse_container_event(json_text, row_params)
            if info is not None:
                self.add(info, 2 * int(row))
                if json_text:
                    json_events[int(row)] = info.id
        return json_events

    def versions_at(self, ids: pa.Array, query_pos: np.ndarray) -> np.ndarray:
        """The metadata version of each event's container (-1: none known at that point)."""
        if self.key_of:
            # Keys are numbered in insertion order, so a key's number is its place in `key_of`.
            known = pa.array(list(self.key_of), type=pa.string())
            query_keys = pc.index_in(ids.cast(pa.string()), value_set=known).fill_null(-1).to_numpy(
                zero_copy_only=False).astype(np.int64)
        else:
            query_keys = np.full(len(ids), -1, dtype=np.int64)
        return asof_indices([np.asarray(self.keys, dtype=np.int64)], np.asarray(self.pos, dtype=np.int64),
                            [query_keys], query_pos)

    def column(self, name: str, idx: np.ndarray) -> pa.Array:
        """Metadata field `name` of the versions `versions_at` found."""
        table = pa.array([row.get(name) for row in self.rows], type=CONTAINER_SCHEMA[name])
        if len(table) == 0:
            return pa.nulls(len(idx), type=CONTAINER_SCHEMA[name])
        return table.take(pa.array(idx, mask=idx < 0, type=pa.int64()))

    def end_batch(self) -> None:
        """Earlier batches' versions become the seed (position -1) of the next batch: the latest of each
        container, numbered afresh. A batch that learned nothing leaves the seed as it is."""
        if not self._changed:
            return
        while len(self.current) > MAX_CONTAINERS:
            del self.current[next(iter(self.current))]
            self.dropped += 1
        self.key_of = {cid: key for key, cid in enumerate(self.current)}
        self.keys = list(range(len(self.current)))
        self.pos = [-1] * len(self.current)
        self.rows = list(self.current.values())
        self._changed = False
