"""`ka.*` field values: on upstream's samples (values read by hand from the sample JSON) and on synthetic Events
for the rules of absence, rendering, index arguments and the two upstream bugs we fix."""

from __future__ import annotations

import json

import pytest

from rules.fields import REGISTRY
from rules.fields.k8saudit import KA
from stages.plugins.k8saudit.fields import DOC_FIELDS, repository
from tests.plugins.k8saudit_events import PSP, TRACES, audit_event, payload, read_files, value, values


def sample(path) -> bytes:
    events, _ = read_files(path)
    assert len(events) == 1
    return events[0][1]


def trace(name: str) -> bytes:
    return sample(TRACES / name)


def psp(name: str) -> bytes:
    return sample(PSP / name)


# ---- the table -------------------------------------------------------------------------------------------

def test_every_field_of_the_table_has_an_extractor_and_back() -> None:
    names = [info.name for info in KA.fields]
    assert len(names) == 100 == len(set(names))
    assert set(names) == set(DOC_FIELDS)


def test_list_and_argument_flags_follow_the_spec() -> None:
    info = {f.name: f for f in KA.fields}
    assert info["ka.uri.param"].arg_key and not info["ka.uri.param"].is_list
    assert info["ka.sourceips"].is_list and info["ka.sourceips"].arg_index
    assert info["ka.req.pod.initContainers.add_capabilities"].is_list
    assert "ka.req.pod.ephemeralContainers.host_port" not in info
    assert info["ka.req.volume.hostpath"].deprecated and info["ka.req.volume.hostpath"].arg_key
    assert not info["ka.req.binding.role"].is_list
    assert REGISTRY.get("k8s_audit", "ka.verb") is info["ka.verb"]


# ---- samples ---------------------------------------------------------------------------------------------

def test_exec_pod_fields() -> None:
    event = trace("exec_pod.json")
    assert value("ka.uri.param[command]", event) == "bash"
    assert value("ka.uri.param[container]", event) == "nginx1"  # given twice: the first value
    assert value("ka.uri.param[missing]", event) is None
    assert value("ka.target.subresource", event) == "exec"
    assert value("ka.target.pod.name", event) is None  # a subresource request
    assert value("ka.stage", event) == "ResponseStarted"
    assert value("ka.response.code", event) == "101"
    assert value("ka.user.name", event) == "minikube-user"
    assert value("ka.user.groups", event) == ["system:masters", "system:authenticated"]
    assert value("ka.sourceips", event) == ["192.168.99.1"]
    assert value("ka.auth.decision", event) == "allow"
    assert value("ka.auth.reason", event) == ""
    assert value("ka.auditid", event) == "ca1ed9f4-7bf4-4c85-81a8-1b11253d1ba6"


def test_pod_with_two_containers() -> None:
    event = trace("create_nginx_pod_privileged_2nd_container.json")
    assert value("ka.req.pod.containers.image", event) == ["nginx", "mysql:latest"]
    assert value("ka.req.pod.containers.image[1]", event) == ["mysql:latest"]
    assert value("ka.req.pod.containers.image[2]", event) is None
    assert value("ka.req.pod.containers.image.repository", event) == ["nginx", "mysql"]
    assert value("ka.req.pod.containers.name", event) == ["nginx1", "mysql"]
    assert value("ka.req.pod.containers.privileged", event) == ["false", "true"]
    assert value("ka.req.pod.initContainers.privileged", event) is None
    assert value("ka.req.container.image", event) == "nginx"
    assert value("ka.req.container.privileged", event) == "true"
    assert value("ka.req.pod.host_network", event) is None
    assert value("ka.target.namespace", event) == "default"
    assert value("ka.target.name", event) is None  # a create names its object in the response only


def test_role_rules_fields() -> None:
    event = trace("create_cluster_role_wildcard_verbs.json")
    assert value("ka.req.role.rules.verbs", event) == ["*", "get"]
    assert value("ka.req.role.rules.verbs[1]", event) == ["get"]
    assert value("ka.req.role.rules.resources", event) == ["pods"]
    assert value("ka.req.role.rules.resources[1]", event) is None  # rule 1 has no resources
    assert value("ka.req.role.rules.apiGroups", event) == [""]
    assert value("ka.req.role.rules.nonResourceURLs[1]", event)[:3] == ["/api", "/api/*", "/apis"]
    assert value("ka.req.role.rules", event)[0] == '{"apiGroups":[""],"resources":["pods"],"verbs":["*"]}'
    assert value("ka.target.name", event) == "some-reader"


