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
from pipeline.ringbuf import Ring, RingClosed
from pipeline.supervisor import Control
from stages.worker import decode_alerts


class AlertSink(Protocol):
    def deliver(self, alerts: list[dict]) -> None: ...

    def close(self) -> None: ...


def output_stage(rings: list[Ring], control: Control, *, make_sink: Callable[[], AlertSink],
                 measure_latency: bool = True) -> None:
    """Deliver alerts in event order until every worker has closed its ring.

    `measure_latency` counts event -> alert latency (live sources; a replay's events are as old as the capture).
    """
    log = get_logger("output")
    sink = make_sink()
    counters = control.counters
    workers = len(rings)
    pending: list[tuple[int, list[dict]] | None] = [None] * workers
    closed = [False] * workers
    expected = 0
    try:
        while not all(closed) or any(p is not None for p in pending):
            _deliver_internal(control, sink)
            w = worker_for(expected, workers)
            if pending[w] is None and not closed[w]:
                try:
                    message = rings[w].read(timeout=0.2)
                except RingClosed:
                    closed[w] = True
                    continue
                if message is None:
                    continue
                pending[w] = (message.seq, decode_alerts(message.payload))
                rings[w].release()
            if pending[w] is None:  # closed and empty: this batch never came
                expected += 1
                continue
            seq, alerts = pending[w]
            if seq < expected:
                counters.add("alerts_duplicate", len(alerts))
                pending[w] = None
            elif seq > expected:
                expected += 1
            else:
                if alerts:
                    sink.deliver(alerts)
                    counters.add("alerts_out", len(alerts))
                    _observe(counters, sink, alerts if measure_latency else [])
                pending[w] = None
                expected += 1
        _deliver_internal(control, sink)
    finally:
        sink.close()
        if hasattr(sink, "stats"):
            counters.set_outputs(sink.stats())
        log.debug("output drained", alerts=counters.get("alerts_out"))


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
