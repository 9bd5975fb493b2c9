"""Outages: an HTTP destination down then up gets every alert exactly once, across a router restart too."""

from __future__ import annotations

import json
import time
from collections import Counter

from stages.output import OutputRouter
from tests.outputs.conftest import LocalHttpServer, free_port, make_alert, make_config, wait_for


def _config(port: int, spool_dir, **http):
    return make_config(
        json_output=True, stdout_output={"enabled": False},
        http_output={"enabled": True, "url": f"http://127.0.0.1:{port}/alerts", "timeout": 5,
                     "retry": {"initial_seconds": 0.02, "max_seconds": 0.1, "jitter": 0.2}, "batch_size": 7, **http},
        outputs_spool={"dir": str(spool_dir), "fsync": "always"})


def _received(server: LocalHttpServer) -> Counter:
    return Counter(json.loads(body)["output_fields"]["n"] for body in server.recorder.bodies())


def test_destination_down_then_up_gets_every_alert_exactly_once(tmp_path):
    """Alerts sent during an outage wait in the spool, new ones queue behind them, all arrive once, in order."""
    port = free_port()
    router = OutputRouter.from_config(_config(port, tmp_path / "spool"), hostname="h")
    router.submit_many(make_alert(i) for i in range(40))
    wait_for(lambda: router.stats()["http"]["failed_attempts"] >= 3, what="failed attempts while down")
    router.submit_many(make_alert(i) for i in range(40, 60))
    wait_for(lambda: router.stats()["http"]["spool_pending"] == 60, what="all alerts spooled")
    server = LocalHttpServer(port=port)
    try:
        wait_for(lambda: sum(_received(server).values()) >= 60, what="delivery after the outage")
        router.submit_many(make_alert(i) for i in range(60, 70))
        wait_for(lambda: sum(_received(server).values()) >= 70, what="delivery once recovered")
        router.close(5)
        numbers = [json.loads(b)["output_fields"]["n"] for b in server.recorder.bodies()]
        assert numbers == list(range(70))
        stats = router.stats()["http"]
        assert stats["delivered"] == 70 and stats["spool_pending"] == 0 and stats["retried"] >= 2
        assert stats["spooled"] == 60 and stats["spool_overflow"] == 0
    finally:
        server.stop()


def test_spool_survives_a_router_restart_and_is_not_delivered_twice(tmp_path):
    """Alerts spooled by a router closed during an outage are delivered once by the next router."""
    port = free_port()
    first = OutputRouter.from_config(_config(port, tmp_path / "spool"), hostname="h")
    first.submit_many(make_alert(i) for i in range(25))
    wait_for(lambda: first.stats()["http"]["failed_attempts"] >= 1, what="the first failure")
    first.close(0.2)
    assert first.stats()["http"]["spool_pending"] == 25

    server = LocalHttpServer(port=port)
    try:
        second = OutputRouter.from_config(_config(port, tmp_path / "spool"), hostname="h")
        second.submit_many(make_alert(i) for i in range(25, 30))
        wait_for(lambda: sum(_received(server).values()) >= 30, what="the spool delivered by the new router")
        second.close(5)
        third = OutputRouter.from_config(_config(port, tmp_path / "spool"), hostname="h")
        third.close(5)
        received = _received(server)
        assert sorted(received) == list(range(30)) and set(received.values()) == {1}
        assert third.stats()["http"]["delivered"] == 0
    finally:
        server.stop()


def test_close_spools_alerts_stuck_behind_a_hung_destination(tmp_path):
    """close(timeout) returns on time and the in-flight and queued alerts are in the spool for next time."""
    server = LocalHttpServer()
    server.recorder.delay = 2.0
    try:
        router = OutputRouter.from_config(_config(server.port, tmp_path / "spool", batch_size=100), hostname="h")
        router.submit_many(make_alert(i) for i in range(3))
        wait_for(lambda: server.recorder.started, what="the hung request")
        router.submit_many(make_alert(i) for i in range(3, 6))
        started = time.monotonic()
        router.close(0.3)
        assert time.monotonic() - started < 1.0
        assert router.stats()["http"]["spool_pending"] == 6
    finally:
        server.stop()
