"""A single-producer single-consumer ring of messages in shared memory, for Arrow batches between processes.

Layout of the segment (all little-endian, 8-byte aligned):

    header (64 bytes):  u64 write_pos | u64 read_pos | u64 capacity | u64 dropped | u64 written | u64 next_seq | ...
    data (capacity bytes): records, each  u32 length | u32 kind | u64 seq | payload | padding to 8

`write_pos` and `read_pos` only grow (they are byte counts modulo nothing); the place of a record in the data
area is `pos % capacity`. A record never wraps: when it does not fit before the end, the writer leaves a
WRAP record there and starts again at offset 0. The writer publishes a record by storing `write_pos` after
the record is complete, the reader frees it by storing `read_pos` after it is done with it, so a process that
dies half-way never leaves a torn record visible: a crashed writer's partial record is simply not there, a
crashed reader's record is read again by its successor (nothing is lost).

Aligned 8-byte stores are atomic on x86-64 and become visible in program order (TSO); each position has
one writing process, so no lock is needed — with one exception: when the ring is empty (everything released)
and the writer starts again at offset 0, it moves `read_pos` past the skipped tail itself, after `write_pos`
(so `read_pos` never passes `write_pos`); the reader, having nothing to release, can only store that same
value (skipping the WRAP record), and it re-reads `read_pos` after reading a record header, starting over if
it moved (the writer may already be reusing that place). An eventfd per direction wakes a waiting reader
(new data) or a blocked writer (space freed) instead of polling.

When the ring is full the writer either drops the message and counts it (`full="drop"`, live capture: never
stall the kernel) or waits for space (`full="block"`, replay: lose nothing).
"""

from __future__ import annotations

import os
import secrets
import select
import struct
import time
from dataclasses import dataclass
from multiprocessing import shared_memory

import numpy as np
import pyarrow as pa

HEADER_BYTES = 64
RECORD_HEADER = struct.Struct("<IIQ")  # length (payload bytes), kind, seq
KIND_WRAP = 0xFFFFFFFF  # filler up to the end of the data area
KIND_CLOSE = 0xFFFFFFFE  # the writer is done
_ALIGN = 8
SEGMENT_PREFIX = "saker-"
# header slots (u64 index)
_WRITE, _READ, _CAPACITY, _DROPPED, _WRITTEN = 0, 1, 2, 3, 4


class RingClosed(Exception):
    """The ring was closed by its writer and every message has been read."""


@dataclass(frozen=True)
class Message:
    """One record read from the ring: its kind (chosen by the writer), sequence number and payload view."""

    kind: int
    seq: int
    payload: memoryview


def _padded(n: int) -> int:
    return (n + _ALIGN - 1) & ~(_ALIGN - 1)