def test_binding_fields() -> None:
    event = trace("attach_cluster_admin_role.json")
    assert value("ka.req.binding.role", event) == "cluster-admin"
    assert value("ka.req.binding.subjects", event) == [
        '{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"minikube"}']
    assert value("ka.req.binding.subjects.user_names", event) == ["minikube"]
    assert value("ka.req.binding.subjects.group_names", event) is None
    assert value("ka.req.binding.subject.has_name[anyone]", event) == "true"


def test_service_fields() -> None:
    event = trace("create_nginx_service_nodeport.json")
    assert value("ka.req.service.type", event) == "NodePort"
    assert value("ka.req.service.ports", event) == ['{"nodePort":30080,"port":80,"protocol":"TCP","targetPort":80}']
    assert value("ka.req.service.ports[1]", event) is None


def test_volume_fields() -> None:
    event = trace("create_nginx_pod_sensitive_mount.json")
    assert value("ka.req.pod.volumes.hostpath", event) == ["/etc"]
    assert value("ka.req.pod.volumes.volume_type", event) == ["hostPath"]
    assert value("ka.req.volume.hostpath[/etc]", event) == "true"
    assert value("ka.req.volume.hostpath[/et*]", event) == "true"
    assert value("ka.req.volume.hostpath[/e]", event) == "false"
    flex = psp("flex_volumes.json")
    assert value("ka.req.pod.volumes.flexvolume_driver", flex) == ["dummy/dummy"]
    assert value("ka.req.pod.volumes.volume_type", flex) == ["flexVolume"]
    assert value("ka.req.pod.volumes.hostpath", flex) is None
    assert value("ka.req.volume.hostpath[/etc]", flex) == "false"


def test_security_context_fields_of_psp_samples() -> None:
    both = psp("run_as_user_1000_sec_ctx_30_container.json")
    assert value("ka.req.pod.run_as_user", both) == "1000"
    assert value("ka.req.pod.containers.run_as_user", both) == ["30"]
    assert value("ka.req.pod.containers.eff_run_as_user", both) == ["30"]
    assert value("ka.req.pod.containers.proc_mount", both) == ["Default"]
    group = psp("run_as_group_30_sec_ctx_1000_container.json")
    assert value("ka.req.pod.run_as_group", group) == "30"
    assert value("ka.req.pod.containers.eff_run_as_group", group) == ["1000"]
    pod_only = psp("run_as_user_1000_sec_ctx.json")
    assert value("ka.req.pod.containers.run_as_user", pod_only) is None
    assert value("ka.req.pod.containers.eff_run_as_user", pod_only) == ["1000"]
    assert value("ka.req.pod.containers.add_capabilities", psp("capability_add_sys_nice.json")) == ["SYS_NICE"]
    assert value("ka.req.pod.containers.proc_mount", psp("proc_mount_type_unmasked.json")) == ["Unmasked"]
    assert value("ka.req.pod.supplemental_groups", psp("supplemental_groups_10_20.json")) == ["10", "20"]
    ports = psp("host_network_ports.json")
    assert value("ka.req.pod.containers.host_port", ports) == ["1234"]
    assert value("ka.req.pod.host_network", ports) == "true"
    assert value("ka.req.container.host_network", ports) == "true"


# ---- synthetic events ------------------------------------------------------------------------------------

def pod(spec: dict, **kwargs) -> dict:
    return audit_event("create", "pods", namespace="default", request={"kind": "Pod", "spec": spec}, **kwargs)


def test_without_audit_id_every_ka_field_is_absent_but_json_fields_work() -> None:
    document = {"kind": "Event", "verb": "get", "stageTimestamp": "2024-05-01T10:00:00Z"}
    assert value("ka.verb", document) is None
    assert value("ka.req.binding.subject.has_name[x]", document) is None
    assert value("ka.user.groups", document) is None
    assert value("jevt.value[/verb]", document) == "get"
    assert value("ka.verb", {**document, "auditID": "a"}) == "get"


