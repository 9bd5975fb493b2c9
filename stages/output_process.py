"""The output stage: gather the workers' alerts back into event order and hand them to the outputs.

Batch `seq` was evaluated by worker `seq % workers`, so the next alerts are always looked for in one known
ring. A message with a later seq than expected means the expected batch never reached a worker (dropped when
its ring was full): it is skipped. An earlier seq is a batch already delivered, re-evaluated by a restarted
worker: dropped and counted.
"""

from __future__ import annotations

import time
from typing import Callable, Protocol

import numpy as np

from config.logs import get_logger
from pipeline.messages import worker_for
from pipeline.ringbuf import Ring, RingClosed, wait_any
from pipeline.supervisor import Control
from stages.worker import decode_alerts


class AlertSink(Protocol):
    def deliver(self, alerts: list[dict]) -> None: ...

    def close(self) -> None: ...


def output_stage(rings: list[list[Ring]], control: Control, *, make_sink: Callable[[], AlertSink],
                 measure_latency: bool | list[bool] = True) -> None:
    """Deliver alerts in event order, per stream, until every worker has closed every ring.

    `rings[s][w]` is worker w's alert ring of stream s. `measure_latency` (one flag, or one per stream) counts
    event -> alert latency: live sources yes, a replay's events are as old as the capture.
    """
    log = get_logger("output")
    sink = make_sink()
    measure = measure_latency if isinstance(measure_latency, list) else [measure_latency] * len(rings)
    streams = [_StreamOrder(stream_rings) for stream_rings in rings]
    try:
        while not all(stream.done for stream in streams):
            _deliver_internal(control, sink)
            progressed = False
            for stream, flag in zip(streams, measure):
                for alerts in stream.ready(timeout=0 if len(streams) > 1 else 0.2):
                    progressed = True
                    if alerts:
                        sink.deliver(alerts)
                        control.counters.add("alerts_out", len(alerts))
                        _observe(control.counters, sink, alerts if flag else [])
                if stream.duplicates:
                    control.counters.add("alerts_duplicate", stream.duplicates)
                    stream.duplicates = 0
            if not progressed and len(streams) > 1:
                wait_any([ring for stream in streams for ring in stream.waiting_on()], 0.2)
        _deliver_internal(control, sink)
    finally:
        sink.close()
        if hasattr(sink, "stats"):
            control.counters.set_outputs(sink.stats())
        log.debug("output drained", alerts=control.counters.get("alerts_out"))


class _StreamOrder:
    """One stream's alerts put back in batch order: batch `seq` comes from worker `seq % workers`."""

    def __init__(self, rings: list[Ring]) -> None:
        self.rings = rings
        self.pending: list[tuple[int, list[dict]] | None] = [None] * len(rings)
        self.closed = [False] * len(rings)
        self.expected = 0
        self.duplicates = 0

    @property
    def done(self) -> bool:
        return all(self.closed) and all(p is None for p in self.pending)

    def waiting_on(self) -> list[Ring]:
        w = worker_for(self.expected, len(self.rings))
        return [] if self.closed[w] else [self.rings[w]]

    def ready(self, timeout: float) -> list[list[dict]]:
        """The alert lists of the batches now deliverable in order (possibly empty lists), without waiting
        longer than `timeout` for the next one."""
        out: list[list[dict]] = []
        while not self.done:
            w = worker_for(self.expected, len(self.rings))
            if self.pending[w] is None and not self.closed[w]:
                try:
                    message = self.rings[w].read(timeout=timeout)
                except RingClosed:
                    self.closed[w] = True
                    continue
                if message is None:
                    return out
                self.pending[w] = (message.seq, decode_alerts(message.payload))
                self.rings[w].release()
            if self.pending[w] is None:  # closed and empty: this batch never came
                self.expected += 1
                continue
            seq, alerts = self.pending[w]
            if seq < self.expected:  # a batch re-evaluated by a restarted worker
                self.duplicates += len(alerts)
                self.pending[w] = None
            elif seq > self.expected:  # the expected batch was dropped at a full ring
                self.expected += 1
            else:
                out.append(alerts)
                self.pending[w] = None
                self.expected += 1
            timeout = 0
        return out


def _deliver_internal(control: Control, sink: AlertSink) -> None:
    """The sensor's own alerts (drops...): delivered as they come, outside event order."""
    ring = control.internal
    while ring is not None and (message := ring.read(timeout=0)) is not None:
        alerts = decode_alerts(message.payload)
        ring.release()
        sink.deliver(alerts)
        control.counters.add("alerts_out", len(alerts))


def _observe(counters, sink: AlertSink, alerts: list[dict]) -> None:
    """Event -> alert latency of a delivered batch, and the outputs' own counters."""
    now = time.time_ns()
    if alerts:
        counters.observe_latencies(np.array([(now - a["time_ns"]) / 1e9 for a in alerts if a.get("time_ns")]))
    if hasattr(sink, "stats"):
        counters.set_outputs(sink.stats())
