"""Every rule of upstream's k8s audit ruleset on synthetic Events: it fires on one that should trigger it and not
on a near twin that should not. The samples (test_k8saudit_samples.py) cover real captures; these cover the
rules the samples do not reach (host PID/IPC, port-forward, ephemeral containers, roles, secret reads,
ingresses, nodes) and the muted ones, which fire once an override file turns them on.

Evaluated with `rule_matching: all`, so a rule is seen even when an earlier one also matches.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from stages.plugins.k8saudit.fields import K8sAuditExtractor
from tests.plugins import harness
from tests.plugins.k8saudit_events import RULES, audit_event, cached_rule_loads, payload


@pytest.fixture(autouse=True)
def _rules_loaded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    cached_rule_loads(monkeypatch)



def pod(spec: dict[str, Any], namespace: str = "default", **kwargs: Any) -> dict[str, Any]:
    return audit_event("create", "pods", namespace=namespace, request={"kind": "Pod", "spec": spec}, **kwargs)


def containers(*images: str, **security: Any) -> dict[str, Any]:
    return {"containers": [{"name": f"c{i}", "image": image, "securityContext": security}
                           for i, image in enumerate(images)]}


def role(resource: str, rules: list[dict[str, Any]], verb: str = "create") -> dict[str, Any]:
    return audit_event(verb, resource, name="r", request={"rules": rules})


def activity(resource: str, verb: str, code: int, **kwargs: Any) -> dict[str, Any]:
    return audit_event(verb, resource, name="obj", namespace="team", code=code, **kwargs)


def started(**kwargs: Any) -> dict[str, Any]:
    return audit_event("create", "pods", name="web", namespace="default", stage="ResponseStarted", code=101, **kwargs)


# rule -> [(event that must fire it, near twin that must not)]
CASES: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {
    "Disallowed K8s User": [(audit_event("get", "pods", user="mallory"), audit_event("get", "pods", user="admin"))],
    "Create Privileged Pod": [
        (pod({**containers("nginx"), "initContainers": [{"name": "i", "image": "busybox",
                                                         "securityContext": {"privileged": True}}]}),
         pod(containers("nginx", privileged=False))),
        (pod({**containers("nginx"), "ephemeralContainers": [{"name": "e", "image": "busybox",
                                                              "securityContext": {"privileged": True}}]}),
         pod(containers("falcosecurity/falco:0.38", privileged=True))),
    ],
    "Create Sensitive Mount Pod": [
        (pod({**containers("nginx"), "volumes": [{"name": "s", "hostPath": {"path": "/var/run/docker.sock"}}]}),
         pod({**containers("nginx"), "volumes": [{"name": "d", "hostPath": {"path": "/data"}}]}))],
    "Create HostNetwork Pod": [(pod({**containers("nginx"), "hostNetwork": True}),
                                pod({**containers("nginx"), "hostNetwork": False}))],
    "Create HostPid Pod": [(pod({**containers("nginx"), "hostPID": True}), pod({**containers("nginx")}))],
    "Create HostIPC Pod": [(pod({**containers("nginx"), "hostIPC": True}),
                            pod({**containers("nginx"), "hostIPC": False}))],
    "Create NodePort Service": [
        (audit_event("create", "services", name="s", request={"spec": {"type": "NodePort", "ports": [{"port": 80}]}}),
         audit_event("create", "services", name="s", request={"spec": {"type": "ClusterIP"}}))],
    "Create/Modify Configmap With Private Credentials": [
        (audit_event("update", "configmaps", name="c", request={"data": {"aws_access_key_id": "AKIA..."}}),
         audit_event("update", "configmaps", name="c", request={"data": {"color": "blue"}}))],
    "Anonymous Request Allowed": [
        (audit_event("get", "secrets", user="system:anonymous", uri="/api/v1/secrets"),
         audit_event("get", "secrets", user="system:anonymous", uri="/healthz?verbose=1"))],
    "Attach/Exec Pod": [(started(subresource="exec", uri="/api/v1/namespaces/default/pods/web/exec?command=sh"),
                         audit_event("create", "pods", name="web", subresource="exec"))],
    "port-forward": [(started(subresource="portforward"), started(subresource="log"))],
    "EphemeralContainers Created": [
        (audit_event("patch", "pods", name="web", subresource="ephemeralcontainers",
                     request={"ephemeralContainers": [{"name": "debugger", "image": "busybox"}]}),
         audit_event("get", "pods", name="web", subresource="ephemeralcontainers"))],
    "Create Disallowed Namespace": [(audit_event("create", "namespaces", name="evil"),
                                     audit_event("create", "namespaces", name="default"))],
    "Pod Created in Kube Namespace": [
        (pod(containers("nginx"), namespace="kube-system"),
         pod(containers("registry.k8s.io/kube-apiserver:v1.30.0"), namespace="kube-system"))],
    "Service Account Created in Kube Namespace": [
        (audit_event("create", "serviceaccounts", name="backdoor", namespace="kube-system"),
         audit_event("create", "serviceaccounts", name="coredns", namespace="kube-system"))],
    "System ClusterRole Modified/Deleted": [(audit_event("update", "clusterroles", name="system:node"),
                                             audit_event("update", "clusterroles", name="system:coredns"))],
    "Attach to cluster-admin Role": [
        (audit_event("create", "clusterrolebindings", name="b", request={"roleRef": {"name": "cluster-admin"}}),
         audit_event("create", "clusterrolebindings", name="b", request={"roleRef": {"name": "view"}}))],
    "ClusterRole With Wildcard Created": [
        (role("roles", [{"resources": ["*"], "verbs": ["get"]}]),
         role("roles", [{"resources": ["pods"], "verbs": ["get"]}])),
        (role("clusterroles", [{"resources": ["pods"], "verbs": ["get"]}, {"resources": ["nodes"], "verbs": ["*"]}]),
         role("clusterroles", [{"resources": ["pods"], "verbs": ["list"]}], verb="update"))],
    "ClusterRole With Write Privileges Created": [
        (role("clusterroles", [{"resources": ["pods"], "verbs": ["get", "delete"]}]),
         role("clusterroles", [{"resources": ["pods"], "verbs": ["get", "watch"]}]))],
    "ClusterRole With Pod Exec Created": [
        (role("roles", [{"resources": ["pods/exec"], "verbs": ["get"]}]),
         role("roles", [{"resources": ["pods/log"], "verbs": ["get"]}]))],
    "K8s Secret Get Successfully": [(activity("secrets", "get", 200), activity("secrets", "get", 403))],
    "K8s Secret Get Unsuccessfully Tried": [(activity("secrets", "get", 404), activity("secrets", "get", 200))],
    "Ingress Object without TLS Certificate Created": [
        (activity("ingresses", "create", 201, request={"spec": {"rules": []}}),
         activity("ingresses", "create", 201, request={"spec": {"tls": [{"secretName": "cert"}]}}))],
}

ACTIVITY = {"Deployment": "deployments", "Service": "services", "ConfigMap": "configmaps", "Namespace": "namespaces",
            "Serviceaccount": "serviceaccounts", "Role": "roles", "ClusterRole": "clusterroles",
            "RoleBinding": "rolebindings", "ClusterRoleBinding": "clusterrolebindings", "Secret": "secrets"}
for kind, resource in ACTIVITY.items():
    CASES[f"K8s {kind} Created"] = [(activity(resource, "create", 201), activity(resource, "create", 409))]
    CASES[f"K8s {kind} Deleted"] = [(activity(resource, "delete", 200), activity(resource, "delete", 404))]

# Rules upstream ships muted (a macro that is never / always true); an override file turns them on.
UNMUTE = [
    {"macro": "consider_all_events", "condition": "(k8s_audit_always_true)"},
    {"macro": "allowed_full_admin_users", "condition": "(k8s_audit_never_true)"},
    {"macro": "allow_all_k8s_nodes", "condition": "(k8s_audit_never_true)"},
    {"macro": "allowed_k8s_containers", "condition": "(ka.req.pod.containers.image.repository in (nginx))"},
]
MUTED_CASES: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {
    "All K8s Audit Events": [(audit_event("get", "pods"), started())],
    "Full K8s Administrative Access": [(audit_event("get", "pods", user="kubernetes-admin"),
                                        audit_event("get", "pods", user="alice"))],
    "Untrusted Node Successfully Joined the Cluster": [(activity("nodes", "create", 201),
                                                        activity("nodes", "create", 403))],
    "Untrusted Node Unsuccessfully Tried to Join the Cluster": [(activity("nodes", "create", 403),
                                                                 activity("nodes", "create", 201))],
    "Create Disallowed Pod": [(pod(containers("evil/miner:1")), pod(containers("nginx:1.27")))],
}


def fired_per_event(rule_files: list[str], documents: list[dict[str, Any]]) -> list[set[str]]:
    """The rules each document fires (all matching rules)."""
    times = [1_700_000_000_000_000_000 + i for i in range(len(documents))]
    alerts = harness.alerts(K8sAuditExtractor(hostname="test-host"), rule_files,
                            harness.events([payload(d) for d in documents], times), rule_matching="all")
    fired: list[set[str]] = [set() for _ in documents]
    for alert in alerts:
        fired[alert["time_ns"] - times[0]].add(alert["rule"])
    return fired


def check(cases: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]], rule_files: list[str]) -> None:
    entries = [(rule, kind, doc) for rule, pairs in cases.items() for pair in pairs
               for kind, doc in zip(("fires", "quiet"), pair)]
    fired = fired_per_event(rule_files, [doc for _, _, doc in entries])
    wrong = [(rule, kind, sorted(got)) for (rule, kind, _), got in zip(entries, fired)
             if (rule in got) != (kind == "fires")]
    assert wrong == []


def test_every_shipped_rule_is_covered() -> None:
    shipped = {item["rule"] for item in yaml.safe_load(RULES.read_text()) if "rule" in item}
    assert len(shipped) == 48
    assert shipped == set(CASES) | set(MUTED_CASES)


def test_rules_fire_on_their_events_and_not_on_near_twins() -> None:
    check(CASES, [str(RULES)])


def test_muted_rules_stay_quiet_by_default() -> None:
    triggers = [pair[0] for pairs in MUTED_CASES.values() for pair in pairs]
    assert all(not (got & set(MUTED_CASES)) for got in fired_per_event([str(RULES)], triggers))


@pytest.fixture(name="unmute_file")
def fixture_unmute_file(tmp_path: Path) -> Path:
    path = tmp_path / "unmute.yaml"
    path.write_text(yaml.safe_dump(UNMUTE))
    return path


def test_muted_rules_fire_once_turned_on(unmute_file: Path) -> None:
    check(MUTED_CASES, [str(RULES), str(unmute_file)])


def test_alert_output_fields() -> None:
    exec_event = started(subresource="exec", uri="/api/v1/namespaces/default/pods/web/exec?command=%2Fbin%2Fsh")
    privileged = pod({**containers("nginx:1.27", "redis"), "initContainers": [
        {"name": "i", "image": "busybox:1", "securityContext": {"privileged": True}}]})
    alerts = harness.alerts(K8sAuditExtractor(hostname="test-host"), [str(RULES)],
                            harness.events([payload(exec_event), payload(privileged)]))
    assert [a["rule"] for a in alerts] == ["Attach/Exec Pod", "Create Privileged Pod"]
    assert alerts[0]["output_fields"]["ka.uri.param[command]"] == "/bin/sh"
    assert "action=exec command=/bin/sh" in alerts[0]["message"]
    assert alerts[1]["output_fields"]["ka.req.pod.containers.image"] == ["nginx:1.27", "redis"]
    assert alerts[1]["output_fields"]["ka.req.pod.initContainers.image"] == ["busybox:1"]
