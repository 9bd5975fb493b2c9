"""Kubernetes audit events per second through the whole sensor: webhook -> plugin capture -> workers -> output.

Run: .venv/bin/python bench/bench_sources.py [--posts 200] [--per-post 100] [--workers 2]
Starts `run.py` with only the k8s audit source (`engine.kind=none`) and Falco's k8s audit rules, posts
`--posts` EventLists of `--per-post` audit events each (a real sample, re-numbered) over loopback HTTP from
4 client threads, and times until the sensor has evaluated every event (its /metrics counters). Baseline in
the same run: the same posts to a bare aiohttp server that only parses each body as JSON and answers 200 —
the ceiling HTTP and JSON set on this machine for any webhook receiver written in Python.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from aiohttp import web  # noqa: E402
from bench_latency import healthy  # noqa: E402

from tests.conftest import SHARED, free_port, wait_for  # noqa: E402

RULES = SHARED / "peer" / "plugin-rules" / "k8s_audit_rules.yaml"
TRACES = SHARED / "peer" / "sample-events" / "k8s_audit" / "trace_files"
SAMPLE = TRACES / "create_nginx_pod_privileged.json"


def bodies(posts: int, per_post: int, sample: Path = SAMPLE) -> list[bytes]:
    event = json.loads(sample.read_text().splitlines()[0])
    out = []
    for p in range(posts):
        items = [dict(event, auditID=f"bench-{p}-{i}") for i in range(per_post)]
        out.append(json.dumps({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": items}).encode())
    return out


def post_all(url: str, payloads: list[bytes]) -> float:
    """Post every body from 4 threads; seconds taken (every answer must be 200)."""
    def post(body: bytes) -> None:
        request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 200

    started = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(post, payloads))
    return time.perf_counter() - started


def bare_server_rate(payloads: list[bytes], events: int) -> float:
    """Events/s a bare aiohttp server accepts (parse JSON, answer 200)."""
    port, ready, stop = free_port(), threading.Event(), threading.Event()

    async def handle(request: web.Request) -> web.Response:
        json.loads(await request.read())
        return web.Response(text="ok")

    async def serve() -> None:
        app = web.Application(client_max_size=64 << 20)
        app.router.add_post("/k8s-audit", handle)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)
        await runner.cleanup()

    thread = threading.Thread(target=lambda: asyncio.run(serve()))
    thread.start()
    ready.wait(10)
    try:
        return events / post_all(f"http://127.0.0.1:{port}/k8s-audit", payloads)
    finally:
        stop.set()
        thread.join()


def counter(metrics_url: str, name: str) -> float:
    """A counter's value, summed over its labels (per-worker counters)."""
    with urllib.request.urlopen(metrics_url, timeout=5) as response:
        text = response.read().decode()
    return sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+]+)$", text, re.M))


def sensor_rate(payloads: list[bytes], events: int, workers: int) -> tuple[float, float, int]:
    """(events/s accepted by the webhook, events/s evaluated end to end, alerts) for the whole sensor."""
    hook, web_port = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "-r", str(RULES), "-o", "engine.kind=none",
         "-o", "sources.k8s_audit.enabled=true", "-o", "sources.k8s_audit.listen_address=127.0.0.1",
         "-o", f"sources.k8s_audit.listen_port={hook}", "-o", f"webserver.listen_port={web_port}",
         "-o", "stdout_output.enabled=false", "-o", f"pipeline.workers={workers}"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    metrics = f"http://127.0.0.1:{web_port}/metrics"
    try:
        wait_for(lambda: proc.poll() is not None or healthy(web_port), 60, "sensor up")
        started = time.perf_counter()
        accepted = events / post_all(f"http://127.0.0.1:{hook}/k8s-audit", payloads)
        wait_for(lambda: counter(metrics, "saker_worker_events_evaluated_total") >= events, 120, "every event evaluated")
        evaluated = events / (time.perf_counter() - started)
        alerts = int(counter(metrics, "saker_alerts_out_total"))
    finally:
        proc.terminate()
        proc.communicate(timeout=60)
    return accepted, evaluated, alerts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--per-post", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sample", default=SAMPLE.name, help="trace file whose first event is posted")
    args = parser.parse_args()
    payloads = bodies(args.posts, args.per_post, TRACES / args.sample)
    events = args.posts * args.per_post
    print(f"{events:,} k8s audit events in {args.posts} EventLists of {args.per_post} "
          f"({sum(map(len, payloads)) / 2**20:.0f} MB of JSON), 48 upstream rules, {args.workers} workers")
    baseline = bare_server_rate(payloads, events)
    accepted, evaluated, alerts = sensor_rate(payloads, events, args.workers)
    print(f"bare aiohttp server (parse + 200):       {baseline:>10,.0f} events/s")
    print(f"sensor webhook accepted:                 {accepted:>10,.0f} events/s ({accepted / baseline:.2f}x the bare server)")
    print(f"sensor end to end (every event evaluated): {evaluated:>8,.0f} events/s; alerts {alerts:,}")


if __name__ == "__main__":
    main()