def test_non_string_values_are_their_json_text() -> None:
    document = audit_event("get", "pods", annotations={"authorization.k8s.io/decision": True, "cluster_name": 7},
                           responseStatus={"code": 403, "reason": None})
    assert value("ka.auth.decision", document) == "true"
    assert value("ka.cluster.name", document) == "7"
    assert value("ka.response.code", document) == "403"
    assert value("ka.response.reason", document) == "null"  # a JSON null is a value, as upstream
    assert value("ka.impuser.name", document) is None


def test_annotation_fields() -> None:
    annotations = {
        "authentication.openshift.io/decision": "allow", "authentication.openshift.io/username": "dev",
        "validation.policy.admission.k8s.io/validation_failure": '[{"message":"no"}]',
        "pod-security.kubernetes.io/audit-violations": "would violate restricted", "cluster_name": "prod-eu",
    }
    document = audit_event("get", "pods", annotations=annotations)
    assert [value(f, document) for f in ("ka.auth.openshift.decision", "ka.auth.openshift.username",
                                         "ka.validations.admission.policy.failure", "ka.security.pod.violations",
                                         "ka.cluster.name")] == list(annotations.values())


def test_target_pod_name_only_for_pods_without_subresource() -> None:
    response = {"responseObject": {"metadata": {"name": "web-1"}}}
    assert value("ka.target.pod.name", pod({}, **response)) == "web-1"
    assert value("ka.resp.name", pod({}, **response)) == "web-1"
    assert value("ka.target.pod.name", audit_event("create", "services", **response)) is None
    assert value("ka.target.pod.name", audit_event("create", "pods", subresource="binding", **response)) is None


def test_uri_param_decoding() -> None:
    def param(uri: str, name: str):
        return value(f"ka.uri.param[{name}]", audit_event("get", "pods", uri=uri))
    assert param("/api/v1/x?command=ls+-l&command=id", "command") == "ls -l"
    assert param("/api/v1/x?command=%2Fbin%2Fsh#frag", "command") == "/bin/sh"
    assert param("/api/v1/x?flag&empty=", "flag") == ""
    assert param("/api/v1/x?empty=", "empty") == ""
    assert param("/api/v1/x", "command") is None
    assert param("/api/v1/x?a=1;b=2&command=id", "command") is None  # Go refuses the whole query
    assert param("/api/v1/x?command=%zz", "command") is None


def test_init_and_ephemeral_containers_are_separate_lists() -> None:
    spec = {
        "containers": [{"name": "app", "image": "reg.example.com/app:1.2", "securityContext": {"privileged": False}}],
        "initContainers": [{"name": "init", "image": "busybox@sha256:abc", "command": ["sh", "-c", "true"],
                            "args": ["a", 1], "securityContext": {"privileged": True,
                                                                  "capabilities": {"add": ["NET_ADMIN", "SYS_TIME"]}},
                            "ports": [{"containerPort": 8080}, {"hostPort": 80, "containerPort": 8081}]}],
        "ephemeralContainers": [{"name": "debug", "image": "alpine", "securityContext": {"runAsUser": 0}}],
    }
    document = pod(spec)
    assert value("ka.req.pod.containers.privileged", document) == ["false"]
    assert value("ka.req.pod.initContainers.privileged", document) == ["true"]
    assert value("ka.req.pod.containers.image.repository", document) == ["reg.example.com/app"]
    assert value("ka.req.pod.initContainers.image.repository", document) == ["busybox"]
    assert value("ka.req.pod.initContainers.command", document) == ["sh -c true"]
    assert value("ka.req.pod.initContainers.args", document) == ["a 1"]
    assert value("ka.req.pod.initContainers.add_capabilities", document) == ["NET_ADMIN", "SYS_TIME"]
    assert value("ka.req.pod.initContainers.host_port", document) == ["8080", "80"]
    assert value("ka.req.pod.containers.host_port", document) is None
    assert value("ka.req.pod.ephemeralContainers.name", document) == ["debug"]
    assert value("ka.req.pod.ephemeralContainers.run_as_user", document) == ["0"]
    assert value("ka.req.pod.ephemeralContainers.eff_run_as_group", document) == ["0"]
    assert value("ka.req.container.privileged", document) == "false"  # the deprecated field: containers only


