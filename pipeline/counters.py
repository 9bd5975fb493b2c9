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
# The state engine's table sizes (gauges) and what it pruned (counters), written by each capture process after
# every batch: bounded state is only bounded if its caps and prunes can be watched.
STATE_STATS = (
    ("threads", "gauge", "threads in the state: running, and exited within the grace period"),
    ("fds", "gauge", "open fds in the state"),
    ("threads_pruned_exited", "counter", "exited threads dropped after the grace period"),
    ("threads_pruned_cap", "counter", "threads dropped because the thread table was full"),
    ("fds_pruned_closed", "counter", "closed fds dropped"),
    ("fds_pruned_cap", "counter", "fds dropped because the fd table was full"),
    ("processes_ended", "counter", "processes whose fds were dropped at their exit"),
    ("containers", "gauge", "containers whose metadata the state holds"),
    ("containers_dropped", "counter", "containers' metadata dropped past the bound (the least recently learned)"),
    ("container_lookups_found", "counter", "new containers a runtime socket gave metadata of"),
    ("container_lookups_not_found", "counter", "new containers no configured runtime socket knew"),
    ("container_lookups_failed", "counter", "runtime lookups that failed (socket refused, timed out, bad answer)"),
    ("container_lookups_dropped", "counter", "new containers not looked up: the lookup queue was full"),
)
MAX_WORKERS = 256
MAX_RULES = 4096  # per-rule counters beyond this many rules are not kept (the totals still are)
OUTPUT_STATS = ("alerts_in", "delivered", "failed_attempts", "retried", "dropped_rate_limit", "spooled",
                "spool_overflow", "queued", "spool_pending")
# Event -> alert latency histogram bucket bounds, seconds (Prometheus convention: cumulative, plus +Inf).
LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Counters:
    """Named uint64 slots for the sensor and for each worker."""

    def __init__(self, workers: int, outputs: tuple[str, ...] = (), streams: int = 1) -> None:
        if not 1 <= workers <= MAX_WORKERS:
            raise ValueError(f"workers must be 1..{MAX_WORKERS}")
        self.workers = workers
        self.outputs = outputs
        # Sensor counters have a slot per stream: each capture process adds to its own, so two processes never
        # update one word at once; reads sum the streams.
        self.streams = streams
        size = streams * len(SENSOR_COUNTERS) + workers * len(WORKER_COUNTERS)
        self._raw = mp.RawArray("Q", size)
        self._values = np.frombuffer(self._raw, dtype=np.uint64)
        # per worker and rule: evaluated, matched
        self._rules = np.frombuffer(mp.RawArray("Q", workers * MAX_RULES * 2), dtype=np.uint64).reshape(
            workers, MAX_RULES, 2)
        # per output: OUTPUT_STATS, written by the output stage
        self._outputs = np.frombuffer(mp.RawArray("Q", max(1, len(outputs)) * len(OUTPUT_STATS)),
                                      dtype=np.uint64).reshape(max(1, len(outputs)), len(OUTPUT_STATS))
        # latency: one count per bucket plus +Inf; the sum in seconds apart (a float: it can be large)
        self._latency = np.frombuffer(mp.RawArray("Q", len(LATENCY_BUCKETS) + 1), dtype=np.uint64)
        self._latency_sum = np.frombuffer(mp.RawArray("d", 1), dtype=np.float64)
        self._state = np.frombuffer(mp.RawArray("Q", streams * len(STATE_STATS)), dtype=np.uint64).reshape(
            streams, len(STATE_STATS))
        self._sensor = {name: i for i, (name, _) in enumerate(SENSOR_COUNTERS)}
        self._worker = {name: i for i, (name, _) in enumerate(WORKER_COUNTERS)}

    def add(self, name: str, amount: int = 1, *, stream: int = 0) -> None:
        self._values[stream * len(SENSOR_COUNTERS) + self._sensor[name]] += np.uint64(amount)

    def set(self, name: str, value: int) -> None:
        """For totals read from elsewhere (the kernel's drop counters)."""
        self._values[self._sensor[name]] = np.uint64(value)

    def get(self, name: str) -> int:
        slot = self._sensor[name]
        return int(sum(self._values[s * len(SENSOR_COUNTERS) + slot] for s in range(self.streams)))

    def add_worker(self, worker: int, name: str, amount: int = 1) -> None:
        self._values[self._slot(worker, name)] += np.uint64(amount)

    def get_worker(self, worker: int, name: str) -> int:
        return int(self._values[self._slot(worker, name)])

    def total_worker(self, name: str) -> int:
        return sum(self.get_worker(w, name) for w in range(self.workers))

    def add_rules(self, worker: int, evaluated: np.ndarray, matched: np.ndarray,
                  positions: np.ndarray | None = None) -> None:
        """Add one batch's per-rule counts; `positions[i]` is rule i's position in the loaded rules (all
        sources), by default i itself."""
        if positions is None:
            positions = np.arange(len(evaluated))
        keep = positions < MAX_RULES
        self._rules[worker, positions[keep], 0] += evaluated[keep].astype(np.uint64)
        self._rules[worker, positions[keep], 1] += matched[keep].astype(np.uint64)

    def rule_totals(self) -> np.ndarray:
        """(rules, 2) array: evaluated and matched per rule, summed over workers."""
        return self._rules.sum(axis=0)

    def set_outputs(self, stats: dict[str, dict[str, int]]) -> None:
        """Store the output router's counters (output name -> OUTPUT_STATS values)."""
        for row, name in enumerate(self.outputs):
            values = stats.get(name)
            if values is not None:
                self._outputs[row] = [values.get(stat, 0) for stat in OUTPUT_STATS]

    def output_stats(self) -> dict[str, dict[str, int]]:
        return {name: dict(zip(OUTPUT_STATS, map(int, self._outputs[row]))) for row, name in enumerate(self.outputs)}

    def observe_latencies(self, seconds: np.ndarray) -> None:
        """Count event -> alert latencies into the histogram."""
        if len(seconds) == 0:
            return
        slots = np.searchsorted(np.asarray(LATENCY_BUCKETS), seconds, side="left")
        self._latency += np.bincount(slots, minlength=len(LATENCY_BUCKETS) + 1).astype(np.uint64)
        self._latency_sum[0] += float(np.sum(seconds))

    def latency(self) -> tuple[list[int], float]:
        """Per-bucket (non-cumulative) counts including +Inf, and the sum in seconds."""
        return [int(v) for v in self._latency], float(self._latency_sum[0])

    def set_state(self, stats: dict[str, int], *, stream: int = 0) -> None:
        """A capture process's state engine figures (STATE_STATS names), as they are after its last batch."""
        self._state[stream] = [stats.get(name, 0) for name, _, _ in STATE_STATS]

    def state(self) -> dict[str, int]:
        """STATE_STATS summed over the streams."""
        return dict(zip((name for name, _, _ in STATE_STATS), map(int, self._state.sum(axis=0))))

    def snapshot(self) -> dict[str, int]:
        """Every sensor counter plus the workers' totals."""
        out = {name: self.get(name) for name, _ in SENSOR_COUNTERS}
        out.update({name: self.total_worker(name) for name, _ in WORKER_COUNTERS})
        return out

    def _slot(self, worker: int, name: str) -> int:
        return self.streams * len(SENSOR_COUNTERS) + worker * len(WORKER_COUNTERS) + self._worker[name]
