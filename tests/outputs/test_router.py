"""The router: priority and routing, dedup, rate limit with its summary, backoff, isolation, reopen, close."""

from __future__ import annotations

import json
import random
import time

import structlog

from config.schema import Retry
from rules.priority import Priority
from stages.output import RATE_LIMIT_RULE, Backoff, Gate, OutputRouter, OutputStats
from stages.sinks import SINKS, load_sink
from tests.outputs.conftest import free_port, make_alert, make_config, wait_for


class ManualClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _file_router(tmp_path, hostname="h", **file_settings):
    config = make_config(json_output=True, stdout_output={"enabled": False},
                         file_output={"enabled": True, "filename": str(tmp_path / "events.jsonl"), "keep_alive": True,
                                      **file_settings})
    return OutputRouter.from_config(config, hostname=hostname)


def _lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_every_registered_sink_loads_under_its_name():
    """SINKS maps each config name to a class carrying that name."""
    assert sorted(SINKS) == ["email", "file", "http", "program", "s3", "slack", "stdout", "syslog"]
    assert all(load_sink(name).name == name for name in SINKS)


def test_priority_and_routing_with_wildcards(tmp_path):
    """min_priority, rule/source includes and tag excludes (with *) decide what reaches the output."""
    router = _file_router(tmp_path, min_priority="notice", routing={
        "rules": {"include": ["Read *", "Write below etc"], "exclude": ["Read * ignored"]},
        "tags": {"exclude": ["noisy*"]}, "sources": {"include": ["syscall"]}})
    alerts = [
        make_alert(0),                                            # passes
        make_alert(1, priority=Priority.INFORMATIONAL),           # below notice
        make_alert(2, rule="Read this ignored"),                  # excluded rule
        make_alert(3, rule="Write below etc", tags=()),           # passes, no tags
        make_alert(4, rule="Spawn shell"),                        # not included
        make_alert(5, tags=("noisy_rule", "x")),                  # excluded tag
        make_alert(6, source="k8s_audit"),                        # other source
        make_alert(7, priority=Priority.EMERGENCY),               # passes
    ]
    router.submit_many(alerts)
    router.close(5)
    assert [d["output_fields"]["n"] for d in _lines(tmp_path / "events.jsonl")] == [0, 3, 7]
    stats = router.stats()["file"]
    assert (stats["alerts_in"], stats["filtered"], stats["delivered"]) == (3, 5, 3)


def test_tag_include_needs_one_matching_tag():
    """A tag include list admits alerts with any matching tag and refuses untagged ones."""
    settings = make_config(file_output={"routing": {"tags": {"include": ["mitre_*"]}}}).file_output
    gate = Gate("file", settings, OutputStats(), hostname="h", summary_seconds=10)
    assert gate.wants(make_alert(tags=("a", "mitre_execution")))
    assert not gate.wants(make_alert(tags=("a",)))
    assert not gate.wants(make_alert(tags=()))


def test_dedup_collapses_identical_alerts_within_the_window():
    """Identical rule + output_fields (evt.time aside) within the window become one alert with the count."""
    clock = ManualClock()
    settings = make_config(file_output={"dedup_seconds": 5}).file_output
    stats = OutputStats()
    gate = Gate("file", settings, stats, hostname="h", summary_seconds=10, clock=clock)
    same = {"proc.name": "cat"}
    assert gate.admit([make_alert(i, fields={**same, "evt.time": i}) for i in range(3)]) == []
    assert gate.admit([make_alert(9, fields={"proc.name": "vi"})]) == []
    clock.now += 4.9
    assert gate.due() == []
    clock.now += 0.2
    released = gate.due()
    assert [(a.output_fields["proc.name"], a.count) for a in released] == [("cat", 3), ("vi", 1)]
    assert stats.deduplicated == 2


def test_dedup_end_to_end_writes_one_line_with_count(tmp_path):
    """Through the router, five identical alerts become one JSON line carrying count 5."""
    router = _file_router(tmp_path, dedup_seconds=0.2)
    router.submit_many(make_alert(0) for _ in range(5))
    lines = wait_for(lambda: _lines(tmp_path / "events.jsonl"), what="the collapsed alert")
    router.close(5)
    assert len(lines) == 1 and lines[0]["count"] == 5


