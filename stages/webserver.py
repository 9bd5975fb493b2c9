"""The sensor's web endpoints: /healthz (200 once capture runs, 503 before) and /metrics (Prometheus text).

Served by aiohttp on its own thread in the supervisor process, so it never touches the event path; /metrics
renders `stages.metrics.SensorCollector`. Imported only when the webserver is enabled (aiohttp takes a good
part of a second to import).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest

from stages.metrics import SensorCollector


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
