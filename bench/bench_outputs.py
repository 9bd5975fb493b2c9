"""Alerts per second through the output router: to a file (JSON lines), and to a local HTTP server.

Run: .venv/bin/python bench/bench_outputs.py [--alerts N]
Each run builds a router from a config (the real sinks, the real spool settings), submits N alerts in
batches of 1000 as the rule workers would, and times until every alert is delivered (router counters).
The HTTP server is a local aiohttp application answering 200 to each POST (one request per alert, as Falco).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web  # noqa: E402

from config.schema import Config  # noqa: E402
from rules.priority import Priority  # noqa: E402
from stages.alert import Alert  # noqa: E402
from stages.output import OutputRouter  # noqa: E402

T0 = 1769852482118204311


def alerts(count: int) -> list[Alert]:
    return [Alert(rule="Read sensitive file untrusted", priority=Priority.WARNING, source="syscall",
                  time_ns=T0 + i, message=f"Sensitive file opened (file=/etc/shadow user=root process=cat n={i})",
                  output_fields={"fd.name": "/etc/shadow", "user.name": "root", "proc.name": "cat",
                                 "proc.cmdline": "cat /etc/shadow", "n": i},
                  tags=("filesystem", "mitre_credential_access"), hostname="bench") for i in range(count)]


def run(config: Config, name: str, batch: list[Alert], label: str = "") -> float:
    router = OutputRouter.from_config(config, hostname="bench")
    started = time.perf_counter()
    for i in range(0, len(batch), 1000):
        router.submit_many(batch[i:i + 1000])
    submitted = time.perf_counter() - started
    while router.stats()[name]["delivered"] < len(batch):
        time.sleep(0.001)
    elapsed = time.perf_counter() - started
    spooled = router.stats()[name]["spooled"]
    router.close(10)
    print(f"  {name:5s} {label:22s} {len(batch):7d} alerts  submit {len(batch) / submitted:9,.0f}/s  "
          f"delivered {len(batch) / elapsed:8,.0f}/s  ({elapsed:.2f} s, {spooled} via the spool)")
    return elapsed


class HttpTarget:
    """A local aiohttp server on its own thread counting POSTs."""

    def __init__(self) -> None:
        self.count = 0
        self.port = 0
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._serve, daemon=True).start()
        self._ready.wait()

    async def _handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.count += 1
        return web.Response(text="ok")

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/", self._handle)
        runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=100_000, help="alerts for the file run (HTTP: a tenth)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        print(f"output router throughput (python {sys.version.split()[0]})")
        batch = alerts(args.alerts)
        for capacity, label in ((10_000, "burst > queue (default)"), (args.alerts, "queue holds the burst")):
            file_config = Config.model_validate({
                "json_output": True, "stdout_output": {"enabled": False},
                "file_output": {"enabled": True, "keep_alive": True, "filename": f"{folder}/events.jsonl",
                                "batch_size": 1024, "queue_capacity": capacity},
                "outputs_spool": {"dir": f"{folder}/spool"}})
            run(file_config, "file", batch, label)
        target = HttpTarget()
        http_config = Config.model_validate({
            "json_output": True, "stdout_output": {"enabled": False},
            "http_output": {"enabled": True, "keep_alive": True, "url": f"http://127.0.0.1:{target.port}/"},
            "outputs_spool": {"dir": f"{folder}/spool"}})
        run(http_config, "http", alerts(max(1, args.alerts // 10)), "one POST per alert")
        print(f"  http server counted {target.count} POSTs")


if __name__ == "__main__":
    main()
