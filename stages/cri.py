"""Container metadata from a CRI runtime (containerd, and any runtime serving the Kubernetes CRI) over gRPC.

`runtime.v1.RuntimeService/ContainerStatus` with `verbose` set answers the container's name, image, labels and
mounts and, in the verbose `info` (containerd's JSON), its sandbox, its namespaces and whether it is
privileged. Then `PodSandboxStatus` of that sandbox gives the pod's labels, address and CNI result, as libsinsp
asks. An id that is no container may be a pod's sandbox itself (its pause container): it is asked for as one.
The messages are described here from the CRI's `api.proto` (the fields this reads, by their numbers there), so
protobuf encodes and decodes them and the runtime's other fields are skipped as unknown ones.
"""

from __future__ import annotations

import json

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from stages.state.containers import ContainerInfo, labels_text, mount_values, pod_label_values, pod_values, split_image

METHOD = "/runtime.v1.RuntimeService/ContainerStatus"
SANDBOX_METHOD = "/runtime.v1.RuntimeService/PodSandboxStatus"

_STRING, _BOOL, _INT64, _INT32, _UINT32, _MESSAGE = (
    descriptor_pb2.FieldDescriptorProto.TYPE_STRING, descriptor_pb2.FieldDescriptorProto.TYPE_BOOL,
    descriptor_pb2.FieldDescriptorProto.TYPE_INT64, descriptor_pb2.FieldDescriptorProto.TYPE_INT32,
    descriptor_pb2.FieldDescriptorProto.TYPE_UINT32, descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE)
_MAP = "map"  # a map<string, string> field
_REPEATED = "repeated "  # before a message name: a repeated field of it
_NODE = 2  # NamespaceMode NODE: the host's namespace
_PROPAGATION = {0: "private", 1: "rslave", 2: "rshared"}  # MountPropagation, named as libsinsp names it

# message -> (field name, number, type or message name); numbers as in the CRI's runtime/v1 api.proto.
_MESSAGES = {
    "ContainerStatusRequest": [("container_id", 1, _STRING), ("verbose", 2, _BOOL)],
    "ContainerMetadata": [("name", 1, _STRING), ("attempt", 2, _UINT32)],
    "ImageSpec": [("image", 1, _STRING)],
    "Mount": [("container_path", 1, _STRING), ("host_path", 2, _STRING), ("readonly", 3, _BOOL),
              ("selinux_relabel", 4, _BOOL), ("propagation", 5, _INT32)],
    "ContainerStatus": [("id", 1, _STRING), ("metadata", 2, "ContainerMetadata"), ("state", 3, _INT32),
                        ("created_at", 4, _INT64), ("image", 8, "ImageSpec"), ("image_ref", 9, _STRING),
                        ("labels", 12, _MAP), ("annotations", 13, _MAP), ("mounts", 14, _REPEATED + "Mount"),
                        ("log_path", 15, _STRING)],
    "ContainerStatusResponse": [("status", 1, "ContainerStatus"), ("info", 2, _MAP)],
    "PodSandboxStatusRequest": [("pod_sandbox_id", 1, _STRING), ("verbose", 2, _BOOL)],
    "PodSandboxMetadata": [("name", 1, _STRING), ("uid", 2, _STRING), ("namespace", 3, _STRING),
                           ("attempt", 4, _UINT32)],
    "PodSandboxNetworkStatus": [("ip", 1, _STRING)],
    "NamespaceOption": [("network", 1, _INT32), ("pid", 2, _INT32), ("ipc", 3, _INT32)],
    "Namespace": [("options", 2, "NamespaceOption")],
    "LinuxPodSandboxStatus": [("namespaces", 1, "Namespace")],
    "PodSandboxStatus": [("id", 1, _STRING), ("metadata", 2, "PodSandboxMetadata"), ("state", 3, _INT32),
                         ("created_at", 4, _INT64), ("network", 5, "PodSandboxNetworkStatus"),
                         ("linux", 6, "LinuxPodSandboxStatus"), ("labels", 7, _MAP), ("annotations", 8, _MAP)],
    "PodSandboxStatusResponse": [("status", 1, "PodSandboxStatus"), ("info", 2, _MAP)],
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
                repeated = kind.startswith(_REPEATED)
                field.label = field.LABEL_REPEATED if repeated else field.LABEL_OPTIONAL
                field.type, field.type_name = _MESSAGE, f".runtime.v1.{kind.removeprefix(_REPEATED)}"
            else:
                field.label, field.type = field.LABEL_OPTIONAL, kind
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"runtime.v1.{name}"))
            for name in _MESSAGES}


MESSAGES = _message_classes()
Request, Response = MESSAGES["ContainerStatusRequest"], MESSAGES["ContainerStatusResponse"]
SandboxRequest, SandboxResponse = MESSAGES["PodSandboxStatusRequest"], MESSAGES["PodSandboxStatusResponse"]