def test_rate_limit_counts_and_summarises_suppressed_alerts():
    """The token bucket passes `burst` alerts, refills at `rate`, and one summary reports the suppressed ones."""
    clock = ManualClock()
    settings = make_config(file_output={"rate_limit": {"rate": 2, "burst": 3}}).file_output
    stats = OutputStats()
    gate = Gate("file", settings, stats, hostname="h", summary_seconds=10, clock=clock)
    assert len(gate.admit([make_alert(i) for i in range(10)])) == 3
    clock.now += 1.0  # two tokens back
    assert [a.output_fields["n"] for a in gate.admit([make_alert(i) for i in range(10, 15)])] == [10, 11]
    assert stats.dropped_rate_limit == 10
    assert gate.due() == []
    clock.now += 10
    summary, = gate.due()
    assert summary.rule == RATE_LIMIT_RULE and summary.source == "internal"
    assert summary.message == "10 alerts suppressed by rate limit for file"
    assert summary.output_fields == {"saker.output": "file", "saker.suppressed": 10}
    assert gate.due() == []


def test_rate_limit_summary_is_delivered_at_close(tmp_path):
    """Suppressed alerts are never silent: close() delivers the pending summary."""
    router = _file_router(tmp_path, rate_limit={"rate": 0.001, "burst": 3})
    router.submit_many(make_alert(i) for i in range(20))
    router.close(5)
    lines = _lines(tmp_path / "events.jsonl")
    assert [d["output_fields"].get("n") for d in lines[:3]] == [0, 1, 2]
    assert lines[3]["rule"] == RATE_LIMIT_RULE
    assert lines[3]["output"].endswith("Warning 17 alerts suppressed by rate limit for file")
    assert len(lines) == 4 and router.stats()["file"]["dropped_rate_limit"] == 17


def test_backoff_grows_exponentially_to_the_cap_with_bounded_jitter():
    """Delays double up to max_seconds; jitter keeps each within its +-fraction; reset starts over."""
    exact = Backoff(Retry(initial_seconds=0.5, max_seconds=3, multiplier=2, jitter=0))
    assert [exact.next_delay() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    exact.reset()
    assert exact.next_delay() == 0.5
    jittery = Backoff(Retry(initial_seconds=1, max_seconds=8, multiplier=2, jitter=0.25), random.Random(7))
    delays = [jittery.next_delay() for _ in range(4)]
    assert all(0.75 * b <= d <= 1.25 * b for d, b in zip(delays, [1, 2, 4, 8], strict=True))
    assert len(set(delays)) == 4


def test_a_slow_output_does_not_delay_the_others(tmp_path, http_server):
    """With an HTTP endpoint taking 1 s per request, the file output still gets every alert at once."""
    http_server.recorder.delay = 1.0
    config = make_config(json_output=True, stdout_output={"enabled": False},
                         file_output={"enabled": True, "filename": str(tmp_path / "events.jsonl")},
                         http_output={"enabled": True, "url": http_server.url(), "timeout": 30})
    router = OutputRouter.from_config(config, hostname="h")
    started = time.monotonic()
    router.submit_many(make_alert(i) for i in range(5))
    wait_for(lambda: len(_lines(tmp_path / "events.jsonl")) == 5, timeout=0.9, what="the file output")
    wait_for(lambda: http_server.recorder.started, timeout=0.9, what="the first HTTP request")
    assert time.monotonic() - started < 0.9
    assert http_server.recorder.requests == []  # the first request is still being answered
    http_server.recorder.delay = 0
    wait_for(lambda: len(http_server.recorder.requests) == 5, what="the slow HTTP output")
    router.close(5)


def test_reopen_makes_the_file_output_create_a_new_file(tmp_path):
    """router.reopen() (SIGUSR1) closes the kept file so alerts go to a fresh one after an external move."""
    router = _file_router(tmp_path)
    router.submit(make_alert(0))
    wait_for(lambda: _lines(tmp_path / "events.jsonl"), what="the first alert")
    (tmp_path / "events.jsonl").rename(tmp_path / "rotated.jsonl")
    router.reopen()
    router.submit(make_alert(1))
    wait_for(lambda: _lines(tmp_path / "events.jsonl"), what="the second alert in a new file")
    router.close(5)
    assert [d["output_fields"]["n"] for d in _lines(tmp_path / "rotated.jsonl")] == [0]


def test_failures_are_logged_without_secrets(tmp_path):
    """Failed deliveries are logged once with the error, never the webhook path or token."""
    with structlog.testing.capture_logs() as logs:
        config = make_config(http_output={"enabled": True, "url": f"http://127.0.0.1:{free_port()}/T0/SECRETHOOK",
                                          "headers": {"Authorization": "Bearer TOPSECRET"},
                                          "retry": {"initial_seconds": 0.01, "max_seconds": 0.02}},
                             stdout_output={"enabled": False})
        router = OutputRouter.from_config(config, hostname="h")
        router.submit_many(make_alert(i) for i in range(3))
        wait_for(lambda: router.stats()["http"]["failed_attempts"] >= 3, what="failed attempts")
        router.close(0.2)
    assert any(entry["event"].startswith("output delivery failed") for entry in logs)
    text = repr(logs)
    assert "SECRETHOOK" not in text and "TOPSECRET" not in text
