"""The `ka.*` field values of one Kubernetes audit Event, as the k8saudit plugin 0.18.0 extracts them.

Value rules (the plugin's): a document without a top-level `auditID` has no `ka.*` value at all; a JSON
string is its text, any other JSON value its compact JSON text (`true`, `201`, `{"a":1}`); a missing key is
absent, and so is a list field that ends up empty. An index argument on a list field selects one element of
the JSON array the field walks (a container, a role rule, a volume, a service port, a source IP); an index
past the end is absent.

Two upstream bugs are fixed here, in the evidently intended direction (no shipped rule reads these fields):
- `ka.sourceips` reads the event's `sourceIPs` (upstream looks in `requestObject.rules[].sourceIPs`).
- `ka.req.pod.<list>.eff_run_as_user` / `eff_run_as_group` read `securityContext.runAsUser` /
  `runAsGroup` of the container, then of the pod (upstream looks for the keys outside `securityContext`,
  so it always yields "0").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote_plus

from rules.fields.k8saudit import CONTAINER_LISTS, SOURCE, container_value_suffixes
from stages.plugins.base import FieldExtractor, FieldFn, PluginEvent, json_text

Doc = dict[str, Any]
DocFn = Callable[[Doc, "str | None"], Any]  # a field over an audit document that has an auditID

_MISSING = object()


# ---- walking the document ---------------------------------------------------------------------------------

def audit_doc(event: PluginEvent) -> Doc | None:
    """The event's document when it is a k8s audit Event (has a top-level auditID), else None."""
    doc = event.doc
    return doc if isinstance(doc, dict) and "auditID" in doc else None


def get(value: Any, *keys: str) -> Any:
    """The value under nested object keys, `_MISSING` when any is missing or not an object."""
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value


def text(value: Any) -> str | None:
    """A JSON value as the plugin renders it; None (absent) for a missing one."""
    return None if value is _MISSING else json_text(value)


def texts(values: Iterable[Any]) -> list[str]:
    """The present values as text, missing ones skipped."""
    return [json_text(v) for v in values if v is not _MISSING]


def select(items: Any, index: str | None) -> list[Any] | None:
    """The elements of a JSON array an index argument selects: all of them, or the one at `index`.

    None when `items` is not an array or the index is past its end (the field is then absent).
    """
    if not isinstance(items, list):
        return None
    if index is None:
        return items
    position = int(index)
    return [items[position]] if position < len(items) else None


# ---- field builders ---------------------------------------------------------------------------------------

def scalar(*keys: str) -> DocFn:
    """A single-valued field at a fixed path."""
    return lambda doc, _arg: text(get(doc, *keys))


def array(*keys: str) -> DocFn:
    """A list field holding each element of the array at a fixed path (absent when it is not an array)."""
    def extract(doc: Doc, _arg: str | None) -> list[str] | None:
        items = get(doc, *keys)
        return texts(items) if isinstance(items, list) else None
    return extract


def per_item(array_keys: tuple[str, ...], item_keys: tuple[str, ...], flatten: bool = False) -> DocFn:
    """A list field holding a value of each selected element of an array (elements lacking it skipped).

    `flatten`: the value is itself an array whose elements all join the list (non-arrays are skipped).
    """
    def extract(doc: Doc, arg: str | None) -> list[str] | None:
        items = select(get(doc, *array_keys), arg)
        if items is None:
            return None
        values = [get(item, *item_keys) for item in items]
        if not flatten:
            return texts(values)
        return [json_text(v) for value in values if isinstance(value, list) for v in value]
    return extract


# ---- request URI ------------------------------------------------------------------------------------------

