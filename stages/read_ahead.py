"""Read a replay's input in a process of its own, ahead of the state engine.

Replay is bound by the capture process, and reading its input was done in turn with the state engine's work
(for a .scap file, opening, indexing and decoding it was a third of the whole; decompressing Saker's Arrow
files is much less). Here a reader
process does it into a shared-memory ring (`pipeline.ringbuf`, blocking when full: a replay loses nothing)
while the capture process advances the state over the batches already read, on another core.

The reader sends first how the state starts (`Opened.start`: a .scap's process, fd, user and interface
lists, or an Arrow capture's state snapshot), then every raw batch, then closes the ring. The capture process
copies each batch out and frees its place at once (the state engine keeps some of a batch's arrays), into
memory a batch used before once nothing points into it any more (`_Landing`). An
error in the reader (a corrupt file) is raised again in the capture process with its message. The reader
ignores stop signals like every stage, dies with the capture process, and is killed when the replay ends
early (SIGTERM stops a replay at once).
"""

from __future__ import annotations

import gc
import os
import pickle
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from pipeline.ringbuf import Ring, RingClosed
from pipeline.supervisor import CTX, die_with

RING_BYTES = 64 << 20  # a batch of 65,536 decoded .scap events is ~27 MB
_START, _BATCH, _FAILED = 1, 2, 3
_POLL_SECONDS = 0.2


@dataclass
class Opened:
    """An input opened by the reader: how the state starts (picklable) and the raw batches."""

    start: Any
    batches: Iterator[pa.RecordBatch]


class ReaderFailed(RuntimeError):
    """The reader process failed or died; the message says how."""


class ReadAhead:
    """Start the reader on `open_input` (run in the reader process); `start` then `batches()`; `close()`."""

    def __init__(self, open_input: Callable[[], Opened], *, ring_bytes: int = RING_BYTES) -> None:
        self.ring = Ring(ring_bytes, full="block")
        self.process = CTX.Process(target=_read, args=(self.ring, open_input, os.getpid()),
                                   name="saker-replay-reader", daemon=True)
        self.process.start()
        self._start: Any = None
        self._started = False
        self._landing = _Landing()

    def start(self, stopped: Callable[[], bool] = lambda: False) -> Any:
        """How the state starts, once the reader has opened the input (None if stopped before)."""
        if not self._started:
            payload = self._next(stopped)
            self._started = True
            self._start = None if payload is None else pickle.loads(payload)
        return self._start

    def batches(self, stopped: Callable[[], bool] = lambda: False) -> Iterator[pa.RecordBatch]:
        """The raw batches, each copied out of the ring, until the input ends or `stopped()`."""
        self.start(stopped)
        while (payload := self._next(stopped)) is not None:
            yield pa.ipc.open_stream(payload).read_next_batch()

    def _next(self, stopped: Callable[[], bool]) -> bytes | pa.Buffer | None:
        """The next message's payload, copied (None at the end of the input or when stopped): a batch's into
        `_Landing`, the others as bytes."""
        while not stopped():
            try:
                message = self.ring.read(timeout=_POLL_SECONDS)
            except RingClosed:
                return None
            if message is None:
                if self.process.exitcode is not None:
                    raise ReaderFailed(f"the replay reader exited with status {self.process.exitcode} before the "
                                       "end of its input")
                continue
            kind = message.kind
            payload = self._landing.copy(message.payload) if kind == _BATCH else bytes(message.payload)
            self.ring.release()
            if kind == _FAILED:
                raise pickle.loads(payload)
            return payload
        return None

    def close(self) -> None:
        """Stop the reader (at once if it has not finished) and remove the ring."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.ring.close()

    def __enter__(self) -> "ReadAhead":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Landing:
    """Where batches copied out of the ring land: memory an earlier batch used, once nothing points into it.

    A batch of 65,536 events is ~27 MB. Copied into fresh memory, every page of it faults in on the way
    (~6,500 faults: ~25 ms here, a fifth of the state engine's time for the batch); into pages already in
    place it is a plain copy (~5 ms). A batch's Arrow arrays hold the numpy view they were read from for as
    long as any of them lives (the state engine keeps a few past the batch), so a buffer is free again when
    the weak reference to its last view is dead; until then it is left alone and another one is used."""

    SLOTS = 3
    HEADROOM = 1.125  # batches differ a little in size: a slightly larger one still fits

    def __init__(self) -> None:
        self._slots: list[_Slot] = []  # least recently used first

    def copy(self, payload: memoryview) -> pa.Buffer:
        size = len(payload)
        free = [slot for slot in self._slots if slot.view() is None]
        slot = next((s for s in free if len(s.buffer) >= size), None)
        if slot is None:
            # A free one too small, else a new one, else the least recently used (its memory goes with its
            # batch's last array).
            slot = free[0] if free else _Slot() if len(self._slots) < self.SLOTS else self._slots[0]
            slot.buffer = np.empty(int(size * self.HEADROOM), dtype=np.uint8)
        if slot in self._slots:
            self._slots.remove(slot)
        self._slots.append(slot)
        view = slot.buffer[:size]
        view[:] = np.frombuffer(payload, dtype=np.uint8)
        slot.view = weakref.ref(view)
        return pa.py_buffer(view)


def _no_view() -> None:
    return None


@dataclass(eq=False)
class _Slot:
    buffer: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint8))
    view: Callable[[], np.ndarray | None] = _no_view  # a weak reference to the view last handed out


def _read(ring: Ring, open_input: Callable[[], Opened], parent_pid: int) -> None:
    """Reader process: the start, then every batch, then close. A batch larger than half the ring (less some
    room for its IPC message's schema and padding) is split: records do not wrap round the ring's end, so a
    larger one might never find room."""
    die_with(parent_pid)
    gc.freeze()  # the collector's passes would touch, and so copy, the pages shared with the capture process
    try:
        opened = open_input()
        ring.write(_START, pickle.dumps(opened.start), timeout=None)
        for batch in opened.batches:
            for part in _parts(batch, ring.capacity // 2 - ring.capacity // 32):
                ring.write_batch(_BATCH, part, timeout=None)
    except BaseException as exc:  # noqa: BLE001 - every failure goes to the capture process, which raises it
        ring.write(_FAILED, pickle.dumps(_picklable(exc)), timeout=None)
    finally:
        ring.close_writer()


def _parts(batch: pa.RecordBatch, limit: int) -> Iterator[pa.RecordBatch]:
    """The batch, in slices of at most `limit` bytes each (a batch's events may be split anywhere)."""
    if batch.nbytes <= limit or batch.num_rows < 2:
        yield batch
        return
    half = batch.num_rows // 2
    yield from _parts(batch.slice(0, half), limit)
    yield from _parts(batch.slice(half), limit)


def _picklable(exc: BaseException) -> BaseException:
    """The exception itself when it survives pickling, else a ReaderFailed with its text."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 - any pickling failure
        return ReaderFailed(f"{type(exc).__name__}: {exc}")
