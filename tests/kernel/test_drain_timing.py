"""When the live drain loop cuts a batch (kernel.live.LiveCapture._drain_loop), on a simulated clock.

The rings, the clock, epoll and the batch builder are stand-ins: records "arrive" at given times, and the
consumer of the batches spends a given time on each (the capture stage's processing). What is checked is the
flush rule: no record waits in the rings longer than `flush_ms` (plus the loop's shortest nap), also the ones
that came in while the previous batch was being processed.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from kernel import live
from kernel.live import MIN_NAP_S, LiveCapture


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def monotonic_ns(self) -> int:
        return round(self.now * 1e9)

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class Ring:
    """A ring whose records arrive at the given times (seconds, ascending)."""

    layout = None
    slot = 1
    size = 1 << 20
    fd = -1

    def __init__(self, clock: Clock, arrivals: np.ndarray) -> None:
        self.clock, self.arrivals, self.taken = clock, arrivals, 0

    def waiting(self) -> int:
        return int(np.searchsorted(self.arrivals, self.clock.now, side="right")) - self.taken

    data = None
    held_back_after = None

    def span(self, limit: int, until_ns: int | None = None) -> tuple[int, int]:
        count = min(self.waiting(), limit)
        if until_ns is not None:
            stamped = np.round(self.arrivals[self.taken:self.taken + count] * 1e9)
            count = int(np.searchsorted(stamped, until_ns, side="right"))
        self.drained = self.arrivals[self.taken:self.taken + count]
        return 0, count

    def release(self, count: int) -> None:
        self.taken += count


class Epoll:
    """Waits until the next record arrives or the timeout passes."""

    def __init__(self, clock: Clock, ring: Ring) -> None:
        self.clock, self.ring = clock, ring

    def poll(self, timeout: float) -> None:
        pending = self.ring.arrivals[self.ring.taken:]
        following = pending[pending > self.clock.now]
        self.clock.now = min(self.clock.now + timeout, following[0]) if len(following) else self.clock.now + timeout


def waits_in_ring(arrivals: np.ndarray, processing_s: float, monkeypatch, *, flush_ms: int = 20,
                  batch_size: int = 8192) -> np.ndarray:
    """How long each record waited in the ring before its batch was cut."""
    clock = Clock()
    monkeypatch.setattr(live, "time", clock)
    ring = Ring(clock, arrivals)
    capture = object.__new__(LiveCapture)
    capture.batch_size, capture.flush_s, capture.events_read = batch_size, flush_ms / 1000, 0
    builder = SimpleNamespace(build=lambda spans: SimpleNamespace(num_rows=spans[0][3], cut=clock.now,
                                                                  arrivals=ring.drained))
    control = SimpleNamespace(stop=SimpleNamespace(is_set=lambda: ring.taken == len(arrivals)))
    waits = []
    for batch in capture._drain_loop(control, [ring], builder, Epoll(clock, ring)):
        waits.append(batch.cut - batch.arrivals)
        clock.now += processing_s  # the capture stage works on the batch meanwhile
    assert sum(len(w) for w in waits) == len(arrivals)
    return np.concatenate(waits)


@pytest.mark.parametrize("processing_ms", [2, 15, 19])
def test_records_that_arrive_during_processing_wait_no_longer_than_flush_ms(processing_ms, monkeypatch):
    arrivals = np.arange(100_000) / 100_000  # 100 k events/s for a second
    waits = waits_in_ring(arrivals, processing_ms / 1000, monkeypatch)
    assert waits.max() <= 0.020 + MIN_NAP_S


def test_processing_longer_than_flush_ms_cuts_a_batch_as_soon_as_it_is_done(monkeypatch):
    arrivals = np.arange(100_000) / 100_000
    waits = waits_in_ring(arrivals, 0.030, monkeypatch)
    assert waits.max() <= 0.030 + MIN_NAP_S


def test_a_lone_event_is_flushed_within_flush_ms(monkeypatch):
    waits = waits_in_ring(np.array([0.5, 3.0]), 0.005, monkeypatch)
    assert waits.max() <= 0.020 + MIN_NAP_S


def test_a_full_batch_is_cut_before_the_deadline(monkeypatch):
    arrivals = np.arange(20_000) / 1_000_000  # 1 M events/s: batch_size records in 4 ms
    waits = waits_in_ring(arrivals, 0.001, monkeypatch, batch_size=4096)
    full = 3 * 4096  # the last, partial batch rightly waits for the deadline
    assert waits[:full].max() < 0.010


def test_a_burst_after_a_quiet_spell_is_cut_at_the_batch_size_not_at_the_deadline(monkeypatch):
    """The loop waits in epoll for 10 ms, then 2 M events/s begin: the rate is told from the burst alone, so its
    first batch is cut once it is full (~2 ms), not after the longest nap (5 ms) or at the deadline counted from
    the quiet time."""
    burst = 0.090 + np.arange(40_000) / 2_000_000
    waits = waits_in_ring(np.concatenate([[0.0], burst]), 0.001, monkeypatch, batch_size=4096)
    first_full = waits[1:1 + 4096]
    assert first_full.max() < 0.004


def test_a_burst_that_starts_during_a_nap_waits_at_most_a_quarter_of_flush_ms_more(monkeypatch):
    """A lone event, then 1 M events/s from 1.5 ms later: the nap the lone event's rate called for is cut to a
    quarter of flush_ms, so the burst is seen and its first batch cut within ~5 ms, not after ~15."""
    burst = 0.0915 + np.arange(20_000) / 1_000_000
    waits = waits_in_ring(np.concatenate([[0.090], burst]), 0.001, monkeypatch, batch_size=4096)
    first_full = waits[1:1 + 4096]
    assert first_full.max() < 0.008
