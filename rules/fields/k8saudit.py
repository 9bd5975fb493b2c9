"""Fields of the `k8s_audit` source (the k8saudit plugin's): `ka.*`, read from one Kubernetes audit Event.

Every `ka.*` field is text (JSON numbers and booleans come back as their JSON text, `"201"`, `"true"`), and
every one is absent for a document without a top-level `auditID`. The per-container fields exist once for
each container list of a pod spec (`containers`, `initContainers`, `ephemeralContainers`); an optional index
(`ka.req.pod.containers.image[1]`) selects one container, rule, volume or port instead of all of them.
"""

from __future__ import annotations

from rules.fields.base import FieldClass, FieldInfo, FieldType
from rules.fields.plugin import plugin_classes
from rules.fields.table import row

SOURCE = "k8s_audit"

S = FieldType.CHARBUF


def _row(name: str, description: str, flags: str = "") -> FieldInfo:
    return row(name, S, description, flags, source=SOURCE)


# (suffix, what it holds) for the fields each container list has; `host_port` is not for ephemeral ones.
_CONTAINER_VALUES: tuple[tuple[str, str], ...] = (
    ("name", "names"),
    ("image", "images"),
    ("image.repository", "image repositories (the image cut at the first ':', then at '@')"),
    ("command", "commands (each joined with spaces)"),
    ("args", "arguments (each joined with spaces)"),
    ("privileged", "securityContext.privileged flags"),
    ("allow_privilege_escalation", "securityContext.allowPrivilegeEscalation flags"),
    ("read_only_fs", "securityContext.readOnlyRootFilesystem flags"),
    ("run_as_user", "securityContext.runAsUser uids"),
    ("run_as_group", "securityContext.runAsGroup gids"),
    ("proc_mount", "securityContext.procMount types"),
    ("add_capabilities", "added capabilities (securityContext.capabilities.add)"),
    ("eff_run_as_user", "effective uids (the container's runAsUser, else the pod's, else 0)"),
    ("eff_run_as_group", "effective gids (the container's runAsGroup, else the pod's, else 0)"),
    ("host_port", "host ports (hostPort, or containerPort when hostPort is missing)"),
)

CONTAINER_LISTS: tuple[str, ...] = ("containers", "initContainers", "ephemeralContainers")


def container_value_suffixes(container_list: str) -> tuple[str, ...]:
    """The `ka.req.pod.<list>.<suffix>` suffixes a container list has."""
    return tuple(s for s, _ in _CONTAINER_VALUES if not (s == "host_port" and container_list == "ephemeralContainers"))


def _container_rows(container_list: str) -> tuple[FieldInfo, ...]:
    what = dict(_CONTAINER_VALUES)
    rows = []
    for suffix in container_value_suffixes(container_list):
        each = "one per container" if suffix.startswith("eff_") else "from the containers that set them"
        rows.append(_row(f"ka.req.pod.{container_list}.{suffix}",
                         f"For a pod request: {what[suffix]} of its {container_list}, {each}; an index picks one "
                         "container.", "arg? index list"))
    return tuple(rows)


