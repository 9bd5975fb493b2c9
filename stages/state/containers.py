"""Containers: the container id of a thread from its cgroups, metadata from `container` events.

Id: the first cgroup path holding a 64-hex-digit id the way the runtimes write it — docker
(`/docker/<id>`, `docker-<id>.scope`), containerd/CRI (`cri-containerd-<id>.scope`, `/kubepods/.../<id>`),
cri-o (`crio-<id>.scope`), podman (`libpod-<id>.scope`) — shortened to 12 characters; `host` otherwise.
Computed per thread version with one vectorized regex extraction.

Metadata: captures carry `container` events (JSON in newer files, id/type/name/image parameters in old ones).
They are few, so they are parsed one by one; each becomes a version keyed by the container id, so an event
sees only the metadata known at that point of the capture.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stages.state.asof import asof_indices
from stages.state.raw import RawBatch

HOST = "host"
ID_PATTERN = r"(?:^|[/:-])(?P<id>[0-9a-f]{64})(?:\.scope)?(?:$|/)"
CONTAINER_EVENT = "container"

CONTAINER_SCHEMA: dict[str, pa.DataType] = {
    "name": pa.string(), "image": pa.string(), "image_id": pa.string(), "image_repository": pa.string(),
    "image_tag": pa.string(), "image_digest": pa.string(), "type": pa.string(), "privileged": pa.bool_(),
    "full_id": pa.string(), "ip": pa.string(), "labels": pa.string(),
}

_TYPE_NAMES = {0: "docker", 1: "lxc", 2: "libvirt-lxc", 3: "mesos", 4: "rkt", 5: "custom", 6: "cri",
               7: "containerd", 8: "cri-o", 9: "bpm", 10: "static", 11: "podman"}


def container_ids(cgroups: pa.Array) -> pa.Array:
    """12-character container id per list of cgroup entries (`subsys=/path`), `host` when none matches."""
    if len(cgroups) == 0:
        return pa.array([], type=pa.string())
    flat = cgroups.flatten()
    parents = pc.list_parent_indices(cgroups).to_numpy(zero_copy_only=False)
    paths = pc.replace_substring_regex(flat, pattern=r"^[^=]*=", replacement="")
    found = pc.struct_field(pc.extract_regex(paths, pattern=ID_PATTERN), [0]) if len(flat) else pa.array(
        [], pa.string())
    result = np.full(len(cgroups), None, dtype=object)
    if len(flat):
        matched = found.is_valid().to_numpy(zero_copy_only=False)
        ids = pc.utf8_slice_codeunits(found, 0, 12).to_numpy(zero_copy_only=False)
        matched_at = np.nonzero(matched)[0]
        owners, first = np.unique(parents[matched_at], return_index=True)  # earliest entry per thread wins
        result[owners] = ids[matched_at[first]]
    result[np.equal(result, None)] = HOST
    return pa.array(result, type=pa.string())


@dataclass
class ContainerInfo:
    """Metadata of one container from a container event."""

    id: str
    values: dict[str, object]


def parse_container_event(json_text: str | None, params: dict[str, object]) -> ContainerInfo | None:
    """Metadata from a JSON container event, or from the old id/type/name/image parameters."""
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
        values = {
            "name": body.get("name"), "image": image, "image_id": body.get("imageid"),
            "image_repository": repo, "image_tag": tag, "image_digest": body.get("imagedigest"),
            "type": _TYPE_NAMES.get(body.get("type"), str(body.get("type"))) if body.get("type") is not None else None,
            "privileged": body.get("privileged"), "full_id": full_id, "ip": body.get("ip"),
            "labels": ", ".join(f"{k}:{v}" for k, v in labels.items()) if isinstance(labels, dict) else None,
        }
        return ContainerInfo(str(body["id"])[:12], values)
    cid = params.get("id")
    if not cid:
        return None
    ctype = params.get("type")
    values = {"name": params.get("name"), "image": params.get("image"),
              "type": _TYPE_NAMES.get(ctype) if isinstance(ctype, int) else None, "full_id": cid}
    return ContainerInfo(str(cid)[:12], values)


class ContainerState:
    """Container metadata versions keyed by container id (ids mapped to small integers)."""

    def __init__(self) -> None:
        self.key_of: dict[str, int] = {}
        self.keys: list[int] = []
        self.pos: list[int] = []
        self.rows: list[dict[str, object]] = []
        self.current: dict[str, dict[str, object]] = {}

    def add(self, info: ContainerInfo, position: int) -> None:
        key = self.key_of.setdefault(info.id, len(self.key_of))
        merged = dict(self.current.get(info.id, {}))
        merged.update({k: v for k, v in info.values.items() if v is not None})
        self.current[info.id] = merged
        self.keys.append(key)
        self.pos.append(position)
        self.rows.append(merged)

    def ingest(self, raw: RawBatch) -> None:
        """Parse this batch's container events (few: one per container) into versions at their rows."""
        rows = np.nonzero(raw.type_in({CONTAINER_EVENT}))[0]
        if len(rows) == 0:
            return
        json_col = raw.strings("arg.json")
        params = {name: raw.arrow(f"arg.{name}") for name in ("id", "type", "name", "image") if raw.has(f"arg.{name}")}
        for row in rows:
            row_params = {name: column[row].as_py() for name, column in params.items()}
            info = parse_container_event(json_col[row].as_py(), row_params)
            if info is not None:
                self.add(info, 2 * int(row))

    def columns_for(self, ids: pa.Array, query_pos: np.ndarray, wanted: list[str]) -> dict[str, pa.Array]:
        """Metadata columns per event (null when unknown at that point), for the container ids given."""
        if self.key_of:
            # Keys are numbered in insertion order, so a key's number is its place in `key_of`.
            known = pa.array(list(self.key_of), type=pa.string())
            query_keys = pc.index_in(ids.cast(pa.string()), value_set=known).fill_null(-1).to_numpy(
                zero_copy_only=False).astype(np.int64)
        else:
            query_keys = np.full(len(ids), -1, dtype=np.int64)
        idx = asof_indices([np.asarray(self.keys, dtype=np.int64)], np.asarray(self.pos, dtype=np.int64),
                           [query_keys], query_pos)
        columns = {}
        for name in wanted:
            table = pa.array([row.get(name) for row in self.rows], type=CONTAINER_SCHEMA[name])
            columns[name] = table.take(pa.array(idx, mask=idx < 0, type=pa.int64())) if len(table) else pa.nulls(
                len(idx), type=CONTAINER_SCHEMA[name])
        return columns

    def end_batch(self) -> None:
        """Earlier batches' versions become the seed (position -1) of the next batch."""
        self.keys = []
        self.pos = []
        self.rows = []
        for cid, values in self.current.items():
            self.keys.append(self.key_of[cid])
            self.pos.append(-1)
            self.rows.append(values)