def inspect(path: str, container_id: str, timeout: float) -> ContainerInfo | None:
    """The container's metadata from the CRI socket at `path`, None when the runtime does not know it. Raises
    ValueError when the socket cannot answer."""
    with grpc.insecure_channel(f"unix://{path}") as channel:
        call = channel.unary_unary(METHOD, request_serializer=Request.SerializeToString,
                                   response_deserializer=Response.FromString)
        try:
            response = call(Request(container_id=container_id, verbose=True), timeout=timeout)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                raise ValueError(f"CRI {exc.code().name}: {exc.details()}") from None
            sandbox = _sandbox_status(channel, container_id, timeout)
            return None if sandbox is None else from_sandbox(container_id, sandbox)
        info = from_status(container_id, response)
        sandbox_id = info.values["pod_sandbox_id"]
        sandbox = _sandbox_status(channel, sandbox_id, timeout) if sandbox_id else None
    if sandbox is not None:  # (the container's own namespace modes, when its info gives them, stand)
        info.values = _pod_values(sandbox) | info.values
        info.values["ip"] = info.values["pod_ip"]  # a pod's containers share its address, as libsinsp says
    return info


def _sandbox_status(channel: grpc.Channel, sandbox_id: str, timeout: float):
    """PodSandboxStatus (verbose) of a sandbox, None when the runtime cannot say (unknown id, or a runtime
    without the call): the container's own metadata stands without it."""
    call = channel.unary_unary(SANDBOX_METHOD, request_serializer=SandboxRequest.SerializeToString,
                               response_deserializer=SandboxResponse.FromString)
    try:
        return call(SandboxRequest(pod_sandbox_id=sandbox_id, verbose=True), timeout=timeout)
    except grpc.RpcError:
        return None


def from_sandbox(container_id: str, response) -> ContainerInfo:
    """A PodSandboxStatusResponse for an id that is a pod's sandbox (its pause container): the pod's labels
    stand as the container's, as libsinsp keeps them."""
    status = response.status
    labels = dict(status.labels)
    pod = pod_values(labels)
    metadata = status.metadata
    pod.update({"pod_name": pod["pod_name"] or metadata.name or None,
                "pod_namespace": pod["pod_namespace"] or metadata.namespace or None,
                "pod_uid": pod["pod_uid"] or metadata.uid or None, "pod_sandbox_id": status.id or None})
    values = {"type": "containerd", "full_id": status.id or None, "labels": labels_text(labels)} | pod \
        | _pod_values(response)
    values["ip"] = values["pod_ip"]
    return ContainerInfo((status.id or container_id)[:12], values)


def _pod_values(response) -> dict[str, object]:
    """What a PodSandboxStatusResponse says of the pod: labels, address (none on the host's network), CNI result,
    and which of its namespaces are the host's."""
    status = response.status
    options = status.linux.namespaces.options
    host_network = options.network == _NODE
    return {"pod_ip": None if host_network else (status.network.ip or None),
            "cni_json": _cni_result(_verbose_info(response.info)), "host_network": host_network,
            "host_pid": options.pid == _NODE, "host_ipc": options.ipc == _NODE} | pod_label_values(dict(status.labels))


def _cni_result(details: dict) -> str | None:
    """containerd's CNI result of a pod (its verbose info's `cniResult.Interfaces`), trimmed as libsinsp trims
    it: no loopback or host-side veth interfaces, no MAC addresses or sandbox paths; compact JSON, keys sorted."""
    interfaces = (details.get("cniResult") or {}).get("Interfaces") if isinstance(details.get("cniResult"), dict) \
        else None
    if not isinstance(interfaces, dict):
        return None
    kept = {name: {key: value for key, value in interface.items() if key not in ("Mac", "Sandbox")}
            if isinstance(interface, dict) else interface
            for name, interface in interfaces.items() if name != "lo" and not name.startswith("veth")}
    return json.dumps(kept, sort_keys=True, separators=(",", ":"))


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
    } | pod | _host_namespaces(details) | mount_values(
        [(m.host_path, m.container_path, "", not m.readonly, _PROPAGATION.get(m.propagation, "unknown"))
         for m in status.mounts])
    return ContainerInfo((status.id or container_id)[:12], values)


def _verbose_info(info) -> dict:
    """containerd's verbose `info` entry (JSON), {} when absent or not JSON."""
    try:
        parsed = json.loads(info.get("info", "") or "{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _security_context(details: dict) -> dict | None:
    """config.linux.security_context of containerd's verbose info ({} when the config has none); None without
    the info's config."""
    config = details.get("config")
    if not isinstance(config, dict):
        return None
    return (config.get("linux") or {}).get("security_context") or {}


def _host_namespaces(details: dict) -> dict[str, bool]:
    """Which namespaces the container shares with the host: the security context's namespace_options (NODE; an
    absent mode is POD, JSON leaving out zeros). {} without the info's config."""
    context = _security_context(details)
    if context is None:
        return {}
    options = context.get("namespace_options") or {}
    return {f"host_{name}": options.get(name) == _NODE for name in ("network", "pid", "ipc")}


def _privileged(details: dict) -> bool | None:
    """The security context's `privileged`, which containerd's JSON leaves out when false (a real containerd's
    answer for an unprivileged container has no such key); None without the info's config."""
    context = _security_context(details)
    return None if context is None else bool(context.get("privileged", False))
