"""The capture stage's work per live batch, on batches recorded from the live sensor (run as root).

Records a few seconds of the live sensor under bench/loadgen.c (openat+close at `--rate` syscalls/s; with
`--mix`, bench/mixload.c's execs, new files and connections too; with `--load connect`, bench/connload.c's
accept loop instead of loadgen; with `--load fork`, bench/forkload.c's fork storm, `--rate` forks/s of a
process holding 16 fds, each child exiting at once; the 25 stable Falco rules or `--rules`;
`run.py --capture`), then replays the recorded raw events, cut into `--size`-event
batches, through the capture stage's `prepare` (state advance and the fields of the rules' candidate rows,
`stages.sources.EnrichingSource`) in this process, with a fresh state engine seeded from the recording:

  - milliseconds of CPU per batch (median and p90 over the batches; the fastest of `--rounds` passes, since
    this machine's timings drift by ±15 % from run to run); with `--pause-ms P`, also with a pause of P ms
    before each batch, as batches come at low rates (caches go cold in a pause);
  - with `--instructions`, the instructions `prepare` executes for 10 batches, counted by valgrind's
    callgrind: the same on every run, so two trees can be compared where timings cannot tell them apart.
    Compare a tree against another (`--against DIR`, a checkout of another commit) on the same recording.

    .venv/bin/python bench/bench_live_batches.py [--rate 100000] [--size 2500] [--rules PATH] [--mix ROUNDS]
                                                 [--load connect|io|fork]
                                                 [--pause-ms P] [--instructions [--against DIR]]
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_capture import LOADS, build_loadgen  # noqa: E402
from bench_latency import free_port, healthy  # noqa: E402

STABLE_RULES = ROOT.parent / "shared" / "peer" / "falco-rules" / "falco_rules.yaml"
COUNTED_BATCHES = 10
PROGRAMS = {name: program for name, (program, *_) in LOADS.items()} | {"fork": "forkload"}


def record(folder: Path, rate: int, seconds: float, rules: Path = STABLE_RULES, mix: int = 0,
           load: str = "open") -> Path:
    """A live capture of the sensor under the load generator (PROGRAMS[load]; and bench/mixload.c at `mix`
    rounds/s)."""
    loadgen = build_loadgen(folder, PROGRAMS[load])
    mixload = build_loadgen(folder, "mixload") if mix else None
    capture = folder / "live"
    port = free_port()
    sensor = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "-r", str(rules), "-o", "file_output.enabled=false",
         "-o", f"webserver.listen_port={port}", "--capture", str(capture)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not healthy(port):
            if time.monotonic() > deadline or sensor.poll() is not None:
                sys.exit("the sensor did not start")
            time.sleep(0.1)
        mixing = None if mixload is None else subprocess.Popen(
            [str(mixload), str(seconds), str(mix), str(folder)], stdout=subprocess.DEVNULL)
        subprocess.run([str(loadgen), str(seconds), str(rate)], check=True, stdout=subprocess.DEVNULL)
        if mixing is not None:
            mixing.wait()
    finally:
        sensor.terminate()
        sensor.wait(timeout=60)
    return capture


def slices(capture: Path, size: int) -> list:
    """The recorded raw events as one batch cut into `size`-event slices."""
    import pyarrow as pa

    from stages.arrow_capture import replay

    tables = [pa.Table.from_batches([batch]) for batch in replay(str(capture))]
    whole = pa.concat_tables(tables, promote_options="default").combine_chunks().to_batches(max_chunksize=1 << 40)[0]
    return [whole.slice(start, size) for start in range(0, whole.num_rows - size + 1, size)]


def fresh_source(capture: Path, rules: Path = STABLE_RULES):
    """The capture stage's source logic with `rules`, its state seeded from the recording."""
    from config.logs import get_logger
    from rules.loader import load_rules
    from stages.arrow_capture import capture_files, read_state
    from stages.sensor import rule_plan
    from stages.sources import EnrichingSource
    from stages.state.enrich import Enricher
    from stages.state.snapshot import restore

    load = functools.partial(load_rules, [str(rules)])
    source = EnrichingSource(plan=functools.partial(rule_plan, load, get_logger("bench")))
    state = read_state(capture_files(str(capture))[0])
    source._start(restore(state) if state else Enricher())
    return source


