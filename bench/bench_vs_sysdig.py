"""Saker and Debian's sysdig on the same large capture, one machine, the 25 stable Falco rules.

Builds a ~1.1 M event .scap from 502Error.scap (its event blocks 50 times, timestamps shifted forward), then:
  sysdig   `sysdig -r BIG -p '%evt.num' FILTER` where FILTER is every stable rule's macro-expanded condition
           behind its evt.type prefilter (as Falco's index does), joined with `or`; rules using fields or
           operators sysdig 0.29.3 lacks are left out (listed);
  saker    `run.py --replay BIG` with the same rules file (and from Saker's own Arrow capture of the events).
Prints wall time and events/s for each and the ratios.

    .venv/bin/python bench/bench_vs_sysdig.py [--repeats 50]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_pipeline import run_sensor  # noqa: E402
from bench_scap import SOURCE, build_repeated_capture  # noqa: E402
from rules.loader import load_rules  # noqa: E402

STABLE_RULES = ROOT.parent / "shared" / "peer" / "falco-rules" / "falco_rules.yaml"


def sysdig_accepts(condition: str) -> bool:
    """sysdig compiles a filter before opening the capture: "can't open file" means the filter was accepted."""
    proc = subprocess.run(["sysdig", "-r", "/nonexistent.scap", condition], capture_output=True, text=True)
    return "can't open file" in proc.stdout + proc.stderr


def rule_filters() -> tuple[list[str], list[str]]:
    """The stable rules as sysdig filters (prefilter + condition), and the names of those sysdig rejects."""
    result = load_rules([str(STABLE_RULES)])
    accepted, rejected = [], []
    for rule in result.rules:
        types = ", ".join(sorted(rule.event_types or ()))
        text = f"(evt.type in ({types}) and {rule.condition.text})" if rule.event_types else rule.condition.text
        if sysdig_accepts(text):
            accepted.append(text)
        else:
            rejected.append(rule.name)
    return accepted, rejected


def time_sysdig(capture: Path, filters: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    proc = subprocess.run(["sysdig", "-r", str(capture), "-p", "%evt.num", " or ".join(filters)],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"sysdig failed: {proc.stderr[-2000:]}")
    return seconds, len([line for line in proc.stdout.splitlines() if line.strip().isdigit()])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    filters, rejected = rule_filters()
    print(f"stable rules sysdig 0.29.3 can evaluate: {len(filters)} of {len(filters) + len(rejected)}; "
          f"left out: {', '.join(rejected) or 'none'}")
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "repeated.scap"
        build_repeated_capture(SOURCE, args.repeats, big)
        sysdig_seconds, sysdig_matches = time_sysdig(big, filters)
        saker = run_sensor(big, 2, [], sample_memory=False)  # sysdig is not sampled either
        events = saker["events"]
        arrow = Path(tmp) / "arrow"
        run_sensor(big, 1, ["--capture", str(arrow)])
        saker_arrow = run_sensor(arrow, 2, [], sample_memory=False)
    print(f"{'':<28}{'seconds':>9}{'events/s':>12}")
    print(f"{'sysdig (filter, no output)':<28}{sysdig_seconds:>9.2f}{events / sysdig_seconds:>12,.0f}"
          f"   {sysdig_matches} matching events")
    print(f"{'saker --replay .scap':<28}{saker['seconds']:>9.2f}{events / saker['seconds']:>12,.0f}"
          f"   {saker['alerts']} alerts")
    print(f"{'saker --replay Arrow':<28}{saker_arrow['seconds']:>9.2f}{events / saker_arrow['seconds']:>12,.0f}"
          f"   {saker_arrow['alerts']} alerts")
    print(f"saker .scap / sysdig rate: {sysdig_seconds / saker['seconds']:.2f}x; "
          f"saker Arrow / sysdig rate: {sysdig_seconds / saker_arrow['seconds']:.2f}x (targets > 1x and >= 5x)")


if __name__ == "__main__":
    main()
