"""A Kubernetes CRI runtime on a unix socket, for tests: gRPC's `runtime.v1.RuntimeService/ContainerStatus`,
answered from protobuf wire bytes written out here field by field (numbers from the CRI's api.proto), so that a
wrong field number on the sensor's side shows instead of agreeing with itself."""

from __future__ import annotations

from concurrent import futures
from pathlib import Path

import grpc


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def field(number: int, payload: bytes | str | int) -> bytes:
    """One field: a varint for an int, length-delimited for text or an embedded message. (tests.containerd
    writes its requests to a real containerd with these too.)"""
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    data = payload.encode() if isinstance(payload, str) else payload
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def map_field(number: int, entries: dict[str, str]) -> bytes:
    return b"".join(field(number, field(1, key) + field(2, value)) for key, value in entries.items())


def status_response(full_id: str, name: str, image: str, labels: dict[str, str], info: str) -> bytes:
    """ContainerStatusResponse{status: ContainerStatus{id 1, metadata 2 {name 1, attempt 2}, state 3, image 8
    {image 1}, image_ref 9, labels 12, log_path 15}, info 2}."""
    status = (field(1, full_id) + field(2, field(1, name) + field(2, 1)) + field(3, 1)
              + field(8, field(1, image)) + field(9, "sha256:" + "cd" * 32) + map_field(12, labels)
              + field(15, "/var/log/pods/x/0.log"))
    return field(1, status) + map_field(2, {"info": info})


class CriApi:
    def __init__(self, socket_path: Path, answers: dict[str, bytes]) -> None:
        """`answers`: the response bytes of each container, by full id (found by an id prefix)."""
        self.socket_path = socket_path
        self.requests: list[bytes] = []

        def container_status(request: bytes, context: grpc.ServicerContext) -> bytes:
            self.requests.append(request)
            wanted = request[2: 2 + request[1]].decode()  # field 1 (container_id), a short length
            for full_id, answer in answers.items():
                if full_id.startswith(wanted):
                    return answer
            context.abort(grpc.StatusCode.NOT_FOUND, f"container {wanted!r} not found")

        handler = grpc.method_handlers_generic_handler("runtime.v1.RuntimeService", {
            "ContainerStatus": grpc.unary_unary_rpc_method_handler(container_status)})
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), handlers=[handler])
        self.server.add_insecure_port(f"unix:{socket_path}")

    def __enter__(self) -> "CriApi":
        self.server.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop(grace=None)
        self.socket_path.unlink(missing_ok=True)
