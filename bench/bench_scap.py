"""Benchmark of the .scap reader: decode a ~1.1 M event capture built from 502Error.scap.

Builds a valid plain capture by repeating the event blocks of ``502Error.scap`` 50 times (timestamps
shifted forward so time keeps increasing), writes it to a temporary directory, then times
``open_capture`` plus decoding every batch. Also times the original file. Run:
``.venv/bin/python bench/bench_scap.py``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kernel.scap import open_capture  # noqa: E402
from kernel.scap.blocks import read_layout  # noqa: E402

SOURCE = ROOT.parent / "shared" / "peer" / "scap" / "captures" / "sysdig-inspect__capture-samples_502Error__947a737f.scap"
REPEATS = 50


def build_repeated_capture(source: Path, repeats: int, out: Path) -> None:
    """Metadata of ``source`` followed by its event blocks ``repeats`` times, each copy later in time."""
    layout = read_layout(source)
    data = np.frombuffer(layout.data, dtype=np.uint8)
    first = int(layout.event_offsets[0])
    events = data[first:]
    ts_at = (layout.event_offsets - first + 10)[:, None] + np.arange(8)  # v1/v2 EV blocks: ts after u16 cpu
    ts = events[ts_at].copy().view("<u8").ravel()
    real = ts[ts > 0]  # the leading container events carry ts 0
    span = int(real.max() - real.min()) + 1
    with out.open("wb") as handle:
        handle.write(data[:first].tobytes())
        for copy in range(repeats):
            chunk = events.copy()
            chunk[ts_at] = (ts + np.uint64(copy * span)).view(np.uint8).reshape(-1, 8)
            handle.write(chunk.tobytes())


def time_decode(path: Path) -> tuple[int, float]:
    start = time.perf_counter()
    capture = open_capture(path)
    rows = sum(batch.num_rows for batch in capture.batches())
    return rows, time.perf_counter() - start


def main() -> None:
    rows, seconds = time_decode(SOURCE)
    print(f"{SOURCE.name}: {rows} events in {seconds:.3f} s ({rows / seconds:,.0f} events/s)")
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "repeated.scap"
        build_repeated_capture(SOURCE, REPEATS, big)
        size_mb = big.stat().st_size / 1e6
        rows, seconds = time_decode(big)
        print(f"{REPEATS}x event blocks ({size_mb:.0f} MB): {rows} events in {seconds:.3f} s "
              f"({rows / seconds:,.0f} events/s)")


if __name__ == "__main__":
    main()