class Ring:
    """Both ends of one ring. Create it in the parent, then use `write*` in one process and `read` in another."""

    def __init__(self, capacity: int, *, full: str = "drop", name: str | None = None) -> None:
        if capacity < 4096 or capacity % _ALIGN:
            raise ValueError("ring capacity must be a multiple of 8 and at least 4096 bytes")
        if full not in ("drop", "block"):
            raise ValueError("full must be 'drop' or 'block'")
        self.full = full
        name = name or f"{SEGMENT_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        self._shm = shared_memory.SharedMemory(name=name, create=True, size=HEADER_BYTES + capacity)
        self._owner_pid = os.getpid()
        self._header = np.ndarray((HEADER_BYTES // 8,), dtype="<u8", buffer=self._shm.buf)
        self._header[:] = 0
        self._header[_CAPACITY] = capacity
        self._data = self._shm.buf[HEADER_BYTES:]
        self.capacity = capacity
        self._data_ready = os.eventfd(0, os.EFD_NONBLOCK)
        self._space_ready = os.eventfd(0, os.EFD_NONBLOCK)
        self._closed_flag = False
        self._seq = 0
        self._pending = 0
        self._view: memoryview | None = None

    @property
    def name(self) -> str:
        return self._shm.name

    # ---- counters (readable from any process) ----------------------------------------------------------

    @property
    def dropped(self) -> int:
        return int(self._header[_DROPPED])

    @property
    def written(self) -> int:
        return int(self._header[_WRITTEN])

    @property
    def write_offset(self) -> int:
        """Where the next record would start in the data area (before any wrap)."""
        return int(self._header[_WRITE]) % self.capacity

    @property
    def used_bytes(self) -> int:
        """Bytes written and not yet released (0 once this end is closed)."""
        if self._closed_flag:
            return 0
        return int(self._header[_WRITE] - self._header[_READ])

    # ---- writer -----------------------------------------------------------------------------------------

    def write(self, kind: int, payload: bytes | memoryview | pa.Buffer, *, seq: int | None = None,
              timeout: float | None = None) -> bool:
        """Append one message; False if it was dropped because the ring is full (drop mode).

        `seq` tags the message (e.g. the batch number shared by several rings); by default the ring numbers
        its messages itself.
        """
        size = len(payload) if not isinstance(payload, pa.Buffer) else payload.size
        dest = self._reserve(RECORD_HEADER.size + size, timeout)
        if dest is None:
            return False
        offset, pos = dest
        RECORD_HEADER.pack_into(self._data, offset, size, kind, self._seq if seq is None else seq)
        self._data[offset + RECORD_HEADER.size: offset + RECORD_HEADER.size + size] = memoryview(payload)
        self._publish(pos, RECORD_HEADER.size + size)
        return True

    def write_batch(self, kind: int, batch: pa.RecordBatch, *, seq: int | None = None,
                    timeout: float | None = None) -> bool:
        """Serialise a RecordBatch (Arrow IPC stream) straight into the ring: one copy."""
        size = _ipc_size(batch)
        dest = self._reserve(RECORD_HEADER.size + size, timeout)
        if dest is None:
            return False
        offset, pos = dest
        RECORD_HEADER.pack_into(self._data, offset, size, kind, self._seq if seq is None else seq)
        start = offset + RECORD_HEADER.size
        sink = pa.FixedSizeBufferWriter(pa.py_buffer(self._data[start: start + size]))
        with pa.ipc.new_stream(sink, batch.schema) as writer:
            writer.write_batch(batch)
        self._publish(pos, RECORD_HEADER.size + size)
        return True

    def close_writer(self) -> None:
        """Tell the reader no more messages will come (it sees RingClosed once the ring is drained)."""
        dest = self._reserve(RECORD_HEADER.size, None, force_block=True)
        assert dest is not None
        offset, pos = dest
        RECORD_HEADER.pack_into(self._data, offset, 0, KIND_CLOSE, self._seq)
        self._publish(pos, RECORD_HEADER.size)

    def _reserve(self, length: int, timeout: float | None, force_block: bool = False) -> tuple[int, int] | None:
        """Find room for a record of `length` bytes; returns (offset in data, write position)."""
        need = _padded(length)
        if need + RECORD_HEADER.size > self.capacity:
            raise ValueError(f"message of {length} bytes does not fit a ring of {self.capacity} bytes")
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            write = int(self._header[_WRITE])
            read = int(self._header[_READ])
            offset = write % self.capacity
            tail = self.capacity - offset
            # A record must not straddle the end: if it does not fit, a WRAP record fills the tail. An empty
            # ring (everything released) starts again at offset 0 the same way, so a reader that keeps up
            # makes the writer reuse the first pages over and over: the segment's resident memory stays the
            # size of the backlog, and hot in cache, instead of the whole capacity being touched in turn.
            # (Not when the reader is behind: the writer could then use only the space before the reader's
            # position until the reader passes the skipped tail, and a burst would be dropped early.)
            rewind = write == read and need <= offset
            wrap = need > tail or rewind
            total = tail + need if wrap else need
            if write + total - read <= self.capacity:
                if wrap:
                    if tail >= RECORD_HEADER.size:  # a shorter tail is skipped by the reader without a marker
                        RECORD_HEADER.pack_into(self._data, offset, 0, KIND_WRAP, 0)
                    self._header[_WRITE] = write + tail
                    if rewind:
                        # The reader has nothing left before the tail, so the tail is free at once: skip it
                        # for the reader (it may skip it too, storing the same value), or the writer could
                        # use only `offset` bytes until the reader wakes up and passes the marker. Stored
                        # after write_pos, so read_pos never passes write_pos, not even for a moment.
                        self._header[_READ] = write + tail
                    return 0, write + tail
                return offset, write
            if self.full == "drop" and not force_block:
                self._header[_DROPPED] += 1
                return None
            if deadline is not None and time.monotonic() >= deadline:
                self._header[_DROPPED] += 1
                return None
            _wait(self._space_ready, 0.05 if deadline is None else max(0.0, min(0.05, deadline - time.monotonic())))

    def _publish(self, pos: int, length: int) -> None:
        self._header[_WRITE] = pos + _padded(length)
        self._header[_WRITTEN] += 1
        self._seq += 1
        os.eventfd_write(self._data_ready, 1)

    # ---- reader -----------------------------------------------------------------------------------------

    def read(self, timeout: float | None = None) -> Message | None:
        """The next message without copying it, or None after `timeout` seconds with nothing to read.

        The payload stays valid until `release()`; call it when done with the message (and with any Arrow
        objects built on it).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            read = int(self._header[_READ])
            if int(self._header[_WRITE]) != read:
                offset = read % self.capacity
                if self.capacity - offset < RECORD_HEADER.size:
                    self._header[_READ] = read + (self.capacity - offset)
                    continue
                length, kind, seq = RECORD_HEADER.unpack_from(self._data, offset)
                if int(self._header[_READ]) != read:
                    # The writer restarted an empty ring at offset 0 and moved read_pos past this tail; it
                    # may already be reusing the place just read: start over from the new position.
                    continue
                if kind == KIND_WRAP:
                    self._header[_READ] = read + (self.capacity - offset)
                    continue
                if kind == KIND_CLOSE:
                    raise RingClosed
                start = offset + RECORD_HEADER.size
                self._pending = _padded(RECORD_HEADER.size + length)
                self._view = self._data[start: start + length]
                return Message(kind, seq, self._view)
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return None
            _wait(self._data_ready, 0.05 if remaining is None else min(0.05, remaining))

    def release(self) -> None:
        """Free the message last returned by `read`; drop Arrow objects built on it first.

        The payload view is released too, so a stale reference fails loudly instead of reading bytes the
        writer has already reused.
        """
        if self._view is not None:
            self._view.release()
            self._view = None
        self._header[_READ] = int(self._header[_READ]) + self._pending
        self._pending = 0
        os.eventfd_write(self._space_ready, 1)

    def read_batch(self, message: Message) -> pa.RecordBatch:
        """The RecordBatch in a message, zero-copy (valid until `release()`)."""
        return pa.ipc.open_stream(pa.py_buffer(message.payload)).read_next_batch()

    # ---- lifetime ---------------------------------------------------------------------------------------

    def close(self) -> None:
        """Detach this process; the creating process also removes the segment."""
        if self._closed_flag:
            return
        self._closed_flag = True
        self._header = None  # type: ignore[assignment]
        self._data.release()
        for fd in (self._data_ready, self._space_ready):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            self._shm.close()
        except BufferError:
            pass  # an Arrow object still points into the segment; the mapping goes when the process ends
        if os.getpid() == self._owner_pid:
            try:
                self._shm.unlink()
            except FileNotFoundError:
                pass

    def __enter__(self) -> "Ring":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()



def _ipc_size(batch: pa.RecordBatch) -> int:
    sink = pa.MockOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return sink.size()


def wait_any(rings: list["Ring"], seconds: float) -> None:
    """Sleep until one of the rings has a message (or is closed), or `seconds` pass.

    A reader of several rings tries each with `read(timeout=0)` and calls this when none had anything; the
    eventfd signals are cleared here, so the next round of reads finds what woke it.
    """
    fds = [ring._data_ready for ring in rings]
    readable, _, _ = select.select(fds, [], [], seconds) if fds else ([], [], time.sleep(seconds))
    for fd in readable:
        try:
            os.eventfd_read(fd)
        except BlockingIOError:
            pass


def _wait(fd: int, seconds: float) -> None:
    """Sleep until the eventfd is signalled or `seconds` pass; clear the signal."""
    readable, _, _ = select.select([fd], [], [], seconds)
    if readable:
        try:
            os.eventfd_read(fd)
        except BlockingIOError:
            pass


def remove_stale_segments(shm_dir: str = "/dev/shm") -> list[str]:
    """Unlink ring segments left by Saker processes that no longer exist (after a crash or SIGKILL)."""
    removed = []
    for entry in os.listdir(shm_dir) if os.path.isdir(shm_dir) else ():
        if not entry.startswith(SEGMENT_PREFIX):
            continue
        pid_text = entry[len(SEGMENT_PREFIX):].split("-", 1)[0]
        if pid_text.isdigit() and not _alive(int(pid_text)):
            try:
                os.unlink(os.path.join(shm_dir, entry))
                removed.append(entry)
            except FileNotFoundError:
                pass
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
