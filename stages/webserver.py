"""The sensor's web endpoints: /healthz (200 once capture runs, 503 before) and /metrics (Prometheus text).

Served by aiohttp on its own thread in the supervisor process, so it never touches the event path. Metrics are
read from the shared counters at scrape time by a prometheus-client collector: nothing is counted twice and
the stages pay nothing per event for being observable.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Callable, Iterable

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

from pipeline.counters import SENSOR_COUNTERS, WORKER_COUNTERS, Counters

PREFIX = "saker"


class SensorCollector(Collector):
    """Turns the shared counters (and any extra gauges) into Prometheus metric families."""

    def __init__(self, counters: Counters, version: str, gauges: Callable[[], dict[str, float]] | None = None):
        self.counters = counters
        self.version = version
        self.gauges = gauges

    def collect(self) -> Iterable[Any]:
        info = InfoMetricFamily(f"{PREFIX}_version", "Saker version")
        info.add_metric([], {"version": self.version})
        yield info
        for name, help_text in SENSOR_COUNTERS:
            yield CounterMetricFamily(f"{PREFIX}_{name}", help_text, value=self.counters.get(name))
        for name, help_text in WORKER_COUNTERS:
            family = CounterMetricFamily(f"{PREFIX}_worker_{name}", help_text, labels=["worker"])
            for worker in range(self.counters.workers):
                family.add_metric([str(worker)], self.counters.get_worker(worker, name))
            yield family
        for name, value in (self.gauges() if self.gauges else {}).items():
            yield GaugeMetricFamily(f"{PREFIX}_{name}", name.replace("_", " "), value=value)


class WebServer:
    """Start with `start()`, stop with `stop()`; `port` is the bound port (useful with listen_port 0)."""

    def __init__(self, *, address: str, port: int, healthz_path: str, metrics: bool, collector: SensorCollector,
                 healthy: Callable[[], bool]) -> None:
        self.address = address
        self.port = port
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(collector)
        self.healthy = healthy
        self.app = web.Application()
        self.app.router.add_get(healthz_path, self._healthz)
        if metrics:
            self.app.router.add_get("/metrics", self._metrics)
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="saker-webserver", daemon=True)

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=10)

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _serve(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.address, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]  # the real port when 0 was asked for

    async def _healthz(self, _request: web.Request) -> web.Response:
        if self.healthy():
            return web.json_response({"status": "ok"})
        return web.json_response({"status": "starting"}, status=503)

    async def _metrics(self, _request: web.Request) -> web.Response:
        body = await asyncio.get_running_loop().run_in_executor(None, generate_latest, self.registry)
        return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})
