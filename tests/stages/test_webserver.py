"""/healthz and /metrics over real HTTP on loopback."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from pipeline.counters import Counters
from stages.metrics import SensorCollector
from stages.webserver import WebServer


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read().decode()


def test_healthz_and_metrics() -> None:
    """/healthz is 503 until capture runs, then 200; /metrics shows the shared counters."""
    counters = Counters(2)
    running = {"yes": False}
    server = WebServer(address="127.0.0.1", port=0, healthz_path="/healthz", metrics=True,
                       collector=SensorCollector(counters, "0.1.0", lambda: {"rss_bytes": 1234}),
                       healthy=lambda: running["yes"])
    server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        status, _, body = get(base + "/healthz")
        assert (status, json.loads(body)) == (503, {"status": "starting"})
        running["yes"] = True
        status, _, body = get(base + "/healthz")
        assert (status, json.loads(body)) == (200, {"status": "ok"})

        counters.add("events_in", 42)
        counters.add_worker(1, "alerts", 3)
        status, content_type, body = get(base + "/metrics")
        assert status == 200
        assert content_type.startswith("text/plain; version=0.0.4")
        assert "saker_events_in_total 42.0" in body
        assert 'saker_worker_alerts_total{worker="1"} 3.0' in body
        assert 'saker_version_info{version="0.1.0"} 1.0' in body
        assert "saker_rss_bytes 1234.0" in body
    finally:
        server.stop()


def test_rule_output_and_latency_metrics() -> None:
    """Per-rule evaluations/matches, per-output counters and the latency histogram reach /metrics."""
    import numpy as np

    counters = Counters(2, outputs=("stdout", "http"))
    counters.add_rules(0, np.array([10, 4]), np.array([2, 0]))
    counters.add_rules(1, np.array([5, 1]), np.array([1, 1]))
    counters.set_outputs({"http": {"delivered": 7, "failed_attempts": 2}})
    counters.observe_latencies(np.array([0.002, 0.03, 20.0]))
    collector = SensorCollector(counters, "0.1.0", rule_names=["Rule A", "Rule B"])
    server = WebServer(address="127.0.0.1", port=0, healthz_path="/healthz", metrics=True, collector=collector,
                       healthy=lambda: True)
    server.start()
    try:
        _, _, body = get(f"http://127.0.0.1:{server.port}/metrics")
    finally:
        server.stop()
    assert 'saker_rule_evaluations_total{rule="Rule A"} 15.0' in body
    assert 'saker_rule_matches_total{rule="Rule B"} 1.0' in body
    assert 'saker_output_delivered_total{output="http"} 7.0' in body
    assert 'saker_output_failed_attempts_total{output="http"} 2.0' in body
    assert 'saker_event_alert_latency_seconds_bucket{le="0.005"} 1.0' in body
    assert 'saker_event_alert_latency_seconds_bucket{le="0.05"} 2.0' in body
    assert 'saker_event_alert_latency_seconds_bucket{le="+Inf"} 3.0' in body
    summary = collector.summary()
    assert summary["outputs"]["http"]["delivered"] == 7
    assert summary["state"]["threads"] == 0
    assert summary["alerts_latency_mean_ms"] == round(1000 * 20.032 / 3, 3)


def test_state_engine_figures_are_summed_over_capture_streams() -> None:
    """Table sizes are gauges, prunes counters; each capture process publishes its own, /metrics sums them."""
    counters = Counters(1, streams=2)
    counters.set_state({"threads": 40, "fds": 300, "processes_ended": 7}, stream=0)
    counters.set_state({"threads": 2, "fds_pruned_cap": 5}, stream=1)
    counters.set_state({"threads": 41, "fds": 290, "processes_ended": 9}, stream=0)  # a later batch
    server = WebServer(address="127.0.0.1", port=0, healthz_path="/healthz", metrics=True,
                       collector=SensorCollector(counters, "0.1.0"), healthy=lambda: True)
    server.start()
    try:
        _, _, body = get(f"http://127.0.0.1:{server.port}/metrics")
    finally:
        server.stop()
    assert "# TYPE saker_state_threads gauge" in body and "saker_state_threads 43.0" in body
    assert "saker_state_fds 290.0" in body
    assert "# TYPE saker_state_processes_ended_total counter" in body
    assert "saker_state_processes_ended_total 9.0" in body
    assert "saker_state_fds_pruned_cap_total 5.0" in body
