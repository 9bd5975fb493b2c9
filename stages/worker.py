"""A rule worker: evaluate the batches given to it and send their alerts on.

The work itself is a `Processor` built inside the worker process (so a restarted worker builds a fresh one):
one per stream, `process(batch) -> list[dict]` for EVENTS (the alerts, as JSON-ready dicts; the batch carries the state its
events refer to) and `reload()` for RELOAD. Alerts of each EVENTS batch go out as one ALERTS message, even
when there are none, so the output stage can keep event order across workers.

Order of work per message: evaluate, send the alerts, then release the input. A crash in between makes the
restarted worker evaluate the batch again; the output stage drops the second copy of its alerts.
"""

from __future__ import annotations

import json
import time
from typing import Callable, Protocol

import pyarrow as pa

from config.logs import get_logger
from pipeline.messages import ALERTS, EVENTS, RELOAD
from pipeline.ringbuf import Ring, RingClosed, wait_any
from pipeline.supervisor import Control


class Processor(Protocol):
    def process(self, batch: pa.RecordBatch) -> list[dict]: ...

    def reload(self) -> None: ...


ProcessorFactory = Callable[[int, int], Processor]  # (worker index, stream) -> the stream's processor


def worker_stage(index: int, events: list[Ring], alerts: list[Ring], control: Control, *,
                 make_processor: ProcessorFactory) -> None:
    """Serve every stream's ring (one per stream) until all are closed; each stream has its own processor."""
    log = get_logger("worker").bind(worker=index)
    processors = [make_processor(index, stream) for stream in range(len(events))]
    open_streams = list(range(len(events)))
    log.debug("worker ready", streams=len(events))
    while open_streams:
        busy = False
        for stream in list(open_streams):
            try:
                message = events[stream].read(timeout=0 if len(open_streams) > 1 else 0.5)
            except RingClosed:
                alerts[stream].close_writer()
                open_streams.remove(stream)
                continue
            if message is not None:
                _handle(message, events[stream], alerts[stream], processors[stream], index, control, log)
                busy = True
        if not busy and len(open_streams) > 1:
            wait_any([events[stream] for stream in open_streams], 0.5)
    log.debug("worker drained")


def _handle(message, events: Ring, alerts: Ring, processor: Processor, index: int, control: Control, log) -> None:
    counters = control.counters
    if message.kind == EVENTS:
        batch = events.read_batch(message)
        started = time.perf_counter_ns()
        produced = processor.process(batch)
        counters.add_worker(index, "eval_ns", time.perf_counter_ns() - started)
        counters.add_worker(index, "events_evaluated", batch.num_rows)
        counters.add_worker(index, "batches_evaluated")
        counters.add_worker(index, "alerts", len(produced))
        rule_counts = getattr(processor, "last_rule_counts", None)
        if rule_counts is not None:
            counters.add_rules(index, *rule_counts)
        del batch
        alerts.write(ALERTS, encode_alerts(produced), seq=message.seq, timeout=None)
    elif message.kind == RELOAD:
        processor.reload()
        log.info("rules reloaded", batch=message.seq)
    events.release()


def encode_alerts(alerts: list[dict]) -> bytes:
    return "\n".join(json.dumps(a, separators=(",", ":")) for a in alerts).encode()


def decode_alerts(payload: memoryview) -> list[dict]:
    text = bytes(payload).decode()
    return [json.loads(line) for line in text.split("\n") if line]
