"""Benchmark of the state engine (`stages.state.Enricher`) alone, on events decoded beforehand.

Builds the ~1.1 M event capture of ``bench_scap`` (502Error.scap's event blocks repeated 50 times), decodes
every batch once (not timed), then measures on one core:

  (a) state advance only: ``enrich(raw, set(), rows=[])`` over every batch (versions, as-of joins, commit);
  (b) advance plus the fields of the 25 stable rules for the candidate rows only (exit events of the rules'
      event types, as ``stages.sources.SyscallReplay`` computes them), candidate selection included;
  (c) memory of the state tables seeded with a synthetic host of 100,000 processes and 300,000 fds
      (Arrow buffer bytes + numpy bytes of the snapshots, and the RSS delta of building the Enricher),
      and the advance rate of (a) with that state loaded.

    .venv/bin/python bench/bench_state.py [--repeats 50] [--batch-size 65536] [--processes 100000]

Measured on the 2-core dev machine, 2026-11-27, `taskset -c 1 .venv/bin/python bench/bench_state.py` (another
process was using the machine: figures vary by +-20 % between runs):

| measure (M events/s unless noted)        | before (stages/state at 674c311 + lead's rows=) | after |
|------------------------------------------|-------------------------------------------------|-------|
| (a) state advance only                   | 0.534                                           | 1.015 |
| (b) advance + rule fields (40,750 rows)  | 0.491                                           | 0.708 |
| (c) tables for 100 k processes / 300 k fds | 326.8 MB (RSS delta 391 MB)                   | 326.8 MB (RSS delta 354 MB) |
| (c) advance with that state loaded       | 0.041                                           | 0.133 |
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_scap import SOURCE, build_repeated_capture  # noqa: E402
from kernel.scap import open_capture  # noqa: E402
from kernel.scap.blocks import FdInfo  # noqa: E402
from rules.loader import load_rules  # noqa: E402
from rules.ruleset import Ruleset  # noqa: E402
from stages.state import Enricher  # noqa: E402
from stages.state.versions import VersionTable  # noqa: E402

STABLE_RULES = ROOT.parent / "shared" / "peer" / "falco-rules" / "falco_rules.yaml"
EXIT = "<"


def rule_plan() -> tuple[set[str], pa.Array | None]:
    """Fields and event types of the stable rules, as the sensor derives them (stages.sensor.rule_plan)."""
    result = load_rules([str(STABLE_RULES)])
    rules = [r for r in result.rules if r.source == "syscall" and r.enabled]
    types: set[str] | None = set()
    for rule in rules:
        types = None if types is None or rule.event_types is None else types | rule.event_types
    fields = set(Ruleset(result.rules).required_fields) | {"evt.rawtime", "evt.num", "evt.type"}
    return fields, None if types is None else pa.array(sorted(types), type=pa.string())


def candidates(raw: pa.RecordBatch, event_types: pa.Array | None) -> np.ndarray:
    """Exit events of the rules' event types (same computation as SyscallReplay._candidates)."""
    wanted = pc.equal(raw.column("evt.dir"), EXIT)
    if event_types is not None:
        wanted = pc.and_(wanted, pc.is_in(raw.column("evt.type"), value_set=event_types))
    return np.flatnonzero(wanted.to_numpy(zero_copy_only=False))


def time_advance(capture, batches: list[pa.RecordBatch]) -> float:
    enricher = Enricher(capture)
    none = np.empty(0, dtype=np.int64)
    start = time.perf_counter()
    for raw in batches:
        enricher.enrich(raw, set(), rows=none)
    return time.perf_counter() - start


def time_fields(capture, batches: list[pa.RecordBatch], fields: set[str], types: pa.Array | None) -> tuple[float, int]:
    enricher = Enricher(capture)
    start = time.perf_counter()
    rows = 0
    for raw in batches:
        rows += enricher.enrich(raw, fields, rows=candidates(raw, types)).num_rows
    return time.perf_counter() - start, rows


# --- synthetic host state ---------------------------------------------------------------------------------

@dataclass
class FakeThread:
    """A process-list entry with the attributes `initial_snapshot` reads."""

    tid: int
    pid: int
    ptid: int
    sid: int
    vpgid: int
    comm: str
    exe: str
    exepath: str
    args: list[str]
    cwd: str
    uid: int
    gid: int
    env: list[str]
    vtid: int
    vpid: int
    cgroups: list[str]
    root: str = "/"
    tty: int = 0
    loginuid: int = 1000
    start_ts: int = 0
    exe_writable: bool = False
    exe_upper_layer: bool = False
    exe_from_memfd: bool = False
    cap_effective: int = 0
    cap_permitted: int = 0
    cap_inheritable: int = 0


@dataclass
class FakeCapture:
    threads: dict[int, FakeThread]
    fds: list[FdInfo]
    users: list = field(default_factory=list)
    groups: list = field(default_factory=list)


