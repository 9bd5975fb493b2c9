"""Benchmark of the whole sensor on recorded events: run.py --replay through capture -> workers -> output.

Builds a ~1.1 M event .scap by repeating the event blocks of 502Error.scap 50 times, then, with the 25 stable
Falco rules, measures in one run:
  - the .scap replay with 1 and 2 rule workers (events/s, wall time, peak RSS of the whole process tree);
  - the same events from Saker's own Arrow capture of them (written with --capture), with 1 and 2 workers.
Each configuration runs `run.py` for real, as a user would, twice: once timed, once with its memory sampled
(sampling stalls the processes it reads, more of them with more workers, so it would skew the ratio).

    .venv/bin/python bench/bench_pipeline.py [--repeats 50]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_scap import SOURCE, build_repeated_capture  # noqa: E402

STABLE_RULES = ROOT.parent / "shared" / "peer" / "falco-rules" / "falco_rules.yaml"


def tree_memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in bytes of a process and all its descendants. The RSS sum counts a page shared by forked
    processes once per process (pyarrow's ~100 MB in each); PSS splits each shared page among its sharers, so
    the PSS sum is the memory the sensor really holds."""
    rss = pss = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            with open(f"/proc/{current}/smaps_rollup") as rollup:
                for line in rollup:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1]) * 1024
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1]) * 1024
            with open(f"/proc/{current}/task/{current}/children") as children:
                pending += [int(c) for c in children.read().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return rss, pss


def run_sensor(replay: Path, workers: int, extra: list[str], *, sample_memory: bool = True) -> dict:
    """Run the sensor once; returns events, seconds, peak RSS and alerts from its final log line. Sampling the
    memory reads every process's smaps_rollup every 50 ms, which stalls it (its page tables are walked under
    its mmap lock): ~0.2-0.3 s more on a 1.8 s replay. Without it RSS and PSS are 0."""
    command = [sys.executable, str(ROOT / "run.py"), "-c", str(ROOT / "config" / "replay.yaml"), "--replay",
               str(replay), "-r", str(STABLE_RULES), "-o", f"pipeline.workers={workers}", "-o", "log_level=info",
               "-o", "webserver.enabled=false", "-o", "stdout_output.enabled=false", *extra]
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = [0, 0]

    def sample() -> None:
        while sample_memory and proc.poll() is None:
            rss, pss = tree_memory(proc.pid)
            peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = proc.communicate()
    seconds = time.perf_counter() - started
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"sensor failed ({proc.returncode}):\n{stderr[-3000:]}")
    final = [json.loads(line) for line in stderr.splitlines() if '"sensor stopped"' in line][-1]
    return {"events": final["events_in"], "seconds": seconds, "rss": peak[0], "pss": peak[1], "alerts": final["alerts_out"],
            "evaluated": final["events_evaluated"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}; rules: {STABLE_RULES.name} (25 stable rules); source: {SOURCE.name} x{args.repeats}")
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "repeated.scap"
        build_repeated_capture(SOURCE, args.repeats, big)
        arrow = Path(tmp) / "arrow"
        results = {}
        for label, replay, extra in (
            (".scap", big, []),
            ("arrow", arrow, []),
        ):
            if label == "arrow":
                run_sensor(big, 1, ["--capture", str(arrow)])  # write Saker's own capture of the same events
            for workers in (1, 2):
                timed = run_sensor(replay, workers, extra, sample_memory=False)
                sampled = run_sensor(replay, workers, extra)
                results[(label, workers)] = {**timed, "rss": sampled["rss"], "pss": sampled["pss"]}
        print(f"{'input':<7}{'workers':>8}{'events':>11}{'seconds':>9}{'events/s':>12}{'evaluated':>11}"
              f"{'alerts':>8}{'peak RSS MB':>13}{'peak PSS MB':>13}")
        for (label, workers), r in results.items():
            print(f"{label:<7}{workers:>8}{r['events']:>11,}{r['seconds']:>9.2f}{r['events'] / r['seconds']:>12,.0f}"
                  f"{r['evaluated']:>11,}{r['alerts']:>8}{r['rss'] / 2**20:>13.0f}{r['pss'] / 2**20:>13.0f}")
        for label in (".scap", "arrow"):
            one, two = results[(label, 1)], results[(label, 2)]
            print(f"{label}: 2 workers / 1 worker throughput = {one['seconds'] / two['seconds']:.2f}x")


if __name__ == "__main__":
    main()
