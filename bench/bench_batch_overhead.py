"""Fixed per-batch cost of the state engine: small live-sized batches, beside large-batch throughput.

Live capture cuts a batch every 20 ms (~2,000 events at 100 k events/s) of which only ~75 are candidate
rows, yet the stable rules still need their 72 field columns: what such a batch costs in
`Enricher.enrich(raw, fields, rows=candidates)` is mostly per-field Python/Arrow call overhead, not per-row
work, and it bounds event -> alert latency (the capture stage must finish a batch within the 20 ms cadence).

Measured here, on 502Error.scap (decoded beforehand, not timed):

  (s) 2,000-event batches with the stable rules' fields for the candidate rows: median / p90 ms per batch
      over every batch, of the pass (each a fresh Enricher) with the lowest median among `--rounds`; wall
      time and the thread's CPU time (they differ when another process shares the core);
  (h) the same with the state of a live host loaded beside the capture's (`--host-processes` synthetic
      processes with 3 fds each, as bench_state.py builds them): the capture's own state is tiny, a live
      sensor's is not, so work that grows with the state tables shows here;
  (a), (b) the large-batch throughput of bench_state.py on the ~1.1 M event capture (65,536-event batches):
      state advance only, and advance plus the rule fields, so a gain on small batches is not bought with
      large-batch throughput.

    taskset -c 1 .venv/bin/python bench/bench_batch_overhead.py [--rounds 5] [--repeats 50] [--profile]

Measured on the 2-core dev machine, 2026-11-27, `taskset -c 1 .venv/bin/python bench/bench_batch_overhead.py
--rounds 8`, three runs of each tree interleaved, best run shown (the machine was shared: a single run could
read up to 50 % higher). "before" is stages/state at d1f3883; "before + evt.args" is the same with the
`evt.args`/`evt.info` extraction another change added meanwhile (the stable rules read `evt.args`: ~2.3 ms
of every batch), which "after" includes:

| measure                                       | before | before + evt.args | after |
|-----------------------------------------------|--------|-------------------|-------|
| (s) 2,000-event batch, median ms              | 28.8   | 31.6              | 18.1  |
| (s) 2,000-event batch, p90 ms                 | 30.5   | 32.4              | 19.1  |
| (h) + 1,000 host processes, median ms         | 32.0   | 33.4              | 20.3  |
| (a) state advance only, M events/s            | 1.03   | 1.03              | 1.48  |
| (b) advance + rule fields, M events/s         | 0.63   | 0.52              | 0.80  |

Where an "after" batch goes (thread CPU time, 2,000 events, 67 candidate rows, ~18-20 ms): fields ~10 ms
(evt.args 2.3, container.id with the thread table's derived columns 1.1, fd.directory 0.9, the other 69
fields 0.05-0.4 each), building the batch's versions ~6.5 ms (fd versions 2.3, thread versions 1.7, enter
matching 0.8, the rest joins and flags), committing the snapshot ~2 ms (one take and one concatenation per
column of the thread and fd tables), restricting the batch to the candidate rows ~0.5 ms (a take of the 56
raw columns). An Arrow compute call costs 5-10 µs whatever the row count: a batch now makes ~340 of them
(690 before) and ~11,000 Python calls (16,000).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_scap import SOURCE, build_repeated_capture  # noqa: E402
from bench_state import FakeCapture, candidates, rule_plan, synthetic_host, time_advance, time_fields  # noqa: E402

from kernel.scap import open_capture  # noqa: E402
from stages.state import Enricher  # noqa: E402

LIVE_BATCH = 2000


def with_host(capture, processes: int):
    """The capture's threads, fds and users plus `processes` synthetic host processes (tids do not collide)."""
    host = synthetic_host(processes)
    return FakeCapture({**host.threads, **capture.threads}, host.fds + list(capture.fds), list(capture.users),
                       list(capture.groups))


def batch_times(batches, fields: set[str], types, state) -> tuple[np.ndarray, np.ndarray]:
    """(wall, CPU) seconds per batch of one pass over `batches` with a fresh Enricher seeded from `state`
    (candidate selection not timed)."""
    enricher = Enricher(state)
    wall, cpu = [], []
    for raw in batches:
        rows = candidates(raw, types)
        start, start_cpu = time.perf_counter(), time.thread_time()
        enricher.enrich(raw, fields, rows=rows)
        wall.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
    return np.asarray(wall), np.asarray(cpu)


def report(label: str, passes: list[tuple[np.ndarray, np.ndarray]]) -> None:
    """Median and p90 of the pass with the lowest median, wall and CPU."""
    wall = min((p[0] for p in passes), key=np.median)
    cpu = min((p[1] for p in passes), key=np.median)
    print(f"{label:<44}{np.median(wall) * 1e3:>9.1f}{np.percentile(wall, 90) * 1e3:>9.1f}"
          f"{np.median(cpu) * 1e3:>9.1f}{np.percentile(cpu, 90) * 1e3:>9.1f}")


def profile_pass(batches, fields: set[str], types, state, top: int = 30) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    batch_times(batches, fields, types, state)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="passes over the small batches (best median kept)")
    parser.add_argument("--repeats", type=int, default=50, help="copies of the capture for (a) and (b)")
    parser.add_argument("--host-processes", type=int, default=1000, help="synthetic host processes for (h)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one small-batch pass and stop")
    args = parser.parse_args()
    fields, types = rule_plan()
    capture = open_capture(SOURCE)
    small = list(capture.batches(LIVE_BATCH))
    host = with_host(capture, args.host_processes)
    if args.profile:
        profile_pass(small, fields, types, capture)
        return
    rows = int(np.mean([len(candidates(raw, types)) for raw in small]))
    print(f"{SOURCE.name}: {len(small)} batches of {LIVE_BATCH} events, ~{rows} candidate rows each, "
          f"{len(fields)} fields")
    print(f"{'ms per 2,000-event batch':<44}{'median':>9}{'p90':>9}{'CPU med':>9}{'CPU p90':>9}")
    report("(s) capture state", [batch_times(small, fields, types, capture) for _ in range(args.rounds)])
    report(f"(h) + {args.host_processes:,} host processes",
           [batch_times(small, fields, types, host) for _ in range(args.rounds)])
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "repeated.scap"
        build_repeated_capture(SOURCE, args.repeats, big)
        capture = open_capture(big)
        batches = list(capture.batches(65536))
    events = sum(b.num_rows for b in batches)
    advance = time_advance(capture, batches)
    with_fields, rows = time_fields(capture, batches, fields, types)
    print(f"{format(events, ',') + ' events in 65,536-event batches':<44}{'seconds':>9}{'M ev/s':>9}")
    print(f"{'(a) state advance only':<44}{advance:>9.2f}{events / advance / 1e6:>9.3f}")
    print(f"{'(b) advance + rule fields':<44}{with_fields:>9.2f}{events / with_fields / 1e6:>9.3f}")


if __name__ == "__main__":
    main()
