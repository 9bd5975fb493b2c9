"""Container and Kubernetes fields (`container.*`, `k8s.*`), as the container plugin provides them.

Until the runtime has answered for a new container only `container.id`, `container.start_ts` and
`container.duration` have values. `proc.is_container_*` probes belong to this table because the plugin
defines them.
"""

from __future__ import annotations

from rules.fields.base import FieldClass, FieldType
from rules.fields.table import row

T = FieldType

# A mount is chosen by index or by a path glob; labels by key, bracketed or after a dot.
_MOUNT_ARG = "arg key"
_LABEL_ARG = "arg key dotted"

SUGGESTED_OUTPUT_FIELDS = (
    "container.id", "container.name", "container.image.repository", "container.image.tag",
    "k8s.pod.name", "k8s.ns.name",
)
"""Fields the plugin suggests appending to every rule output (default `append_output`)."""

_CONTAINER = (
    row("container.id", T.CHARBUF, "Short container id (12 hex characters); 'host' outside containers."),
    row("container.full_id", T.CHARBUF, "Full container id."),
    row("container.name", T.CHARBUF, "Container name; 'host' outside containers."),
    row("container.image", T.CHARBUF, "Image reference (repository:tag)."),
    row("container.image.id", T.CHARBUF, "Image id."),
    row("container.image.repository", T.CHARBUF, "Image repository without the tag."),
    row("container.image.tag", T.CHARBUF, "Image tag."),
    row("container.image.digest", T.CHARBUF, "Registry digest of the image."),
    row("container.type", T.CHARBUF, "Runtime kind: docker, containerd, cri-o, podman..."),
    row("container.privileged", T.BOOL, "True when the container runs privileged."),
    row("container.mounts", T.CHARBUF, "All mounts, comma-separated source:dest:mode:rdwr:propagation."),
    row("container.mount", T.CHARBUF, "One mount chosen by index or source path glob; null when none is.",
        _MOUNT_ARG),
    row("container.mount.source", T.CHARBUF, "Source of one mount, chosen by index or destination glob.",
        _MOUNT_ARG),
    row("container.mount.dest", T.CHARBUF, "Destination of one mount, chosen by index or source glob.",
        _MOUNT_ARG),
    row("container.mount.mode", T.CHARBUF, "Mode of one mount, chosen by index or source glob.", _MOUNT_ARG),
    row("container.mount.rdwr", T.CHARBUF, "Read-write flag of one mount, chosen by index or source glob.",
        _MOUNT_ARG),
    row("container.mount.propagation", T.CHARBUF, "Propagation of one mount, chosen by index or source glob.",
        _MOUNT_ARG),
    row("container.start_ts", T.ABSTIME, "Container start (its pid namespace start), epoch ns."),
    row("container.duration", T.RELTIME, "Nanoseconds since the container started."),
    row("container.ip", T.CHARBUF, "Primary IPv4 address of the container."),
    row("container.cni.json", T.CHARBUF, "CNI result as JSON text (CRI runtimes)."),
    row("container.host_pid", T.BOOL, "True when the container shares the host pid namespace."),
    row("container.host_network", T.BOOL, "True when the container shares the host network namespace."),
    row("container.host_ipc", T.BOOL, "True when the container shares the host IPC namespace."),
    row("container.label", T.CHARBUF, "One container label, container.label[KEY] or container.label.KEY.",
        _LABEL_ARG),
    row("container.labels", T.CHARBUF, "All labels as k:v, k:v (runtime-internal labels skipped)."),
    row("container.healthcheck", T.CHARBUF, "Deprecated: no longer extracted.", "dep"),
    row("container.liveness_probe", T.CHARBUF, "Deprecated: no longer extracted.", "dep"),
    row("container.readiness_probe", T.CHARBUF, "Deprecated: no longer extracted.", "dep"),
    row("proc.is_container_healthcheck", T.BOOL, "Deprecated: no longer extracted.", "dep"),
    row("proc.is_container_liveness_probe", T.BOOL, "Deprecated: no longer extracted.", "dep"),
    row("proc.is_container_readiness_probe", T.BOOL, "Deprecated: no longer extracted.", "dep"),
)


def _legacy_k8s(kind: str) -> tuple:
    """name/id/label/labels of a Kubernetes object kind whose metadata moved to the k8smeta plugin."""
    return (
        row(f"k8s.{kind}.name", T.CHARBUF, "Deprecated: accepted but never extracted.", "dep"),
        row(f"k8s.{kind}.id", T.CHARBUF, "Deprecated: accepted but never extracted.", "dep"),
        row(f"k8s.{kind}.label", T.CHARBUF, "Deprecated: accepted but never extracted.", "dep " + _LABEL_ARG),
        row(f"k8s.{kind}.labels", T.CHARBUF, "Deprecated: accepted but never extracted.", "dep"),
    )


_K8S = (
    row("k8s.pod.name", T.CHARBUF, "Pod name."),
    row("k8s.ns.name", T.CHARBUF, "Namespace name."),
    row("k8s.pod.uid", T.CHARBUF, "Pod UID."),
    row("k8s.pod.id", T.CHARBUF, "Legacy alias of k8s.pod.uid."),
    row("k8s.pod.sandbox_id", T.CHARBUF, "Pod sandbox id, short form."),
    row("k8s.pod.full_sandbox_id", T.CHARBUF, "Pod sandbox id, full form."),
    row("k8s.pod.label", T.CHARBUF, "One pod label, k8s.pod.label[KEY] or k8s.pod.label.KEY.", _LABEL_ARG),
    row("k8s.pod.labels", T.CHARBUF, "All pod labels as k:v, k:v."),
    row("k8s.pod.ip", T.CHARBUF, "Pod IPv4 address."),
    row("k8s.pod.cni.json", T.CHARBUF, "CNI result of the pod as JSON text."),
    *_legacy_k8s("deployment"),
    *_legacy_k8s("rs"),
    *_legacy_k8s("rc"),
    *_legacy_k8s("svc"),
    row("k8s.ns.id", T.CHARBUF, "Deprecated: accepted but never extracted.", "dep"),
    row("k8s.ns.label", T.CHARBUF, "Deprecated: accepted but never extracted.", "dep " + _LABEL_ARG),
    row("k8s.ns.labels", T.CHARBUF, "Deprecated: accepted but never extracted.", "dep"),
)

CONTAINER = FieldClass(
    name="container",
    source="syscall",
    description="Container fields from the container runtime (container plugin).",
    fields=_CONTAINER,
)

K8S = FieldClass(
    name="k8s",
    source="syscall",
    description="Kubernetes pod and namespace fields from the container runtime (container plugin).",
    fields=_K8S,
)
