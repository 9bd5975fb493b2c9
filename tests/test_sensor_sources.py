"""The sensor end to end with the other event sources: run.py serving the k8s audit webhook, and several
sources (syscall replay, k8s audit files, CloudTrail files) running at once, each with its own rules."""

from __future__ import annotations

import json
import re
import subprocess
import time
import sys
import urllib.error
import urllib.request
from pathlib import Path

from tests.conftest import ROOT, SHARED, Output, free_port, wait_for

K8S_RULES = SHARED / "peer" / "plugin-rules" / "k8s_audit_rules.yaml"
CLOUDTRAIL_RULES = SHARED / "peer" / "plugin-rules" / "aws_cloudtrail_rules.yaml"
TRACES = SHARED / "peer" / "sample-events" / "k8s_audit" / "trace_files"
SCAP = SHARED / "peer" / "scap" / "captures" / "sysdig-inspect__capture-samples_502Error__947a737f.scap"
SYSCALL_RULE = """
- rule: Curl opened a file under /etc
  desc: test rule for the syscall stream
  condition: evt.type = open and fd.name startswith /etc and proc.name = curl
  output: "%proc.name opened %fd.name"
  priority: WARNING
"""
# Synthetic (written for this test, after AWS's documented record shape): a console login without MFA.
CONSOLE_LOGIN = {
    "eventVersion": "1.08", "eventTime": "2026-11-20T10:00:00Z", "eventSource": "signin.amazonaws.com",
    "eventName": "ConsoleLogin", "awsRegion": "us-east-1", "sourceIPAddress": "192.0.2.10",
    "userAgent": "Mozilla/5.0", "eventType": "AwsConsoleSignIn", "eventID": "synthetic-0001",
    "userIdentity": {"type": "IAMUser", "principalId": "AIDASYNTHETIC", "accountId": "111122223333",
                     "arn": "arn:aws:iam::111122223333:user/synthetic-bob", "userName": "synthetic-bob"},
    "responseElements": {"ConsoleLogin": "Success"},
    "additionalEventData": {"MFAUsed": "No", "LoginTo": "https://console.aws.amazon.com/"},
    "recipientAccountId": "111122223333", "readOnly": False, "managementEvent": True,
}


def http_status(url: str, data: bytes | None = None, headers: dict | None = None) -> int:
    request = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code
    except (urllib.error.URLError, ConnectionError, OSError):
        return 0


def event_list(path: Path) -> bytes:
    items = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return json.dumps({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": items}).encode()


class WebhookSensor:
    """run.py with only the k8s audit source, its webhook on a free loopback port."""

    def __init__(self, *extra: str, rules: Path = K8S_RULES) -> None:
        self.hook_port, self.web_port = free_port(), free_port()
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "run.py"), "-r", str(rules), "-o", "engine.kind=none",
             "-o", "sources.k8s_audit.enabled=true", "-o", "sources.k8s_audit.listen_address=127.0.0.1",
             "-o", f"sources.k8s_audit.listen_port={self.hook_port}", "-o", "json_output=true",
             "-o", "file_output.enabled=false", "-o", f"webserver.listen_port={self.web_port}",
             "-o", "pipeline.workers=2", *extra],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        self.output = Output(self.proc)
        wait_for(lambda: self.healthz() == 200 or self.proc.poll() is not None, 60, "sources running")
        assert self.proc.poll() is None, self.output.stderr()

    def healthz(self) -> int:
        return http_status(f"http://127.0.0.1:{self.web_port}/healthz")

    def post(self, body: bytes) -> int:
        return http_status(f"http://127.0.0.1:{self.hook_port}/k8s-audit", body,
                           {"Content-Type": "application/json"})

    def next_alert(self, timeout: float = 10) -> dict:
        line = self.output.next_line(timeout)
        assert line, "no alert"
        return json.loads(line)

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/metrics", timeout=5) as response:
            return response.read().decode()

    def stop(self) -> tuple[str, str]:
        return self.output.stop()