_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def uri_param(doc: Doc, name: str | None) -> str | None:
    """First value of query parameter `name` of requestURI, decoded like Go's url.ParseQuery.

    As upstream, a query Go refuses (a `;` in a pair, a bad `%` escape) yields no value at all.
    """
    uri = get(doc, "requestURI")
    if not isinstance(uri, str) or name is None:
        return None
    query = uri.split("#", 1)[0].partition("?")[2]
    found: str | None = None
    for pair in query.split("&"):
        if not pair:
            continue
        if ";" in pair or _BAD_ESCAPE.search(pair):
            return None
        key, _, value = pair.partition("=")
        if found is None and unquote_plus(key) == name:
            found = unquote_plus(value)
    return found


# ---- targets, bindings ------------------------------------------------------------------------------------

def target_pod_name(doc: Doc, _arg: str | None) -> str | None:
    """The pod name the response carries, for requests on `pods` itself (no subresource)."""
    if get(doc, "objectRef", "resource") != "pods" or get(doc, "objectRef", "subresource") is not _MISSING:
        return None
    return text(get(doc, "responseObject", "metadata", "name"))


def subject_names(kind: str, with_namespace: bool = False) -> DocFn:
    """Names (or `namespace:name`) of the binding subjects of one kind."""
    def extract(doc: Doc, _arg: str | None) -> list[str] | None:
        subjects = get(doc, "requestObject", "subjects")
        if not isinstance(subjects, list):
            return None
        names = []
        for subject in subjects:
            name = get(subject, "name")
            if get(subject, "kind") != kind or name is _MISSING:
                continue
            if with_namespace:
                namespace = get(subject, "namespace")
                names.append(f"{'' if namespace is _MISSING else json_text(namespace)}:{json_text(name)}")
            else:
                names.append(json_text(name))
        return names
    return extract


def volume_types(doc: Doc, arg: str | None) -> list[str] | None:
    """Every key of each selected volume except `name` (the key that says the volume's kind)."""
    volumes = select(get(doc, "requestObject", "spec", "volumes"), arg)
    if volumes is None:
        return None
    return [key for volume in volumes if isinstance(volume, dict) for key in volume if key != "name"]


def source_ips(doc: Doc, arg: str | None) -> list[str] | None:
    """The event's sourceIPs (upstream reads requestObject.rules[].sourceIPs by mistake; see module doc)."""
    ips = select(get(doc, "sourceIPs"), arg)
    return None if ips is None else texts(ips)


# ---- pods and containers ----------------------------------------------------------------------------------

def repository(image: str) -> str:
    """The repository part of an image reference as upstream cuts it: before the first `:`, then before `@`."""
    return image.split(":", 1)[0].split("@", 1)[0]


def _joined(value: Any) -> Any:
    if isinstance(value, list):
        return " ".join(json_text(v) for v in value)
    return value


def _effective(key: str) -> Callable[[Doc, Any], Any]:
    """The container's securityContext value, else the pod's, else 0 (the kernel's default)."""
    def value(doc: Doc, container: Any) -> Any:
        own = get(container, "securityContext", key)
        if own is not _MISSING:
            return own
        pod = get(doc, "requestObject", "spec", "securityContext", key)
        return "0" if pod is _MISSING else pod
    return value


def _security(key: str) -> Callable[[Doc, Any], Any]:
    return lambda _doc, container: get(container, "securityContext", key)


def _host_ports(_doc: Doc, container: Any) -> list[Any]:
    ports = get(container, "ports")
    if not isinstance(ports, list):
        return []
    found = []
    for port in ports:
        value = get(port, "hostPort")
        if value is _MISSING:
            value = get(port, "containerPort")  # with hostNetwork the container port is the host port
        if value is not _MISSING:
            found.append(value)
    return found


def _capabilities(_doc: Doc, container: Any) -> list[Any]:
    added = get(container, "securityContext", "capabilities", "add")
    return added if isinstance(added, list) else []


def _image_repository(_doc: Doc, container: Any) -> Any:
    image = get(container, "image")
    return repository(image) if isinstance(image, str) else image


