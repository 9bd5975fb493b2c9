"""Counters shared by every process of the sensor: plain integers in one shared-memory array.

Each slot has exactly one writing process (the capture, one worker, the output), so increments need no lock;
any process may read them (the metrics endpoint, the periodic log line, tests). The array is created before
the stages fork and is inherited by them.
"""

from __future__ import annotations

import multiprocess as mp
import numpy as np

# Per-sensor counters: (name, help) in slot order.
SENSOR_COUNTERS = (
    ("events_in", "events read from the source"),
    ("events_dropped_kernel", "events the kernel could not deliver"),
    ("batches_dropped_ring", "batches dropped because a worker ring was full"),
    ("events_dropped_ring", "events in batches dropped because a worker ring was full"),
    ("batches", "batches handed to workers"),
    ("worker_restarts", "rule workers restarted after a crash"),
    ("reloads", "rule and config reloads"),
    ("alerts_out", "alerts handed to the outputs"),
    ("alerts_dropped_queue", "alerts dropped because the output queue was full"),
    ("alerts_duplicate", "alerts of a batch already delivered (a worker crashed after emitting them)"),
)
# Per-worker counters.
WORKER_COUNTERS = (
    ("events_evaluated", "events evaluated against the rules"),
    ("batches_evaluated", "batches evaluated"),
    ("alerts", "alerts produced"),
    ("eval_ns", "time spent evaluating, nanoseconds"),
)
MAX_WORKERS = 256


class Counters:
    """Named uint64 slots for the sensor and for each worker."""

    def __init__(self, workers: int) -> None:
        if not 1 <= workers <= MAX_WORKERS:
            raise ValueError(f"workers must be 1..{MAX_WORKERS}")
        self.workers = workers
        size = len(SENSOR_COUNTERS) + workers * len(WORKER_COUNTERS)
        self._raw = mp.RawArray("Q", size)
        self._values = np.frombuffer(self._raw, dtype=np.uint64)
        self._sensor = {name: i for i, (name, _) in enumerate(SENSOR_COUNTERS)}
        self._worker = {name: i for i, (name, _) in enumerate(WORKER_COUNTERS)}

    def add(self, name: str, amount: int = 1) -> None:
        self._values[self._sensor[name]] += np.uint64(amount)

    def get(self, name: str) -> int:
        return int(self._values[self._sensor[name]])

    def add_worker(self, worker: int, name: str, amount: int = 1) -> None:
        self._values[self._slot(worker, name)] += np.uint64(amount)

    def get_worker(self, worker: int, name: str) -> int:
        return int(self._values[self._slot(worker, name)])

    def total_worker(self, name: str) -> int:
        return sum(self.get_worker(w, name) for w in range(self.workers))

    def snapshot(self) -> dict[str, int]:
        """Every sensor counter plus the workers' totals."""
        out = {name: self.get(name) for name, _ in SENSOR_COUNTERS}
        out.update({name: self.total_worker(name) for name, _ in WORKER_COUNTERS})
        return out

    def _slot(self, worker: int, name: str) -> int:
        return len(SENSOR_COUNTERS) + worker * len(WORKER_COUNTERS) + self._worker[name]
