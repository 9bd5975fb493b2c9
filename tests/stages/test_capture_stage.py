"""The capture stage's loop (stages.capture.capture_stage) with an in-process source and rings."""

from __future__ import annotations

import gc

import pyarrow as pa

from pipeline.counters import Counters
from pipeline.ringbuf import Ring
from pipeline.supervisor import Control
from stages.capture import capture_stage


def test_the_startup_state_is_frozen_once_even_when_no_batch_is_sent(monkeypatch) -> None:
    """Batches no rule can match are not sent; the collector freeze after the source's start still happens
    once, not at every such batch (each freeze would make all garbage since then uncollectable)."""
    freezes = []
    monkeypatch.setattr(gc, "freeze", lambda: freezes.append(1))
    batch = pa.RecordBatch.from_pydict({"evt.num": [1, 2]})
    ring = Ring(1 << 20, full="block")
    control = Control(workers=1, counters=Counters(1))
    try:
        capture_stage([ring], control, source=lambda _control: [batch] * 5, prepare=lambda _batch: None)
        assert control.counters.get("events_in") == 10
        assert control.counters.get("batches") == 0
    finally:
        ring.close()
    assert freezes == [1]
