"""The capture stage: read batches from a source, attach the state they need, hand them to the workers.

The capture stage owns the process/fd/container state: `prepare(batch)` advances it over the batch and returns
the batch with the snapshot of state its events refer to (the rows of the state tables they point at, as of
each event). A worker therefore needs no state of its own: every worker evaluates a batch against exactly the
state the capture saw, a restarted worker loses nothing, and no state has to be broadcast.

Batch `seq` goes to worker `seq % workers`. When that worker's ring is full the batch is dropped if the config
says `ring_full: drop` (live: never stall the kernel) — counted, never silent — or waited for (`block`).
"""

from __future__ import annotations

import gc
from typing import Callable, Iterable

import pyarrow as pa

from config.logs import get_logger
from pipeline.messages import EVENTS, RELOAD, worker_for
from pipeline.ringbuf import Ring
from pipeline.supervisor import Control

SourceFactory = Callable[[Control], Iterable[pa.RecordBatch]]
Prepare = Callable[[pa.RecordBatch], pa.RecordBatch | None]  # None: no event of the batch can match a rule


def capture_stage(rings: list[Ring], control: Control, *, source: SourceFactory, prepare: Prepare,
                  on_reload: Callable[[], None] = lambda: None,
                  make_poll: Callable[[Control], Callable[[], None]] | None = None,
                  state: Callable[[], dict[str, int]] | None = None) -> None:
    """Drain `source` into the worker rings until it ends or `stop` is set, then close the rings.

    The source ends its batches when `control.stop` is set, after handing over what it has already read (a
    live source drains the kernel's rings one last time), so nothing captured is lost on SIGTERM. It sets
    `control.capture_running` once it really captures (live: probes attached), which is what
    /healthz reports. On a reload request, `on_reload` runs first (the source takes the new rules' fields and event types),
    then every worker is told to reload before the next batch. `state` gives the state engine's table sizes
    and prunes (`pipeline.counters.STATE_STATS`), published after every batch.
    """
    log = get_logger("capture")
    counters = control.counters
    reloads_seen = control.reload_requests.value
    seq = 0
    frozen = False
    poll = make_poll(control) if make_poll is not None else None
    try:
        for batch in source(control):
            if batch.num_rows == 0:
                continue
            if not frozen:
                # What the source built to start (probes, the host's state, a capture's index) lives as long as
                # the stage: kept out of the collector's full passes, which would walk it again and again.
                # Once only: a freeze at every batch would keep all later garbage cycles from being collected.
                gc.freeze()
                frozen = True
            if poll is not None:
                poll()
            if control.reload_requests.value != reloads_seen:
                reloads_seen = control.reload_requests.value
                on_reload()
                for ring in rings:
                    ring.write(RELOAD, b"", seq=seq, timeout=None)
                counters.add("reloads", stream=control.stream)
            counters.add("events_in", batch.num_rows, stream=control.stream)
            prepared = prepare(batch)
            if state is not None:
                counters.set_state(state(), stream=control.stream)
            if prepared is None:  # nothing in it a rule can match
                continue
            ring = rings[worker_for(seq, len(rings))]
            if ring.write_batch(EVENTS, prepared, seq=seq):
                counters.add("batches", stream=control.stream)
            else:
                counters.add("batches_dropped_ring", stream=control.stream)
                counters.add("events_dropped_ring", batch.num_rows, stream=control.stream)
            seq += 1
    finally:
        for ring in rings:
            ring.close_writer()
        log.info("capture stopped", batches=seq, events=counters.get("events_in"))