def test_k8s_audit_webhook_alerts_in_order(tmp_path: Path) -> None:
    """Audit events posted to the webhook alert with the upstream rules, in the order posted; an event no
    rule matches gives nothing; counters say what came in; SIGTERM ends it cleanly."""
    sensor = WebhookSensor()
    try:
        for name, rule in (("create_deployment.json", "K8s Deployment Created"),
                           ("create_nginx_pod_privileged.json", "Create Privileged Pod"),
                           ("attach_cluster_admin_role.json", "Attach to cluster-admin Role")):
            assert sensor.post(event_list(TRACES / name)) == 200
            alert = sensor.next_alert()
            assert (alert["rule"], alert["source"]) == (rule, "k8s_audit"), alert
        # A kube-system secret fires nothing; the next post's alert is the very next line.
        assert sensor.post(event_list(TRACES / "create_kube_system_secret.json")) == 200
        assert sensor.post(event_list(TRACES / "delete_namespace_foo.json")) == 200
        alert = sensor.next_alert()
        assert alert["rule"] == "K8s Namespace Deleted"
        assert alert["output_fields"]["ka.target.name"] == "foo"
        metrics = sensor.metrics()
        assert re.search(r'^saker_events_in_total 5\.0$', metrics, re.M), metrics
        assert 'saker_source_events_total{counter=' in metrics
    finally:
        stdout, stderr = sensor.stop()
    assert sensor.proc.returncode == 0, stderr
    assert stdout.strip() == ""  # nothing more than what was read


def test_several_sources_at_once(tmp_path: Path) -> None:
    """A syscall replay, k8s audit files and CloudTrail files in one sensor: each source's events meet only its
    own rules, all alerts arrive, and the sensor ends by itself when every source has ended."""
    rules = tmp_path / "syscall.yaml"
    rules.write_text(SYSCALL_RULE)
    trail = tmp_path / "trail" / "synthetic_console_login.json"
    trail.parent.mkdir()
    trail.write_text(json.dumps({"Records": [CONSOLE_LOGIN]}))
    proc = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "-c", "config/replay.yaml", "--replay", str(SCAP),
         "-r", str(rules), "-r", str(K8S_RULES), "-r", str(CLOUDTRAIL_RULES),
         "-o", "sources.k8s_audit.enabled=true", "-o", "sources.k8s_audit.webhook=false",
         "-o", f"sources.k8s_audit.files[]={TRACES / 'create_deployment.json'}",
         "-o", "sources.aws_cloudtrail.enabled=true", "-o", f"sources.aws_cloudtrail.paths[]={trail.parent}",
         "-o", "json_output=true", "-o", "webserver.enabled=false", "-o", "pipeline.workers=2"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    alerts = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    by_source: dict[str, list[str]] = {}
    for alert in alerts:
        by_source.setdefault(alert["source"], []).append(alert["rule"])
    assert by_source["k8s_audit"] == ["K8s Deployment Created"]
    assert by_source["aws_cloudtrail"] == ["Console Login Without MFA"]
    assert set(by_source["syscall"]) == {"Curl opened a file under /etc"} and len(by_source["syscall"]) > 0


def test_capture_then_replay_gives_the_same_alerts(tmp_path: Path) -> None:
    """k8s audit events captured to Arrow (`--capture`) replay (`--replay`) to the very same alerts."""
    files = [str(TRACES / name) for name in ("create_deployment.json", "create_nginx_pod_privileged.json",
                                             "create_configmap_sensitive_values.json", "exec_pod.json")]
    common = ["-r", str(K8S_RULES), "-o", "json_output=true", "-o", "webserver.enabled=false",
              "-o", "pipeline.workers=2", "-o", "file_output.enabled=false"]
    live = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), *common, "-o", "engine.kind=none", "-o", "sources.k8s_audit.enabled=true",
         "-o", "sources.k8s_audit.webhook=false", "-o", f"sources.k8s_audit.files={json.dumps(files)}",
         "--capture", str(tmp_path / "cap")],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert live.returncode == 0, live.stderr
    assert sorted(p.name for p in (tmp_path / "cap").iterdir()) == ["k8s_audit"]
    replayed = subprocess.run([sys.executable, str(ROOT / "run.py"), *common, "--replay", str(tmp_path / "cap")],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert replayed.returncode == 0, replayed.stderr

    def alerts(stdout: str) -> list[dict]:
        return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]

    first = alerts(live.stdout)
    assert [a["rule"] for a in first].count("Create/Modify Configmap With Private Credentials") == 6
    assert alerts(replayed.stdout) == first


