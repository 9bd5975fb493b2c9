"""/healthz and /metrics over real HTTP on loopback."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from pipeline.counters import Counters
from stages.webserver import SensorCollector, WebServer


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
