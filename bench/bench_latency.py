"""Event -> alert latency of the live sensor under a steady syscall load (run as root).

Starts `run.py` on the live engine with the 25 stable Falco rules (or `--rules`) plus one probe rule, runs
bench/loadgen.c at a steady rate of openat+close syscalls (default 100,000 syscalls/s, on /etc/hostname, which no
rule flags), and meanwhile opens a probe file 20 times a second from this process. For each probe the latency
is the time from just before the open() call to the moment its alert line is read from the sensor's stdout:
the whole path kernel -> ring -> capture -> worker -> output -> stdout. Prints p50/p90/p99/max, the sensor's
drops, and its CPU its processes used while the probes ran (in cores: 1.0 = one core busy), and its peak
memory under the same load (RSS summed over its processes, and PSS, which counts pages the forked processes
share once).

Memory is sampled after the probes, not while they run: reading a process's /proc/PID/smaps_rollup walks its
page tables under its mmap lock (~10 ms for the capture process), and the sensor's own mmap and munmap calls
wait for it, so sampling every 0.5 s added such stalls to the latencies measured.

With `--mix ROUNDS`, bench/mixload.c runs alongside: ROUNDS times a second it execs a program, writes a new
file and makes a loopback connection. That is what a busy host does all day, and each of these changes the
sensor's state, where loadgen's openat of one file changes next to nothing. With `--fork FORKS`,
bench/forkload.c runs alongside: FORKS times a second a process holding 16 open fds forks a child that exits at
once (a shell loop, a build, a server spawning helpers): each child's fd table is copied and dropped again.

    .venv/bin/python bench/bench_latency.py [--rate 100000] [--seconds 10] [--memory-seconds 3] [--workers 2]
                                            [--rules PATH] [--mix ROUNDS] [--fork FORKS] [-o KEY=VALUE ...]

`-o` passes a config override to the sensor (e.g. `-o pipeline.flush_ms=10`).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_capture import build_loadgen  # noqa: E402
from bench_pipeline import tree_memory  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

STABLE_RULES = ROOT.parent / "shared" / "peer" / "falco-rules" / "falco_rules.yaml"
PROBE_RULE = """
- rule: Latency probe
  desc: bench probe
  condition: evt.type in (open, openat) and fd.name startswith {prefix}
  output: "probe %fd.name"
  priority: NOTICE
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def _stamp_lines(stream, arrivals: "queue.Queue[tuple[float, str]]") -> None:
    for line in stream:
        arrivals.put((time.monotonic(), line))


def _collect(arrivals: "queue.Queue[tuple[float, str]]", sent: dict[str, float], latencies: list[float], *,
             until: float) -> None:
    """Match the alert lines arriving before `until` to the probes sent."""
    while (left := until - time.monotonic()) > 0:
        try:
            arrived, line = arrivals.get(timeout=left)
        except queue.Empty:
            return
        if line.startswith("{"):
            name = json.loads(line)["output_fields"].get("fd.name")
            if name in sent:
                latencies.append(arrived - sent.pop(name))