def test_github_and_okta_in_one_sensor(tmp_path: Path) -> None:
    """run.py with the GitHub webhook and the Okta poller: a signed delivery and a polled System Log event
    alert with the upstream rules; an unsigned delivery is refused (401) and counted."""
    import hashlib
    import hmac

    from stages.plugins.okta.poller import rfc3339
    from tests.plugins.github_samples import sample
    from tests.plugins.okta_synthetic import log_event
    from tests.plugins.test_okta_poller import TOKEN, FakeOkta

    secret, hook_port, web_port = "synthetic-secret", free_port(), free_port()
    lockout = log_event("user.account.lock", uuid="synthetic-lock-1")
    lockout["published"] = rfc3339(time.time_ns() - 5_000_000_000)
    with FakeOkta() as okta:
        okta.add(lockout)
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "run.py"), "-r", str(SHARED / "peer" / "plugin-rules" / "github.yaml"),
             "-r", str(SHARED / "peer" / "plugin-rules" / "okta_rules.yaml"), "-o", "engine.kind=none",
             "-o", "sources.github.enabled=true", "-o", "sources.github.listen_address=127.0.0.1",
             "-o", f"sources.github.listen_port={hook_port}", "-o", f"sources.github.secret={secret}",
             "-o", "sources.okta.enabled=true", "-o", f"sources.okta.api_url={okta.url}",
             "-o", f"sources.okta.api_token={TOKEN}", "-o", "sources.okta.refresh_interval=0.2",
             "-o", "json_output=true", "-o", "file_output.enabled=false", "-o", f"webserver.listen_port={web_port}",
             "-o", "pipeline.workers=1"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        output = Output(proc)
        try:
            wait_for(lambda: http_status(f"http://127.0.0.1:{web_port}/healthz") == 200 or proc.poll() is not None,
                     60, "sources running")
            assert proc.poll() is None, output.stderr()
            body = json.dumps(sample("ping")).encode()
            url = f"http://127.0.0.1:{hook_port}/github"
            assert http_status(url, body, {"Content-Type": "application/json", "X-GitHub-Event": "ping"}) == 401
            signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            assert http_status(url, body, {"Content-Type": "application/json", "X-GitHub-Event": "ping",
                                           "X-Hub-Signature-256": signature}) in (200, 202)
            alerts = {}
            while len(alerts) < 2:
                line = output.next_line(15)
                assert line, f"alerts so far: {alerts}"
                alert = json.loads(line)
                alerts[alert["source"]] = alert
            assert alerts["github"]["rule"] == "Webhook Connected"
            assert alerts["okta"]["rule"] == "User has been locked out in OKTA"

            def metrics() -> str:
                with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/metrics", timeout=5) as response:
                    return response.read().decode()

            wait_for(lambda: 'saker_source_events_total{counter="refused_signature",source="github"} 1.0'
                     in metrics(), 10, "the refused delivery counted in /metrics")
        finally:
            _, stderr = output.stop()
    assert proc.returncode == 0, stderr


def test_misconfigured_source_is_refused_at_start(saker) -> None:
    """A source that cannot run as configured (GitHub without its webhook secret) stops --dry-run and the
    sensor with a message naming the key; nothing starts."""
    for mode in (["--dry-run"], ["-o", "engine.kind=none", "-M", "5"]):
        proc = saker(*mode, "-o", "sources.github.enabled=true", "-o", "webserver.enabled=false")
        assert proc.returncode == 1
        assert "sources.github.secret is empty" in proc.stderr


K8S_RULE = """
- rule: {name}
  desc: test rule for the k8s_audit stream
  condition: ka.verb = create and ka.target.resource = deployments
  output: "{name}: %ka.target.name by %ka.user.name"
  priority: NOTICE
  source: k8s_audit
"""


def test_rules_file_change_reloads_the_plugin_stream(tmp_path: Path) -> None:
    """Changing a rules file reloads the rules of the plugin sources too: the next audit event meets the new
    rule, with no restart of the webhook."""
    rules = tmp_path / "k8s.yaml"
    rules.write_text(K8S_RULE.format(name="Deployment v1"))
    sensor = WebhookSensor(rules=rules)
    try:
        assert sensor.post(event_list(TRACES / "create_deployment.json")) == 200
        assert sensor.next_alert()["rule"] == "Deployment v1"
        rules.write_text(K8S_RULE.format(name="Deployment v2"))

        def reloaded() -> bool:
            assert sensor.post(event_list(TRACES / "create_deployment.json")) == 200
            return sensor.next_alert()["rule"] == "Deployment v2"

        wait_for(reloaded, 30, "the changed rules file in force")
    finally:
        stdout, stderr = sensor.stop()
    assert sensor.proc.returncode == 0, stderr
