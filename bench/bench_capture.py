"""Benchmark of live capture: how many syscall events one loaded core produces, how many reach Arrow, drops.

    sudo .venv/bin/python bench/bench_capture.py [--seconds 3] [--rates 50000,200000,0] [--load connect|io]

Compiles bench/loadgen.c (openat+close pairs at a target rate, 0 = as fast as it can) with gcc into a temp
dir, pins it to the last CPU and the reader (this process) to CPU 0, and prints in one run:

* the raw syscall rate of the generator with no tracing;
* per offered rate, with the probes attached (rules asking for openat, plus the state engine's base set):
  the kernel's event rate (records written by the probes), events/s reaching Arrow (rows of raw batches
  from `LiveCapture.batches`), drop % (ring full, counted per CPU in the kernel) and the reader's CPU per
  event (getrusage of this process over the run / events read). Enrichment is not included: it is the
  state engine's cost, measured by bench/bench_state.py;
* a baseline for the batch builder: drains recorded in a further flat-out run (records copied out of the
  rings; not timed), then built again from memory, back to back and one per flush interval (thread CPU
  per event). Their difference is what a pause between batches costs the same work on this machine.

With `--load connect`, bench/connload.c is the load instead: a server's accept loop (socket, connect, accept
and two closes a round, on loopback), whose events carry socket tuples and addresses. With `--load io`,
bench/ioload.c reads 64 bytes from /dev/zero and writes them to /dev/null, with rules asking for read and
write: events that carry the data they moved.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kernel.drops import read_counters  # noqa: E402
from kernel.events import BatchBuilder  # noqa: E402
from kernel.live import LiveCapture  # noqa: E402

CPUS = sorted(os.sched_getaffinity(0))
# --load: (program, the syscalls it makes, the event types the capture's rules ask for)
LOADS = {"open": ("loadgen", "openat+close", {"openat"}),
         "connect": ("connload", "socket+connect+accept+close", {"openat"}),
         "io": ("ioload", "read+write of 64 bytes", {"read", "write"})}
LOAD_CPU, READER_CPU = CPUS[-1], CPUS[0]


def build_loadgen(folder: Path, name: str = "loadgen") -> Path:
    """bench/NAME.c compiled into `folder`."""
    gcc = shutil.which("gcc")
    if gcc is None:
        sys.exit(f"gcc is needed to build bench/{name}.c: apt-get install -y gcc")
    exe = folder / name
    subprocess.run([gcc, "-O2", "-o", str(exe), str(ROOT / "bench" / f"{name}.c")], check=True)
    return exe


def run_load(exe: Path, seconds: float, rate: int) -> tuple[int, float]:
    out = subprocess.run([str(exe), str(seconds), str(rate)], capture_output=True, text=True, check=True,
                         preexec_fn=lambda: os.sched_setaffinity(0, {LOAD_CPU}))
    calls, elapsed = out.stdout.split()
    return int(calls), float(elapsed)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class RecordingCapture(LiveCapture):
    """Live capture that also keeps a copy of the records of its first `keep` drains (for the baseline)."""

    def __init__(self, config: object, keep: int, **kwargs) -> None:
        super().__init__(config, **kwargs)
        self.keep = keep
        self.drains: list[list[tuple]] = []

    def _spans(self, readers, until_ns):
        spans = super()._spans(readers, until_ns)
        if len(self.drains) < self.keep:
            self.drains.append([(reader.layout, reader.data[offset: offset + count * reader.layout.slot].copy(), 0,
                                 count) for reader, (offset, count) in zip(readers, spans)])
        return spans


def traced_run(exe: Path, seconds: float, rate: int, batch_size: int, flush_ms: int, keep: int = 0,
               rule_types: frozenset[str] = frozenset({"openat"})) -> dict:
    config = SimpleNamespace(pipeline=SimpleNamespace(batch_size=batch_size, flush_ms=flush_ms),
                             engine=SimpleNamespace(ring_bytes=16 << 20), base_syscalls=None)
    capture = RecordingCapture(config, keep, rule_event_types=rule_types)
    capture.started = threading.Event()
    control = SimpleNamespace(stop=threading.Event())
    result: dict = {}

    def load() -> None:
        capture.started.wait(60)
        time.sleep(0.2)  # let the reader settle into its loop
        before = read_counters(capture.probes)
        cpu0, t0 = cpu_seconds(), time.monotonic()
        rows0 = capture.events_read
        result["calls"], result["elapsed"] = run_load(exe, seconds, rate)
        time.sleep(3 * flush_ms / 1000 + 0.05)  # the last records reach the reader
        after = read_counters(capture.probes)
        result["cpu"] = cpu_seconds() - cpu0
        result["wall"] = time.monotonic() - t0
        result["rows"] = capture.events_read - rows0
        result["kernel"] = after.since(before)
        result["drains"] = capture.drains
        control.stop.set()

    thread = threading.Thread(target=load)
    thread.start()
    os.sched_setaffinity(0, {READER_CPU})
    try:
        for _ in capture.batches(control):
            pass
    finally:
        os.sched_setaffinity(0, set(CPUS))
        control.stop.set()
        thread.join()
    return result


def build_cpu(drains: list[list[tuple]], pause_s: float, passes: int = 3) -> float:
    """Thread CPU per event of building `drains` again (best of `passes`), pausing `pause_s` before each."""
    rows = sum(count for drain in drains for *_, count in drain)
    best = float("inf")
    for _ in range(passes):
        builder, spent = BatchBuilder(0), 0.0
        for drain in drains:
            if pause_s:
                time.sleep(pause_s)
            started = time.thread_time()
            builder.build(drain)
            spent += time.thread_time() - started
        best = min(best, spent)
    return best / max(rows, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rates", default="50000,200000,0", help="offered syscalls/s, 0 = one core flat out")
    parser.add_argument("--batch-size", type=int, default=8192)
    parser.add_argument("--flush-ms", type=int, default=20)
    parser.add_argument("--load", choices=sorted(LOADS), default="open", help="the load generator (see above)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: live capture loads eBPF programs")
    if len(CPUS) < 2:
        print("note: one CPU only; generator and reader share it")
    with tempfile.TemporaryDirectory() as folder:
        program, calls_made, rule_types = LOADS[args.load]
        exe = build_loadgen(Path(folder), program)
        calls, elapsed = run_load(exe, args.seconds, 0)
        print(f"no tracing: {calls / elapsed / 1e3:.0f} k syscalls/s ({calls_made}, one core, CPU {LOAD_CPU})")
        print(f"{'offered':>10} {'generated':>10} {'kernel ev/s':>12} {'to Arrow':>10} {'Arrow/kern':>10} "
              f"{'drops':>7} {'CPU/event':>10}")
        for rate in [int(r) for r in args.rates.split(",")]:
            r = traced_run(exe, args.seconds, rate, args.batch_size, args.flush_ms, rule_types=frozenset(rule_types))
            kernel = r["kernel"]
            offered = kernel.events + kernel.drops
            drop_pct = 100 * kernel.drops / offered if offered else 0.0
            window = r["elapsed"]
            print(f"{'max' if rate == 0 else f'{rate / 1e3:.0f}k':>10} {r['calls'] / window / 1e3:>9.0f}k "
                  f"{kernel.events / window / 1e3:>11.0f}k {r['rows'] / window / 1e3:>9.0f}k "
                  f"{100 * r['rows'] / max(kernel.events, 1):>9.1f}% {drop_pct:>6.2f}% "
                  f"{1e6 * r['cpu'] / max(r['rows'], 1):>8.3f}µs")
        # Drains are recorded in a run of their own: copying them out costs the reader CPU.
        drains = traced_run(exe, 1.0, 0, args.batch_size, args.flush_ms, keep=40,
                            rule_types=frozenset(rule_types))["drains"][5:]
        if not drains:
            sys.exit("baseline: no drains recorded")
        os.sched_setaffinity(0, {READER_CPU})
        tight, paced = build_cpu(drains, 0.0), build_cpu(drains, args.flush_ms / 1000)
        os.sched_setaffinity(0, set(CPUS))
        rows = sum(count for drain in drains for *_, count in drain)
        print(f"baseline: the same builder on {len(drains)} recorded flat-out drains ({rows // len(drains):,} rows "
              f"each) from memory: {1e6 * tight:.3f}µs/event back to back, {1e6 * paced:.3f}µs/event one per "
              f"{args.flush_ms} ms")


if __name__ == "__main__":
    main()
