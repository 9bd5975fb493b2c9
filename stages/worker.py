"""A rule worker: evaluate the batches given to it and send their alerts on.

The work itself is a `Processor` built inside the worker process (so a restarted worker builds a fresh one):
`process(batch) -> list[dict]` for EVENTS (the alerts, as JSON-ready dicts; the batch carries the state its
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
from pipeline.ringbuf import Ring, RingClosed
from pipeline.supervisor import Control


class Processor(Protocol):
    def process(self, batch: pa.RecordBatch) -> list[dict]: ...

    def reload(self) -> None: ...


ProcessorFactory = Callable[[int], Processor]


def worker_stage(index: int, events: Ring, alerts: Ring, control: Control, *, make_processor: ProcessorFactory) -> None:
    log = get_logger("worker").bind(worker=index)
    processor = make_processor(index)
    counters = control.counters
    log.debug("worker ready")
    try:
        while True:
            message = events.read(timeout=0.5)
            if message is None:
                continue
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
    except RingClosed:
        alerts.close_writer()
        log.debug("worker drained")


def encode_alerts(alerts: list[dict]) -> bytes:
    return "\n".join(json.dumps(a, separators=(",", ":")) for a in alerts).encode()


def decode_alerts(payload: memoryview) -> list[dict]:
    text = bytes(payload).decode()
    return [json.loads(line) for line in text.split("\n") if line]