def synthetic_host(processes: int, fds_per_process: int = 3) -> FakeCapture:
    """`processes` processes with typical comm/exe/args/cwd/env/cgroups sizes, 3 fds each (file, socket, pipe).

    Sizes: comm ~10 B, exe ~25 B, 6 args ~12 B, cwd ~20 B, 25 env vars ~40 B (1 KB), 13 cgroups ~70 B."""
    rng = np.random.default_rng(7)
    names = ["nginx", "python3", "postgres", "java", "node", "bash", "sshd", "containerd-shim", "kworker", "redis"]
    env_base = [f"VARIABLE_{i:02d}=/usr/local/share/value/{i:04d}/abcdefgh" for i in range(25)]
    cgroup_base = [f"{i}:subsys{i}=/kubepods/burstable/pod1234abcd/" + "f" * 24 for i in range(13)]
    threads: dict[int, FakeThread] = {}
    fds: list[FdInfo] = []
    for index in range(processes):
        tid = 1000 + index
        name = names[index % len(names)]
        exe = f"/usr/bin/{name}-{index % 97}"
        threads[tid] = FakeThread(
            tid=tid, pid=tid, ptid=1000 + int(rng.integers(0, max(index, 1))), sid=tid, vpgid=tid,
            comm=name, exe=exe, exepath=exe, args=[f"--option{j}={index % 1000:04d}" for j in range(6)],
            cwd=f"/srv/app/worker-{index % 500}", uid=1000 + index % 50, gid=1000, env=list(env_base), vtid=tid,
            vpid=tid, cgroups=list(cgroup_base), start_ts=1_600_000_000_000_000_000 + index)
        fds.append(FdInfo(tid=tid, fd=3, ino=100 + index, type=1, name=f"/var/log/{name}/{index}.log", open_flags=1))
        fds.append(FdInfo(tid=tid, fd=4, ino=0, type=3, sip="10.0.0.1", dip="10.0.2.3", sport=40000 + index % 20000,
                          dport=443, l4proto=2))
        fds.append(FdInfo(tid=tid, fd=5, ino=0, type=7, name="pipe:[12345]"))
    return FakeCapture(threads, fds[: processes * fds_per_process])


def table_bytes(table: VersionTable) -> int:
    """Arrow buffer bytes of the columns plus numpy bytes of the keys and positions."""
    return (sum(column.nbytes for column in table.columns.values()) + sum(key.nbytes for key in table.keys)
            + table.pos.nbytes)


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def memory_of_state(processes: int) -> tuple[Enricher, dict[str, float]]:
    host = synthetic_host(processes)
    gc.collect()
    before = rss_bytes()
    enricher = Enricher(host)
    gc.collect()
    after = rss_bytes()
    threads = table_bytes(enricher.threads.snapshot)
    fds = table_bytes(enricher.fds.snapshot)
    return enricher, {"thread table MB": threads / 1e6, "fd table MB": fds / 1e6,
                      "tables MB": (threads + fds) / 1e6, "RSS delta MB": (after - before) / 1e6,
                      "threads": len(enricher.threads.snapshot), "fds": len(enricher.fds.snapshot)}


def time_advance_loaded(enricher: Enricher, batches: list[pa.RecordBatch], limit: int) -> tuple[float, int]:
    """Advance over the first `limit` events with a big state loaded (tids of the capture do not collide)."""
    none = np.empty(0, dtype=np.int64)
    start = time.perf_counter()
    events = 0
    for raw in batches:
        enricher.enrich(raw, set(), rows=none)
        events += raw.num_rows
        if events >= limit:
            break
    return time.perf_counter() - start, events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=65536)
    parser.add_argument("--processes", type=int, default=100_000)
    parser.add_argument("--loaded-events", type=int, default=300_000, help="events advanced with the big state")
    args = parser.parse_args()
    fields, types = rule_plan()
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "repeated.scap"
        build_repeated_capture(SOURCE, args.repeats, big)
        capture = open_capture(big)
        batches = list(capture.batches(args.batch_size))
    events = sum(b.num_rows for b in batches)
    print(f"{SOURCE.name} x{args.repeats}: {events:,} events in {len(batches)} batches of {args.batch_size}; "
          f"{len(fields)} fields, {0 if types is None else len(types)} event types")
    advance = time_advance(capture, batches)
    with_fields, rows = time_fields(capture, batches, fields, types)
    print(f"{'measure':<44}{'seconds':>9}{'M events/s':>12}")
    print(f"{'(a) state advance only':<44}{advance:>9.2f}{events / advance / 1e6:>12.3f}")
    print(f"{'(b) advance + rule fields (' + format(rows, ',') + ' rows)':<44}{with_fields:>9.2f}"
          f"{events / with_fields / 1e6:>12.3f}")
    enricher, memory = memory_of_state(args.processes)
    for name, value in memory.items():
        print(f"(c) {name:<40}{value:>21,.1f}" if isinstance(value, float) else f"(c) {name:<40}{value:>21,}")
    seconds, loaded = time_advance_loaded(enricher, batches, args.loaded_events)
    print(f"{'(c) advance with that state':<44}{seconds:>9.2f}{loaded / seconds / 1e6:>12.3f}")


if __name__ == "__main__":
    main()