_FIELDS: tuple[FieldInfo, ...] = (
    _row("ka.auditid", "Unique id of the audit event."),
    _row("ka.stage", "Stage of the request the event was recorded at (ResponseComplete, ResponseStarted...)."),
    _row("ka.auth.decision", "The authorizer's decision (allow, forbid)."),
    _row("ka.auth.reason", "Why the authorizer decided so."),
    _row("ka.auth.openshift.decision", "Authentication decision of the OpenShift API server (OpenShift only)."),
    _row("ka.auth.openshift.username", "User name OpenShift authenticated (OpenShift only)."),
    _row("ka.validations.admission.policy.failure", "Failure reported by a ValidatingAdmissionPolicy."),
    _row("ka.security.pod.violations", "Pod Security admission violations recorded in audit mode."),
    _row("ka.cluster.name", "Name of the cluster, from the cluster_name annotation."),
    _row("ka.user.name", "User that made the request."),
    _row("ka.user.groups", "Groups of the user that made the request.", "list"),
    _row("ka.impuser.name", "User the request impersonates."),
    _row("ka.verb", "API verb of the request (get, create, delete...)."),
    _row("ka.uri", "Request URI as the client sent it."),
    _row("ka.uri.param", "First value of a query parameter of the request URI: ka.uri.param[command].", "arg key"),
    _row("ka.target.name", "Name of the object the request targets."),
    _row("ka.target.namespace", "Namespace of the object the request targets."),
    _row("ka.target.resource", "Resource type the request targets (pods, secrets...)."),
    _row("ka.target.subresource", "Subresource the request targets (exec, attach, status...)."),
    _row("ka.target.pod.name", "Name of the pod a request on the pods resource (no subresource) returned."),
    _row("ka.resp.name", "Name of the object in the response (the created or returned object)."),
    _row("ka.response.code", "HTTP status code of the response, as text."),
    _row("ka.response.reason", "Reason of the response status, mostly set for failures."),
    _row("ka.useragent", "User agent of the client."),
    _row("ka.sourceips", "Client IP addresses of the request; an index picks one.", "arg? index list"),
    _row("ka.req.binding.subjects", "For a (cluster) role binding request: its subjects, each as JSON.", "list"),
    _row("ka.req.binding.subjects.user_names", "For a binding request: names of its User subjects.", "list"),
    _row("ka.req.binding.subjects.group_names", "For a binding request: names of its Group subjects.", "list"),
    _row("ka.req.binding.subjects.serviceaccount_names",
         "For a binding request: names of its ServiceAccount subjects.", "list"),
    _row("ka.req.binding.subjects.serviceaccount_ns_names",
         "For a binding request: its ServiceAccount subjects as namespace:name.", "list"),
    _row("ka.req.binding.role", "For a binding request: name of the role it binds."),
    _row("ka.req.binding.subject.has_name", "Deprecated; always true, kept for old rule files.", "arg key dep"),
    _row("ka.req.configmap.name", "For a configmap request: the configmap's name."),
    _row("ka.req.configmap.obj", "For a configmap request: its data, as JSON."),
    _row("ka.req.role.rules", "For a (cluster) role request: its rules, each as JSON.", "list"),
    _row("ka.req.role.rules.apiGroups", "For a role request: the API groups of its rules; an index picks one rule.",
         "arg? index list"),
    _row("ka.req.role.rules.nonResourceURLs",
         "For a role request: the non-resource URLs of its rules; an index picks one rule.", "arg? index list"),
    _row("ka.req.role.rules.verbs", "For a role request: the verbs of its rules; an index picks one rule.",
         "arg? index list"),
    _row("ka.req.role.rules.resources", "For a role request: the resources of its rules; an index picks one rule.",
         "arg? index list"),
    _row("ka.req.service.type", "For a service request: the service type (ClusterIP, NodePort...)."),
    _row("ka.req.service.ports", "For a service request: its ports, each as JSON; an index picks one.",
         "arg? index list"),
    _row("ka.req.pod.host_network", "For a pod request: its hostNetwork flag."),
    _row("ka.req.pod.host_pid", "For a pod request: its hostPID flag."),
    _row("ka.req.pod.host_ipc", "For a pod request: its hostIPC flag."),
    _row("ka.req.pod.run_as_user", "For a pod request: runAsUser of the pod security context."),
    _row("ka.req.pod.run_as_group", "For a pod request: runAsGroup of the pod security context."),
    _row("ka.req.pod.fs_group", "For a pod request: fsGroup of the pod security context."),
    _row("ka.req.pod.supplemental_groups", "For a pod request: supplementalGroups of the pod security context.",
         "list"),
    _row("ka.req.pod.volumes.hostpath", "For a pod request: hostPath paths of its volumes; an index picks one volume.",
         "arg? index list"),
    _row("ka.req.pod.volumes.flexvolume_driver",
         "For a pod request: flexVolume drivers of its volumes; an index picks one volume.", "arg? index list"),
    _row("ka.req.pod.volumes.volume_type",
         "For a pod request: the kinds of its volumes (each volume's keys except name).", "arg? index list"),
    *_container_rows("containers"),
    *_container_rows("initContainers"),
    *_container_rows("ephemeralContainers"),
    _row("ka.req.container.image", "Deprecated: image of the pod's first container.", "dep"),
    _row("ka.req.container.image.repository", "Deprecated: image repository of the pod's first container.", "dep"),
    _row("ka.req.container.privileged", "Deprecated: true if any container of the pod is privileged, else false.",
         "dep"),
    _row("ka.req.container.host_network", "Deprecated name of ka.req.pod.host_network.", "dep"),
    _row("ka.req.volume.hostpath",
         "Deprecated: true if a hostPath volume uses this path (a trailing * matches a prefix), else false.",
         "arg key dep"),
)

KA = FieldClass("ka", SOURCE, "Kubernetes audit event fields (the k8saudit plugin's).", _FIELDS)

CLASSES: tuple[FieldClass, ...] = (*plugin_classes(SOURCE), KA)
