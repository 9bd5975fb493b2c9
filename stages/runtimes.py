"""Container metadata from the container runtimes' sockets, looked up in the background.

The live capture stage knows a thread's container id from its cgroups (`stages.state.containers`); the name,
image, labels and pod come from the runtime that runs the container. The capture stage hands each new id to
`RuntimeLookups.request` and takes the answers at its next batch (`answers`): no event waits for a runtime.
As with Falco's container plugin, events before the answer have `container.id` only.

Runtimes, over unix sockets: the Docker Engine API (`GET /containers/{id}/json`: docker, and podman, which
serves the same API), cri-o's info API (`GET /containers/{id}`) and the Kubernetes CRI over gRPC (containerd:
`stages.cri`). Bad answers, timeouts and missing sockets are counted, never raised into the capture.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import socket
import threading
import time
from collections.abc import Iterable

from config.logs import get_logger
from stages.state.containers import ContainerInfo, docker_mounts, labels_text, mount_values, pod_values, split_image

MAX_PENDING = 4096  # ids waiting for a lookup; more are counted as dropped and asked again when seen again
MAX_REMEMBERED = 65536  # ids asked already (a host's containers); past this the memory starts over
RECHECK_S = 10.0  # how often a host without a runtime socket is looked at again


class _UnixConnection(http.client.HTTPConnection):
    """HTTP over a unix socket (the runtimes' API sockets)."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def inspect(kind: str, path: str, container_id: str, timeout: float) -> ContainerInfo | None:
    """The container's metadata from a runtime's socket (`kind`: docker, podman, cri-o or containerd), None when
    the runtime does not know it. Raises OSError / ValueError / http.client.HTTPException when the socket cannot
    answer (and anything else when the answer has an unexpected shape)."""
    if kind == "containerd":
        from stages import cri  # grpc is imported only where a CRI socket is there to ask

        return cri.inspect(path, container_id, timeout)
    connection = _UnixConnection(path, timeout)
    try:
        suffix = "" if kind == "cri-o" else "/json"  # cri-o's info API, else the Docker Engine API
        connection.request("GET", f"/containers/{container_id}{suffix}")
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if response.status == 404:
        return None
    if response.status != 200:
        raise ValueError(f"{kind} answered {response.status}")
    if kind == "cri-o":
        return from_crio_info(container_id, json.loads(body))
    return from_docker_inspect(kind, json.loads(body))


def from_docker_inspect(kind: str, body: dict) -> ContainerInfo:
    """Docker's container inspect document -> the state's container metadata (`CONTAINER_SCHEMA`)."""
    config = body.get("Config") or {}
    host = body.get("HostConfig") or {}
    network = body.get("NetworkSettings") or {}
    labels = config.get("Labels") or {}
    image = config.get("Image") or ""
    repository, tag = split_image(image)
    image_id = str(body.get("Image") or "")
    full_id = str(body.get("Id") or "")
    values = {
        "name": str(body.get("Name") or "").lstrip("/") or None,
        "image": image or None, "image_id": image_id.removeprefix("sha256:")[:12] or None,
        "image_repository": repository, "image_tag": tag, "image_digest": None, "type": kind,
        "privileged": bool(host.get("Privileged", False)), "full_id": full_id or None,
        "ip": network.get("IPAddress") or None, "labels": labels_text(labels),
        # A namespace shared with the host is mode "host" (else private, or "container:<id>", "" by default).
        "host_pid": host.get("PidMode") == "host", "host_network": host.get("NetworkMode") == "host",
        "host_ipc": host.get("IpcMode") == "host",
    } | pod_values(labels) | mount_values(docker_mounts(body.get("Mounts")))
    return ContainerInfo(full_id[:12], values)


def from_crio_info(container_id: str, body: dict) -> ContainerInfo:
    """cri-o's container info document -> the state's container metadata. It names a Kubernetes container by
    the kubelet's label (cri-o's own name is `k8s_<container>_<pod>_...`); it says nothing of privilege and
    holds no full id."""
    labels = body.get("labels") or {}
    image = body.get("image") or ""
    repository, tag = split_image(image)
    addresses = body.get("ip_addresses") or ([body["ip_address"]] if body.get("ip_address") else [])
    pod = pod_values(labels)
    pod["pod_sandbox_id"] = pod["pod_sandbox_id"] or body.get("sandbox") or None
    values = {
        "name": labels.get("io.kubernetes.container.name") or body.get("name") or None, "image": image or None,
        "image_id": str(body.get("image_ref") or "").removeprefix("sha256:")[:12] or None,
        "image_repository": repository, "image_tag": tag, "image_digest": None, "type": "cri-o",
        "privileged": None, "full_id": None, "ip": addresses[0] if addresses else None,
        "labels": labels_text(labels),
    } | pod
    return ContainerInfo(container_id[:12], values)


class RuntimeLookups:
    """Looks container ids up on the configured runtime sockets in a thread of its own (started on the first
    request, in the process that asks: the capture process)."""

    def __init__(self, sockets: list[tuple[str, str]], timeout: float = 1.0) -> None:
        """`sockets`: (runtime kind, unix socket path) in the order they are tried."""
        self.sockets = sockets
        self.timeout = timeout
        self._pending: queue.Queue[str] = queue.Queue(maxsize=MAX_PENDING)
        self._answers: queue.Queue[ContainerInfo] = queue.Queue()
        self._asked: set[str] = set()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._failing: set[str] = set()  # sockets whose last lookup failed (logged once, until they answer)
        self._available, self._next_check = False, 0.0
        self.counts = {"requested": 0, "found": 0, "not_found": 0, "failed": 0, "dropped": 0}

    def available(self) -> bool:
        """Whether some configured socket exists, looked at once every RECHECK_S seconds (a runtime started
        after the sensor is found then): without one, nothing is worth listing new container ids for."""
        now = time.monotonic()
        if now >= self._next_check:
            self._available = any(os.path.exists(path) for _, path in self.sockets)
            self._next_check = now + RECHECK_S
        return self._available

    def request(self, container_ids: Iterable[str]) -> None:
        """Look these ids up unless asked already (a full queue counts them dropped; they are asked again when
        seen again)."""
        for cid in container_ids:
            if cid in self._asked:
                continue
            if len(self._asked) >= MAX_REMEMBERED:
                self._asked.clear()
            try:
                self._pending.put_nowait(cid)
            except queue.Full:
                self.counts["dropped"] += 1
                continue
            self._asked.add(cid)
            self.counts["requested"] += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="saker-runtimes", daemon=True)
                self._thread.start()

    def answers(self) -> list[ContainerInfo]:
        """The metadata found since the last call."""
        found = []
        while True:
            try:
                found.append(self._answers.get_nowait())
            except queue.Empty:
                return found

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            try:
                self._pending.put_nowait(None)  # type: ignore[arg-type]  # wakes a waiting thread
            except queue.Full:
                pass  # a busy thread sees the stop before its next lookup
            self._thread.join(timeout=2 * self.timeout + 1)

    def _run(self) -> None:
        log = get_logger("runtimes")
        while not self._stop.is_set():
            cid = self._pending.get()
            if cid is None:
                return
            info = self._lookup(cid, log)
            if info is not None:
                self._answers.put(info)

    def _lookup(self, cid: str, log) -> ContainerInfo | None:
        failed = False
        for kind, path in self.sockets:
            if not os.path.exists(path):
                continue
            try:
                info = inspect(kind, path, cid, self.timeout)
            except Exception as exc:  # the thread's boundary: a bad answer of any shape must not end the lookups
                failed = True
                if path not in self._failing:
                    self._failing.add(path)
                    log.warning("container runtime lookups failing", runtime=kind, socket=path, container=cid,
                                detail=str(exc))
                continue
            if path in self._failing:
                self._failing.discard(path)
                log.info("container runtime answering again", runtime=kind, socket=path)
            if info is not None:
                self.counts["found"] += 1
                return info
        if failed:
            self.counts["failed"] += 1
            self._asked.discard(cid)  # asked again when seen again: the socket may answer by then
        else:
            self.counts["not_found"] += 1  # no runtime here runs it (e.g. one without a socket configured)
        return None
