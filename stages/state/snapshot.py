"""Save and restore an Enricher's state, so a capture file can be replayed from its own start.

The snapshot is data only (no pickle: a capture file may come from anywhere): a JSON manifest followed by
Arrow IPC streams.

    u32 manifest length | manifest (JSON) | blob 0 | blob 1 | ...

The manifest lists the blobs (name, byte length) and carries the small parts as JSON: the user and group
directory and the container metadata. The blobs are the thread and fd version tables (latest version per key)
and the enter events still waiting for their exit.
"""

from __future__ import annotations

import json
import struct

import numpy as np
import pyarrow as pa

from stages.state.containers import ContainerInfo, ContainerState
from stages.state.enrich import ENTER_PARAMS, Enricher
from stages.state.users import Directory
from stages.state.versions import VersionTable

_LENGTH = struct.Struct("<I")
_KEY = "__key{}"
_POS = "__pos"


def dump(enricher: Enricher) -> bytes:
    """The enricher's state between two batches, as bytes."""
    blobs = {
        "threads": _table_bytes(_version_table(enricher.threads.snapshot)),
        "fds": _table_bytes(_version_table(enricher.fds.snapshot)),
    }
    memo = enricher._enter_memo
    if memo is not None:
        blobs["enters"] = _table_bytes(pa.table({"tid": memo["tid"], "type_id": memo["type_id"], **memo["params"]}))
    manifest = {
        "version": 1,
        "blobs": [[name, len(data)] for name, data in blobs.items()],
        "users": [[uid, *info] for uid, info in enricher.directory.users.items()],
        "groups": [[gid, name] for gid, name in enricher.directory.groups.items()],
        "containers": enricher.containers.current,
    }
    header = json.dumps(manifest, default=str).encode()
    return _LENGTH.pack(len(header)) + header + b"".join(blobs.values())


def restore(data: bytes) -> Enricher:
    """A new Enricher in the state `dump` saved."""
    (size,) = _LENGTH.unpack_from(data, 0)
    manifest = json.loads(data[_LENGTH.size:_LENGTH.size + size])
    if manifest.get("version") != 1:
        raise ValueError(f"unknown state snapshot version {manifest.get('version')!r}")
    offset = _LENGTH.size + size
    tables = {}
    for name, length in manifest["blobs"]:
        tables[name] = pa.ipc.open_stream(pa.py_buffer(data[offset:offset + length])).read_all()
        offset += length
    directory = Directory({int(u[0]): (u[1], u[2], u[3]) for u in manifest["users"]},
                          {int(g): name for g, name in manifest["groups"]})
    enricher = Enricher(directory=directory)
    enricher.threads.snapshot = _from_table(tables["threads"])
    enricher.threads.counters.live = len(enricher.threads.snapshot)
    enricher.fds.snapshot = _from_table(tables["fds"])
    enricher.fds.counters.live = len(enricher.fds.snapshot)
    enricher.containers = _containers(manifest["containers"])
    if "enters" in tables:
        enters = tables["enters"]
        params = {name: enters.column(name).combine_chunks() for name in enters.column_names
                  if name not in ("tid", "type_id")}
        for name, kind in ENTER_PARAMS.items():  # a parameter added since the snapshot was taken: none known
            params.setdefault(name, pa.nulls(enters.num_rows, type=kind))
        enricher._enter_memo = {
            "tid": enters.column("tid").to_numpy(), "type_id": enters.column("type_id").to_numpy(),
            "params": params,
        }
    return enricher


def _version_table(table: VersionTable) -> pa.Table:
    table = table.compacted()
    columns = {_KEY.format(i): pa.array(key) for i, key in enumerate(table.keys)}
    columns[_POS] = pa.array(table.pos)
    columns.update(table.columns)
    return pa.table(columns)


def _from_table(table: pa.Table) -> VersionTable:
    keys = []
    while _KEY.format(len(keys)) in table.column_names:
        keys.append(table.column(_KEY.format(len(keys))).to_numpy())
    skip = {_POS} | {_KEY.format(i) for i in range(len(keys))}
    columns = {name: table.column(name).combine_chunks() for name in table.column_names if name not in skip}
    return VersionTable(keys, np.asarray(table.column(_POS).to_numpy(), dtype=np.int64), columns)


def _containers(current: dict[str, dict[str, object]]) -> ContainerState:
    state = ContainerState()
    for cid, values in current.items():
        state.add(ContainerInfo(cid, dict(values)), -1)
    state.end_batch()
    return state


def _table_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()