def tree_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) used so far by a process and each of its descendants."""
    found: dict[int, float] = {}
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{current}/task/{current}/children") as children:
                pending += [int(c) for c in children.read().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
        found[current] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return found


def cores_used(before: dict[int, float], after: dict[int, float], seconds: float) -> str:
    """Cores each sensor process used between two `tree_cpu` readings, busiest first (the capture process is
    the busiest one), and their sum."""
    used = sorted(((total - before.get(pid, 0.0)) / seconds for pid, total in after.items()), reverse=True)
    return f"{sum(used):.2f} cores in all; per process {', '.join(f'{value:.2f}' for value in used)}"


class _MemorySampler(threading.Thread):
    """Peak RSS and PSS of the sensor's process tree, sampled every 0.5 s."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_rss, self.peak_pss = pid, 0, 0
        self._stopped = threading.Event()

    def run(self) -> None:
        while True:
            rss, pss = tree_memory(self.pid)
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
            if self._stopped.wait(0.5):
                return

    def stop(self) -> None:
        self._stopped.set()
        self.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=100_000, help="background syscalls per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--memory-seconds", type=float, default=3.0, help="load kept on after the probes while "
                        "memory is sampled")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--mix", type=int, default=0, metavar="ROUNDS",
                        help="also run bench/mixload.c at ROUNDS rounds/s (each: an exec, a new file, a connection)")
    parser.add_argument("--fork", type=int, default=0, metavar="FORKS",
                        help="also run bench/forkload.c at FORKS forks/s (a 16-fd process's children exiting at once)")
    parser.add_argument("-o", "--option", action="append", default=[], help="config override passed to run.py")
    parser.add_argument("--rules", type=Path, default=STABLE_RULES,
                        help="rules file or folder loaded with the probe rule (default: the 25 stable Falco rules; "
                             "rules/default for Saker's own)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: live capture loads eBPF programs")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        loadgen = build_loadgen(folder)
        mixload = build_loadgen(folder, "mixload") if args.mix else None
        forkload = build_loadgen(folder, "forkload") if args.fork else None
        prefix = str(folder / "probe-")
        rules = folder / "probe.yaml"
        rules.write_text(PROBE_RULE.format(prefix=prefix))
        port = free_port()
        sensor = subprocess.Popen(
            [sys.executable, str(ROOT / "run.py"), "-r", str(args.rules), "-r", str(rules), "-o", "json_output=true",
             "-o", "file_output.enabled=false", "-o", f"webserver.listen_port={port}", "-o", "log_level=info",
             "-o", f"pipeline.workers={args.workers}"] + [arg for option in args.option for arg in ("-o", option)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        stderr_lines: list[str] = []
        threading.Thread(target=lambda: stderr_lines.extend(sensor.stderr), daemon=True).start()
        try:
            deadline = time.monotonic() + 60
            while not healthy(port):
                if time.monotonic() > deadline or sensor.poll() is not None:
                    sys.exit("sensor did not start:\n" + "".join(stderr_lines[-20:]))
                time.sleep(0.1)
            load_seconds = str(args.seconds + args.memory_seconds + 2)
            load = subprocess.Popen([str(loadgen), load_seconds, str(args.rate)], stdout=subprocess.PIPE, text=True)
            mix = None if mixload is None else subprocess.Popen(
                [str(mixload), load_seconds, str(args.mix), str(folder)], stdout=subprocess.PIPE, text=True)
            forks = None if forkload is None else subprocess.Popen(
                [str(forkload), load_seconds, str(args.fork)], stdout=subprocess.PIPE, text=True)
            time.sleep(1)  # let the load reach its rate
            # Alert lines are stamped on arrival by a reader thread, so the probe loop's pacing adds nothing to a
            # measured latency.
            arrivals: queue.Queue = queue.Queue()
            threading.Thread(target=_stamp_lines, args=(sensor.stdout, arrivals), daemon=True).start()
            latencies: list[float] = []
            sent: dict[str, float] = {}
            cpu_before, started = tree_cpu(sensor.pid), time.monotonic()
            end = started + args.seconds
            n = 0
            while time.monotonic() < end:
                path = f"{prefix}{n}"
                sent[path] = time.monotonic()
                with open(path, "w"):
                    pass
                n += 1
                _collect(arrivals, sent, latencies, until=time.monotonic() + 0.05)
            cpu = cores_used(cpu_before, tree_cpu(sensor.pid), time.monotonic() - started)
            deadline = time.monotonic() + 5  # the stragglers
            while sent and time.monotonic() < deadline:
                _collect(arrivals, sent, latencies, until=min(deadline, time.monotonic() + 0.2))
            memory = _MemorySampler(sensor.pid)  # the same load goes on until the generator ends
            memory.start()
            calls, seconds = load.communicate()[0].split()
            rounds = mix.communicate()[0].split()[0] if mix is not None else "0"
            forked = forks.communicate()[0].split()[0] if forks is not None else "0"
            memory.stop()
            peak_rss, peak_pss = memory.peak_rss, memory.peak_pss
        finally:
            sensor.terminate()
            sensor.wait(timeout=60)
        final = [json.loads(line) for line in stderr_lines if '"sensor stopped"' in line]
        counters = final[-1] if final else {}
        lat = np.array(latencies) * 1000
        print(f"background load: {int(calls) / float(seconds):,.0f} syscalls/s (openat+close) for "
              f"{float(seconds):.1f} s; workers: {args.workers}; rules: {args.rules.name} + 1 probe")
        if args.mix:
            print(f"mixed load: {int(rounds) / float(seconds):,.0f} rounds/s (an exec, a new file, a loopback "
                  f"connection each)")
        if args.fork:
            print(f"fork load: {int(forked) / float(seconds):,.0f} forks/s of a process holding 16 fds (each child "
                  f"exits at once)")
        print(f"probes: {n} sent, {len(lat)} alerted, {len(sent)} missing")
        if len(lat):
            print(f"event -> alert latency ms: p50 {np.percentile(lat, 50):.1f}  p90 {np.percentile(lat, 90):.1f}  "
                  f"p99 {np.percentile(lat, 99):.1f}  max {lat.max():.1f}")
        print(f"sensor: events in {counters.get('events_in', 0):,}, kernel drops "
              f"{counters.get('events_dropped_kernel', 0):,}, ring drops {counters.get('events_dropped_ring', 0):,}; "
              f"peak memory of the process tree: RSS {peak_rss / 2**20:.0f} MB summed over processes, "
              f"PSS {peak_pss / 2**20:.0f} MB (shared pages counted once)")
        print(f"sensor CPU while probing: {cpu}")


if __name__ == "__main__":
    main()