def time_batches(capture: Path, size: int, rounds: int, rules: Path = STABLE_RULES, pause_s: float = 0.0) -> None:
    import numpy as np

    batches = slices(capture, size)
    passes = []
    for _ in range(rounds):
        source = fresh_source(capture, rules)
        times = []
        for batch in batches:
            if pause_s:
                time.sleep(pause_s)
            started = time.thread_time()
            source.prepare(batch)
            times.append(time.thread_time() - started)
        passes.append(np.asarray(times[3:]) * 1e3)  # the first batches warm the caches
    best = min(passes, key=np.median)
    paced = f", one per {pause_s * 1e3:.0f} ms" if pause_s else ", back to back"
    print(f"{len(batches)} batches of {size:,} events{paced}: prepare median {np.median(best):.2f} ms, "
          f"p90 {np.percentile(best, 90):.2f} ms of CPU (fastest of {rounds} passes)")


def counted_run(capture: Path, size: int, rules: Path = STABLE_RULES) -> None:
    """Under callgrind: `prepare` on COUNTED_BATCHES batches between two getppid() calls, at which callgrind
    dumps its counters (--dump-before=getppid), so the second dump holds exactly those batches."""
    batches = slices(capture, size)[:COUNTED_BATCHES + 2]
    source = fresh_source(capture, rules)
    for batch in batches[:2]:
        source.prepare(batch)
    os.getppid()
    for batch in batches[2:]:
        source.prepare(batch)
    os.getppid()


def count_instructions(tree: Path, capture: Path, size: int, folder: Path, rules: Path = STABLE_RULES) -> int:
    out = folder / f"callgrind.{tree.name}.out"
    subprocess.run(["valgrind", "--tool=callgrind", "--dump-before=getppid", f"--callgrind-out-file={out}",
                    sys.executable, str(Path(__file__).resolve()), "--counted-run", str(capture), "--tree", str(tree),
                    "--size", str(size), "--rules", str(rules)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tree,
                   env={**os.environ, "PYTHONHASHSEED": "0"})
    dumps = sorted(folder.glob(f"{out.name}.*"), key=lambda p: int(p.suffix[1:]))
    for line in dumps[1].read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError(f"no instruction total in {dumps[1]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=100_000, help="syscalls/s of the load while recording")
    parser.add_argument("--load", choices=sorted(PROGRAMS), default="open",
                        help="openat+close (bench/loadgen.c), a server's accept loop (bench/connload.c) or a fork "
                             "storm (bench/forkload.c; --rate is then forks/s)")
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds of load recorded")
    parser.add_argument("--size", type=int, default=2500, help="events per batch")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--instructions", action="store_true", help="also count instructions with callgrind")
    parser.add_argument("--against", type=Path, help="another tree to count instructions of, on the same recording")
    parser.add_argument("--rules", type=Path, default=STABLE_RULES,
                        help="rules file the sensor records with and the batches are prepared for (default: the 25 "
                             "stable Falco rules; rules/default/saker_rules.yaml for Saker's own)")
    parser.add_argument("--mix", type=int, default=0, metavar="ROUNDS",
                        help="also run bench/mixload.c while recording: ROUNDS rounds/s of an exec, a new file and "
                             "a loopback connection (batches holding execs and forks cost the state engine most)")
    parser.add_argument("--pause-ms", type=float, default=0, help="also time the batches with this pause before each "
                        "(as they come at low rates: one per flush_ms)")
    parser.add_argument("--counted-run", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--tree", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(args.tree))
    if args.counted_run:
        counted_run(args.counted_run, args.size, args.rules.resolve())
        return
    if os.geteuid() != 0:
        sys.exit("run as root: recording needs the live sensor")
    if args.instructions and shutil.which("valgrind") is None:
        sys.exit("--instructions needs valgrind: apt-get install -y valgrind")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rules = args.rules.resolve()
        capture = record(folder, args.rate, args.seconds, rules, args.mix, args.load)
        time_batches(capture, args.size, args.rounds, rules)
        if args.pause_ms:
            time_batches(capture, args.size, args.rounds, rules, args.pause_ms / 1000)
        if args.instructions:
            for tree in [ROOT] + ([args.against.resolve()] if args.against else []):
                total = count_instructions(tree, capture, args.size, folder, rules)
                print(f"{tree}: {total:,} instructions for {COUNTED_BATCHES} batches "
                      f"({total / COUNTED_BATCHES / 1e6:.1f} M per batch)")


if __name__ == "__main__":
    main()
