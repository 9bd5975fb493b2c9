"""Upstream's k8s audit samples through our file reader, extractor and rule engine, checked against what
upstream's k8saudit tests assert (shared/peer/sample-events/k8s_audit/EXPECTED.md).

"Exactly once" cases also allow other rules to fire, as upstream's do. Upstream's "clean run" cases only assert
that Falco ran without error; with our engine they also give no alert, and the tests say so. Every case is
checked with Falco's default `rule_matching: first` and with `all`: each expectation holds with both.

To keep this fast, the samples sharing a set of rule files are evaluated in one batch; each sample's events get
their own times so an alert can be traced back to its sample.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter
from functools import cache

import pytest
import structlog

from config.schema import K8sAuditSource
from rules.loader import load_rules
from stages.plugins.k8saudit.fields import K8sAuditExtractor
from stages.plugins.k8saudit.parse import NOT_RECOGNIZED
from tests.plugins import harness
from tests.plugins.k8saudit_events import OVERRIDES, RULES, TRACES, cached_rule_loads, read_files, running

NONE = None  # no alert at all

# (sample, override files in order, rule that must fire, how many times)
K8S_CASES: list[tuple[str, tuple[str, ...], str | None, int]] = [
    ("anonymous_creates_namespace_foo.json", (), "Anonymous Request Allowed", 1),
    ("attach_cluster_admin_role.json", (), "Attach to cluster-admin Role", 1),
    ("attach_pod.json", (), "Attach/Exec Pod", 1),
    ("exec_pod.json", (), "Attach/Exec Pod", 1),
    ("create_cluster_role_pod_exec.json", (), "ClusterRole With Pod Exec Created", 1),
    ("create_cluster_role_wildcard_resources.json", (), "ClusterRole With Wildcard Created", 1),
    ("create_cluster_role_wildcard_verbs.json", (), "ClusterRole With Wildcard Created", 1),
    ("create_cluster_role_write_privileges.json", (), "ClusterRole With Write Privileges Created", 1),
    ("create_clusterrole.json", (), "K8s ClusterRole Created", 1),
    ("create_clusterrolebinding.json", (), "K8s ClusterRoleBinding Created", 1),
    ("create_configmap.json", (), "K8s ConfigMap Created", 1),
    ("create_configmap_sensitive_values.json", ("disallow_kactivity.yaml",),
     "Create/Modify Configmap With Private Credentials", 6),
    ("create_configmap_no_sensitive_values.json", ("disallow_kactivity.yaml",), NONE, 0),
    ("create_deployment.json", (), "K8s Deployment Created", 1),
    ("create_kube_system_secret.json", (), NONE, 0),
    ("create_service_account_token_secret.json", (), NONE, 0),
    ("create_secret.json", (), "K8s Secret Created", 1),
    ("create_service.json", (), "K8s Service Created", 1),
    ("create_serviceaccount.json", (), "K8s Serviceaccount Created", 1),
    ("create_serviceaccount_kube_public_namespace.json", (), "Service Account Created in Kube Namespace", 1),
    ("create_serviceaccount_kube_system_namespace.json", (), "Service Account Created in Kube Namespace", 1),
    ("create_pod_kube_public_namespace.json", (), "Pod Created in Kube Namespace", 1),
    ("create_pod_kube_system_namespace.json", (), "Pod Created in Kube Namespace", 1),
    ("create_nginx_pod_privileged.json", (), "Create Privileged Pod", 1),
    ("create_nginx_pod_privileged.json", ("trust_nginx_container.yaml",), NONE, 0),
    ("create_nginx_pod_privileged_2nd_container.json", (), "Create Privileged Pod", 1),
    ("create_nginx_pod_no_secctx_1st_container_privileged_2nd_container.json", (), "Create Privileged Pod", 1),
    ("create_nginx_pod_hostnetwork.json", (), "Create HostNetwork Pod", 1),
    ("create_nginx_pod_hostnetwork.json", ("trust_nginx_container.yaml",), NONE, 0),
    ("create_nginx_pod_nohostnetwork.json", (), NONE, 0),
    ("create_nginx_pod_nohostnetwork.json", ("trust_nginx_container.yaml",), NONE, 0),
    ("create_nginx_pod_sensitive_mount.json", (), "Create Sensitive Mount Pod", 1),
    ("create_nginx_pod_sensitive_mount.json", ("trust_nginx_container.yaml",), NONE, 0),
    ("create_nginx_pod_sensitive_mount_2nd_container.json", (), "Create Sensitive Mount Pod", 1),
    ("create_nginx_pod_unsensitive_mount.json", (), NONE, 0),
    ("create_nginx_pod_unsensitive_mount.json", ("trust_nginx_container.yaml",), NONE, 0),
    ("create_nginx_pod_unprivileged.json", (), NONE, 0),
    ("create_nginx_pod_unprivileged.json", ("trust_nginx_container.yaml",), NONE, 0),
    ("create_nginx_pod_unprivileged.json", ("allow_nginx_container.yaml",), NONE, 0),
    ("create_nginx_pod_unprivileged.json", ("allow_only_apache_container.yaml",), "Create Disallowed Pod", 1),
    ("create_nginx_service_nodeport.json", ("disallow_kactivity.yaml",), "Create NodePort Service", 1),
    ("create_nginx_service_nonodeport.json", ("disallow_kactivity.yaml",), NONE, 0),
    ("delete_cluster_role_kube_aggregator.json", (), "System ClusterRole Modified/Deleted", 1),
    ("modify_cluster_role_node_problem_detector.json", (), "System ClusterRole Modified/Deleted", 1),
    ("delete_clusterrole.json", (), "K8s ClusterRole Deleted", 1),
    ("delete_clusterrolebinding.json", (), "K8s ClusterRoleBinding Deleted", 1),
    ("delete_configmap.json", (), "K8s ConfigMap Deleted", 1),
    ("delete_deployment.json", (), "K8s Deployment Deleted", 1),
    ("delete_namespace_foo.json", (), "K8s Namespace Deleted", 1),
    ("delete_secret.json", (), "K8s Secret Deleted", 1),
    ("delete_service.json", (), "K8s Service Deleted", 1),
    ("delete_serviceaccount.json", (), "K8s Serviceaccount Deleted", 1),
    ("some-user_creates_namespace_foo.json", ("allow_namespace_foo.yaml",), "Disallowed K8s User", 1),
    ("some-user_creates_namespace_foo.json", ("allow_user_some-user.yaml",), "Create Disallowed Namespace", 1),
    ("some-user_creates_namespace_foo.json", ("allow_namespace_foo.yaml", "allow_user_some-user.yaml"),
     "K8s Namespace Created", 1),
    ("some-user_creates_namespace_foo.json",
     ("allow_namespace_foo.yaml", "allow_user_some-user.yaml", "disallow_kactivity.yaml"), NONE, 0),
    ("minikube_creates_namespace_foo.json", ("allow_namespace_foo.yaml", "disallow_kactivity.yaml"), NONE, 0),
]

# Cases on other rule sets: (sample, rule files (all from rule_overrides/), rule, times)
OTHER_CASES: list[tuple[str, tuple[str, ...], str | None, int]] = [
    ("create_nginx_pod_unprivileged.json", ("single_rule_with_json_pointer.yaml",), "json_pointer_example", 1),
    # The old engine_v4 ruleset on the deprecated ka.req.container.* / ka.req.volume.hostpath[...] fields.
    ("create_nginx_pod_unprivileged.json", ("engine_v4_k8s_audit_rules.yaml",), NONE, 0),
    ("create_nginx_pod_unprivileged.json", ("engine_v4_k8s_audit_rules.yaml", "engine_v4_allow_nginx_container.yaml"),
     NONE, 0),
    ("create_nginx_pod_unprivileged.json",
     ("engine_v4_k8s_audit_rules.yaml", "engine_v4_allow_only_apache_container.yaml"), "Create Disallowed Pod", 1),
    ("create_nginx_pod_privileged.json", ("engine_v4_k8s_audit_rules.yaml",), "Create Privileged Pod", 1),
    ("create_nginx_pod_hostnetwork.json", ("engine_v4_k8s_audit_rules.yaml",), "Create HostNetwork Pod", 1),
    ("create_nginx_pod_sensitive_mount.json", ("engine_v4_k8s_audit_rules.yaml",), "Create Sensitive Mount Pod", 1),
]


@pytest.fixture(autouse=True)
def _rules_loaded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    cached_rule_loads(monkeypatch)



def _rule_files(case: tuple[str, tuple[str, ...], str | None, int]) -> tuple[str, ...]:
    overrides = tuple(str(OVERRIDES / name) for name in case[1])
    return overrides if case in OTHER_CASES else (str(RULES), *overrides)


ALL_CASES = K8S_CASES + OTHER_CASES
EVENT_SPACING = 1_000_000  # synthetic time step between samples of one batch


@cache
def _alerts_by_sample(rule_files: tuple[str, ...], rule_matching: str) -> dict[str, Counter]:
    """Alerts of the samples evaluated under one set of rule files, counted per sample and rule."""
    samples = sorted({case[0] for case in ALL_CASES if _rule_files(case) == rule_files})
    payloads, times, owner = [], [], {}
    for n, sample in enumerate(samples):
        events, _ = read_files(TRACES / sample)
        for i, (_, payload) in enumerate(events):
            stamp = 1_700_000_000_000_000_000 + n * EVENT_SPACING + i
            payloads.append(payload)
            times.append(stamp)
            owner[stamp] = sample
    result: dict[str, Counter] = {sample: Counter() for sample in samples}
    alerts = harness.alerts(K8sAuditExtractor(hostname="test-host"), list(rule_files),
                            harness.events(payloads, times), rule_matching=rule_matching)
    for alert in alerts:
        result[owner[alert["time_ns"]]][alert["rule"]] += 1
    return result


def _case_id(case: tuple[str, tuple[str, ...], str | None, int]) -> str:
    return "+".join([case[0].removesuffix(".json"), *(o.removesuffix(".yaml") for o in case[1])])


@pytest.mark.parametrize("rule_matching", ["first", "all"])
@pytest.mark.parametrize("case", ALL_CASES, ids=[_case_id(c) for c in ALL_CASES])
def test_sample_gives_the_expected_alerts(case: tuple[str, tuple[str, ...], str | None, int],
                                          rule_matching: str) -> None:
    sample, _, rule, times = case
    fired = _alerts_by_sample(_rule_files(case), rule_matching)[sample]
    if rule is None:
        assert fired == Counter(), f"{sample}: expected no alert, got {dict(fired)}"
    else:
        assert fired[rule] == times, f"{sample}: expected {times} x {rule}, got {dict(fired)}"


def test_first_match_gives_one_alert_per_event() -> None:
    """With `first`, a sample that makes two rules true (unknown user creating a namespace) alerts once."""
    files = (str(RULES), str(OVERRIDES / "allow_namespace_foo.yaml"))
    assert _alerts_by_sample(files, "first")["some-user_creates_namespace_foo.json"] == Counter(
        {"Disallowed K8s User": 1})
    assert _alerts_by_sample(files, "all")["some-user_creates_namespace_foo.json"] == Counter(
        {"Disallowed K8s User": 1, "K8s Namespace Created": 1})


def _post(port: int, body: bytes) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/k8s-audit", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


@pytest.fixture(name="posted", scope="module")
def fixture_posted() -> dict[str, list[tuple[int, bytes]]]:
    """Every trace file posted to the real webhook over loopback HTTP, as the API server sends it (an EventList
    of the file's events): what the webhook handed on, per file."""
    section = K8sAuditSource(enabled=True, listen_address="127.0.0.1", listen_port=0)
    handed_on: dict[str, list[tuple[int, bytes]]] = {}
    with running(section) as (ingest, collected):
        for path in sorted(TRACES.iterdir()):
            items = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            before = len(collected.events)
            if path.name == "fal_01_003.json":  # not an audit event at all: refused, the webhook goes on
                assert _post(ingest.port, path.read_bytes()) == 400
                continue
            body = json.dumps({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": items}).encode()
            assert _post(ingest.port, body) == 200
            handed_on[path.name] = collected.events[before:]  # a 200 means the events were handed on
    return handed_on


@pytest.mark.parametrize("case", ALL_CASES, ids=[_case_id(c) for c in ALL_CASES])
def test_sample_posted_to_the_webhook_gives_the_expected_alerts(
        case: tuple[str, tuple[str, ...], str | None, int], posted: dict[str, list[tuple[int, bytes]]]) -> None:
    """The same expectations with each sample arriving over HTTP at the webhook instead of from a file."""
    sample, _, rule, times = case
    events = posted[sample]
    assert events == read_files(TRACES / sample)[0]  # the webhook hands on exactly what the file holds
    alerts = harness.alerts(K8sAuditExtractor(hostname="test-host"), list(_rule_files(case)),
                            harness.events([p for _, p in events], [t for t, _ in events]))
    fired = Counter(alert["rule"] for alert in alerts)
    if rule is None:
        assert fired == Counter(), f"{sample}: expected no alert, got {dict(fired)}"
    else:
        assert fired[rule] == times, f"{sample}: expected {times} x {rule}, got {dict(fired)}"


def test_every_trace_file_is_covered() -> None:
    assert {case[0] for case in ALL_CASES} | {"fal_01_003.json"} == {p.name for p in TRACES.iterdir()}


def test_engine_v4_rules_with_todays_trust_file_do_not_load() -> None:
    """trust_nginx_container.yaml appends to lists only today's ruleset defines; upstream combined the v4 rules
    with an old ruleset that had them. Appending to a list nobody defined is a load error, as in Falco."""
    result = load_rules([str(OVERRIDES / "engine_v4_k8s_audit_rules.yaml"),
                         str(OVERRIDES / "trust_nginx_container.yaml")])
    assert not result.ok
    assert {m.code for m in result.errors} == {"LOAD_ERR_VALIDATE"}
    assert all("no list by that name already exists" in m.render_text() for m in result.errors)


def test_fal_01_003_is_logged_as_not_recognized_and_reading_goes_on() -> None:
    with structlog.testing.capture_logs() as logs:
        events, counters = read_files(TRACES / "fal_01_003.json", TRACES / "create_deployment.json")
    assert [entry["event"] for entry in logs if entry["log_level"] == "warning"] == [NOT_RECOGNIZED]
    assert counters == {"unrecognized": 1, "events": 1, "files_read": 2}
    assert len(events) == 1