# suffix -> (value of one container, whether that value is a list to flatten)
CONTAINER_VALUE: dict[str, tuple[Callable[[Doc, Any], Any], bool]] = {
    "name": (lambda _d, c: get(c, "name"), False),
    "image": (lambda _d, c: get(c, "image"), False),
    "image.repository": (_image_repository, False),
    "command": (lambda _d, c: _joined(get(c, "command")), False),
    "args": (lambda _d, c: _joined(get(c, "args")), False),
    "privileged": (_security("privileged"), False),
    "allow_privilege_escalation": (_security("allowPrivilegeEscalation"), False),
    "read_only_fs": (_security("readOnlyRootFilesystem"), False),
    "run_as_user": (_security("runAsUser"), False),
    "run_as_group": (_security("runAsGroup"), False),
    "proc_mount": (_security("procMount"), False),
    "add_capabilities": (_capabilities, True),
    "eff_run_as_user": (_effective("runAsUser"), False),
    "eff_run_as_group": (_effective("runAsGroup"), False),
    "host_port": (_host_ports, True),
}


def container_field(container_list: str, suffix: str) -> DocFn:
    """`ka.req.pod.<container_list>.<suffix>`: one value per selected container that has it."""
    value_of, flatten = CONTAINER_VALUE[suffix]

    def extract(doc: Doc, arg: str | None) -> list[str] | None:
        containers = select(get(doc, "requestObject", "spec", container_list), arg)
        if containers is None:
            return None
        values = [value_of(doc, container) for container in containers]
        if flatten:
            values = [v for value in values for v in value]
        return texts(values)
    return extract


def first_container(value_of: Callable[[Doc, Any], Any]) -> DocFn:
    """A deprecated single-valued field of the pod's first container."""
    def extract(doc: Doc, _arg: str | None) -> str | None:
        containers = get(doc, "requestObject", "spec", "containers")
        if not isinstance(containers, list) or not containers:
            return None
        return text(value_of(doc, containers[0]))
    return extract


def any_privileged(doc: Doc, _arg: str | None) -> str | None:
    """Deprecated: "true" when some container sets privileged to JSON true, else "false"."""
    containers = get(doc, "requestObject", "spec", "containers")
    if not isinstance(containers, list):
        return None
    return "true" if any(get(c, "securityContext", "privileged") is True for c in containers) else "false"


def volume_hostpath(doc: Doc, path: str | None) -> str | None:
    """Deprecated: "true" when a hostPath volume uses `path` (a trailing `*` matches a prefix), else "false"."""
    volumes = get(doc, "requestObject", "spec", "volumes")
    if not isinstance(volumes, list) or not path:
        return None
    paths = [p for p in (get(v, "hostPath", "path") for v in volumes) if isinstance(p, str)]
    if path.endswith("*"):
        return "true" if any(p.startswith(path[:-1]) for p in paths) else "false"
    return "true" if path in paths else "false"


# ---- the table --------------------------------------------------------------------------------------------

def _annotation(key: str) -> DocFn:
    return scalar("annotations", key)


def _request(*keys: str) -> DocFn:
    return scalar("requestObject", *keys)


def _rules(key: str) -> DocFn:
    return per_item(("requestObject", "rules"), (key,), flatten=True)


def _volumes(*keys: str) -> DocFn:
    return per_item(("requestObject", "spec", "volumes"), keys)