def test_effective_ids_per_container_fix_the_upstream_bug() -> None:
    spec = {"securityContext": {"runAsUser": 1000},
            "containers": [{"name": "a", "securityContext": {"runAsUser": 30}}, {"name": "b"},
                           {"name": "c", "runAsUser": 5}]}  # c: not under securityContext, so it does not count
    document = pod(spec)
    assert value("ka.req.pod.containers.eff_run_as_user", document) == ["30", "1000", "1000"]
    assert value("ka.req.pod.containers.eff_run_as_user[1]", document) == ["1000"]
    assert value("ka.req.pod.containers.eff_run_as_group", document) == ["0", "0", "0"]
    assert value("ka.req.pod.containers.run_as_user", document) == ["30"]


def test_sourceips_reads_the_events_source_ips() -> None:
    document = audit_event("get", "pods", sourceIPs=["10.0.0.7", "172.16.0.1"])
    assert value("ka.sourceips", document) == ["10.0.0.7", "172.16.0.1"]
    assert value("ka.sourceips[1]", document) == ["172.16.0.1"]
    assert value("ka.sourceips[2]", document) is None
    assert value("ka.useragent", document) == "kubectl/v1.31.0"


def test_binding_subject_kinds() -> None:
    subjects = [{"kind": "User", "name": "jane"}, {"kind": "Group", "name": "devs"},
                {"kind": "ServiceAccount", "name": "ci", "namespace": "build"},
                {"kind": "ServiceAccount", "name": "nons"}, {"kind": "User"}]
    document = audit_event("create", "rolebindings", request={"subjects": subjects, "roleRef": {"name": "edit"}})
    assert value("ka.req.binding.subjects.user_names", document) == ["jane"]
    assert value("ka.req.binding.subjects.group_names", document) == ["devs"]
    assert value("ka.req.binding.subjects.serviceaccount_names", document) == ["ci", "nons"]
    assert value("ka.req.binding.subjects.serviceaccount_ns_names", document) == ["build:ci", ":nons"]
    assert len(value("ka.req.binding.subjects", document)) == 5


def test_configmap_obj_is_compact_json_of_the_data() -> None:
    document = audit_event("create", "configmaps", name="cfg", request={"data": {"db": "x", "password": "é"}})
    assert value("ka.req.configmap.obj", document) == '{"db":"x","password":"é"}'
    assert value("ka.req.configmap.name", document) == "cfg"


def test_wrong_shapes_are_absent_not_errors() -> None:
    document = audit_event("create", "pods", request={"spec": {"containers": "nope", "volumes": [3, {"name": "v"}],
                                                               "securityContext": {"supplementalGroups": 5}},
                                                      "rules": {"verbs": ["get"]}, "subjects": None})
    for field in ("ka.req.pod.containers.image", "ka.req.container.image", "ka.req.container.privileged",
                  "ka.req.pod.supplemental_groups", "ka.req.role.rules.verbs", "ka.req.binding.subjects",
                  "ka.req.pod.volumes.volume_type", "ka.req.pod.volumes.hostpath"):
        assert value(field, document) is None, field
    assert values("ka.verb", b"not json", b"[1,2]", payload({"auditID": 1, "verb": ["a"]})) == [None, None, '["a"]']


@pytest.mark.parametrize("image, repo", [("nginx", "nginx"), ("nginx:1.25", "nginx"),
                                         ("nginx@sha256:abc", "nginx"), ("reg:5000/team/app:2", "reg")])
def test_repository_cut_as_upstream(image: str, repo: str) -> None:
    assert repository(image) == repo


def test_plugininfo_is_the_event_json() -> None:
    event = trace("exec_pod.json")
    assert json.loads(value("evt.plugininfo", event))["auditID"] == "ca1ed9f4-7bf4-4c85-81a8-1b11253d1ba6"
    assert value("evt.pluginname", event) == "k8saudit"
    assert value("evt.source", event) == "k8s_audit"
