"""Read a replay's input in a process of its own, ahead of the state engine.

Replay is bound by the capture process, and reading its input was done in turn with the state engine's work
(for a .scap file, opening, indexing and decoding it was a third of the whole; decompressing Saker's Arrow
files is much less). Here a reader
process does it into a shared-memory ring (`pipeline.ringbuf`, blocking when full: a replay loses nothing)
while the capture process advances the state over the batches already read, on another core.

The reader sends first how the state starts (`Opened.start`: a .scap's process, fd, user and interface
lists, or an Arrow capture's state snapshot), then every raw batch, then closes the ring. The capture process
copies each batch out and frees its place at once (the state engine keeps some of a batch's arrays). An
error in the reader (a corrupt file) is raised again in the capture process with its message. The reader
ignores stop signals like every stage, dies with the capture process, and is killed when the replay ends
early (SIGTERM stops a replay at once).
"""

from __future__ import annotations

import gc
import os
import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

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
            yield pa.ipc.open_stream(pa.py_buffer(payload)).read_next_batch()

    def _next(self, stopped: Callable[[], bool]) -> bytes | None:
        """The next message's payload, copied (None at the end of the input or when stopped)."""
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
            payload = bytes(message.payload)
            kind = message.kind
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