DOC_FIELDS: dict[str, DocFn] = {
    "ka.auditid": scalar("auditID"),
    "ka.stage": scalar("stage"),
    "ka.auth.decision": _annotation("authorization.k8s.io/decision"),
    "ka.auth.reason": _annotation("authorization.k8s.io/reason"),
    "ka.auth.openshift.decision": _annotation("authentication.openshift.io/decision"),
    "ka.auth.openshift.username": _annotation("authentication.openshift.io/username"),
    "ka.validations.admission.policy.failure": _annotation("validation.policy.admission.k8s.io/validation_failure"),
    "ka.security.pod.violations": _annotation("pod-security.kubernetes.io/audit-violations"),
    "ka.cluster.name": _annotation("cluster_name"),
    "ka.user.name": scalar("user", "username"),
    "ka.user.groups": array("user", "groups"),
    "ka.impuser.name": scalar("impersonatedUser", "username"),
    "ka.verb": scalar("verb"),
    "ka.uri": scalar("requestURI"),
    "ka.uri.param": uri_param,
    "ka.target.name": scalar("objectRef", "name"),
    "ka.target.namespace": scalar("objectRef", "namespace"),
    "ka.target.resource": scalar("objectRef", "resource"),
    "ka.target.subresource": scalar("objectRef", "subresource"),
    "ka.target.pod.name": target_pod_name,
    "ka.resp.name": scalar("responseObject", "metadata", "name"),
    "ka.response.code": scalar("responseStatus", "code"),
    "ka.response.reason": scalar("responseStatus", "reason"),
    "ka.useragent": scalar("userAgent"),
    "ka.sourceips": source_ips,
    "ka.req.binding.subjects": array("requestObject", "subjects"),
    "ka.req.binding.subjects.user_names": subject_names("User"),
    "ka.req.binding.subjects.group_names": subject_names("Group"),
    "ka.req.binding.subjects.serviceaccount_names": subject_names("ServiceAccount"),
    "ka.req.binding.subjects.serviceaccount_ns_names": subject_names("ServiceAccount", with_namespace=True),
    "ka.req.binding.role": _request("roleRef", "name"),
    "ka.req.binding.subject.has_name": lambda _doc, _arg: "true",  # upstream's constant, kept for old rules
    "ka.req.configmap.name": scalar("objectRef", "name"),
    "ka.req.configmap.obj": _request("data"),
    "ka.req.role.rules": array("requestObject", "rules"),
    "ka.req.role.rules.apiGroups": _rules("apiGroups"),
    "ka.req.role.rules.nonResourceURLs": _rules("nonResourceURLs"),
    "ka.req.role.rules.verbs": _rules("verbs"),
    "ka.req.role.rules.resources": _rules("resources"),
    "ka.req.service.type": _request("spec", "type"),
    "ka.req.service.ports": per_item(("requestObject", "spec", "ports"), ()),
    "ka.req.pod.host_network": _request("spec", "hostNetwork"),
    "ka.req.pod.host_pid": _request("spec", "hostPID"),
    "ka.req.pod.host_ipc": _request("spec", "hostIPC"),
    "ka.req.pod.run_as_user": _request("spec", "securityContext", "runAsUser"),
    "ka.req.pod.run_as_group": _request("spec", "securityContext", "runAsGroup"),
    "ka.req.pod.fs_group": _request("spec", "securityContext", "fsGroup"),
    "ka.req.pod.supplemental_groups": array("requestObject", "spec", "securityContext", "supplementalGroups"),
    "ka.req.pod.volumes.hostpath": _volumes("hostPath", "path"),
    "ka.req.pod.volumes.flexvolume_driver": _volumes("flexVolume", "driver"),
    "ka.req.pod.volumes.volume_type": volume_types,
    **{f"ka.req.pod.{lst}.{suffix}": container_field(lst, suffix)
       for lst in CONTAINER_LISTS for suffix in container_value_suffixes(lst)},
    "ka.req.container.image": first_container(CONTAINER_VALUE["image"][0]),
    "ka.req.container.image.repository": first_container(_image_repository),
    "ka.req.container.privileged": any_privileged,
    "ka.req.container.host_network": _request("spec", "hostNetwork"),
    "ka.req.volume.hostpath": volume_hostpath,
}


def _on_audit_events(fn: DocFn) -> FieldFn:
    def extract(event: PluginEvent, arg: str | None) -> Any:
        doc = audit_doc(event)
        return None if doc is None else fn(doc, arg)
    return extract


class K8sAuditExtractor(FieldExtractor):
    """`ka.*` fields (plus the generic and json ones the base gives every plugin source)."""

    source = SOURCE
    plugin = "k8saudit"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fields = {name: _on_audit_events(fn) for name, fn in DOC_FIELDS.items()}
