"""Container metadata from a CRI runtime (containerd, and any runtime serving the Kubernetes CRI) over gRPC.

One call: `runtime.v1.RuntimeService/ContainerStatus` with `verbose` set, whose answer holds the container's
name, image, labels and, in the verbose `info` (containerd's JSON), its sandbox and whether it is privileged.
The messages are described here from the CRI's `api.proto` (the fields this reads, by their numbers there), so
protobuf encodes and decodes them and the runtime's other fields are skipped as unknown ones.
"""

from __future__ import annotations

import json

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from stages.state.containers import ContainerInfo, labels_text, pod_values, split_image

METHOD = "/runtime.v1.RuntimeService/ContainerStatus"

_STRING, _BOOL, _INT64, _INT32, _UINT32, _MESSAGE = (
    descriptor_pb2.FieldDescriptorProto.TYPE_STRING, descriptor_pb2.FieldDescriptorProto.TYPE_BOOL,
    descriptor_pb2.FieldDescriptorProto.TYPE_INT64, descriptor_pb2.FieldDescriptorProto.TYPE_INT32,
    descriptor_pb2.FieldDescriptorProto.TYPE_UINT32, descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE)
_MAP = "map"  # a map<string, string> field

# message -> (field name, number, type or message name); numbers as in the CRI's runtime/v1 api.proto.
_MESSAGES = {
    "ContainerStatusRequest": [("container_id", 1, _STRING), ("verbose", 2, _BOOL)],
    "ContainerMetadata": [("name", 1, _STRING), ("attempt", 2, _UINT32)],
    "ImageSpec": [("image", 1, _STRING)],
    "ContainerStatus": [("id", 1, _STRING), ("metadata", 2, "ContainerMetadata"), ("state", 3, _INT32),
                        ("created_at", 4, _INT64), ("image", 8, "ImageSpec"), ("image_ref", 9, _STRING),
                        ("labels", 12, _MAP), ("annotations", 13, _MAP), ("log_path", 15, _STRING)],
    "ContainerStatusResponse": [("status", 1, "ContainerStatus"), ("info", 2, _MAP)],
}


def _message_classes() -> dict[str, type]:
    """The messages above as protobuf classes, in a pool of their own."""
    proto = descriptor_pb2.FileDescriptorProto(name="saker/cri_status.proto", package="runtime.v1", syntax="proto3")
    for name, fields in _MESSAGES.items():
        message = proto.message_type.add(name=name)
        for field_name, number, kind in fields:
            field = message.field.add(name=field_name, number=number)
            if kind == _MAP:  # map<string, string>: a repeated entry message flagged map_entry
                entry = message.nested_type.add(name="".join(p.title() for p in field_name.split("_")) + "Entry")
                entry.options.map_entry = True
                entry.field.add(name="key", number=1, type=_STRING, label=field.LABEL_OPTIONAL)
                entry.field.add(name="value", number=2, type=_STRING, label=field.LABEL_OPTIONAL)
                field.label, field.type = field.LABEL_REPEATED, _MESSAGE
                field.type_name = f".runtime.v1.{name}.{entry.name}"
            elif isinstance(kind, str):
                field.label, field.type, field.type_name = field.LABEL_OPTIONAL, _MESSAGE, f".runtime.v1.{kind}"
            else:
                field.label, field.type = field.LABEL_OPTIONAL, kind
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"runtime.v1.{name}"))
            for name in _MESSAGES}


MESSAGES = _message_classes()
Request, Response = MESSAGES["ContainerStatusRequest"], MESSAGES["ContainerStatusResponse"]


def inspect(path: str, container_id: str, timeout: float) -> ContainerInfo | None:
    """The container's metadata from the CRI socket at `path`, None when the runtime does not know it. Raises
    ValueError when the socket cannot answer."""
    with grpc.insecure_channel(f"unix://{path}") as channel:
        call = channel.unary_unary(METHOD, request_serializer=Request.SerializeToString,
                                   response_deserializer=Response.FromString)
        try:
            response = call(Request(container_id=container_id, verbose=True), timeout=timeout)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise ValueError(f"CRI {exc.code().name}: {exc.details()}") from None
    return from_status(container_id, response)


def from_status(container_id: str, response) -> ContainerInfo:
    """A ContainerStatusResponse -> the state's container metadata. A Kubernetes container is named by the
    kubelet's label, as Falco's CRI engine does (the CRI metadata name is the same for pod containers)."""
    status = response.status
    labels = dict(status.labels)
    details = _verbose_info(response.info)
    image = status.image.image
    if image.startswith("sha256:") and status.image_ref:  # an image given by id: its reference names it
        image = status.image_ref
    repository, tag = split_image(image)
    pod = pod_values(labels)
    pod["pod_sandbox_id"] = pod["pod_sandbox_id"] or details.get("sandboxID") or None
    values = {
        "name": labels.get("io.kubernetes.container.name") or status.metadata.name or None, "image": image or None,
        "image_id": status.image_ref.removeprefix("sha256:")[:12] or None, "image_repository": repository,
        "image_tag": tag, "image_digest": None, "type": "containerd", "privileged": _privileged(details),
        "full_id": status.id or None, "ip": None, "labels": labels_text(labels),
    } | pod
    return ContainerInfo((status.id or container_id)[:12], values)


def _verbose_info(info) -> dict:
    """containerd's verbose `info` entry (JSON), {} when absent or not JSON."""
    try:
        parsed = json.loads(info.get("info", "") or "{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _privileged(details: dict) -> bool | None:
    """config.linux.security_context.privileged of containerd's verbose info, whose JSON leaves out a false
    value (a real containerd's answer for an unprivileged container has no such key); None without the info's
    config."""
    config = details.get("config")
    if not isinstance(config, dict):
        return None
    context = (config.get("linux") or {}).get("security_context") or {}
    return bool(context.get("privileged", False))
