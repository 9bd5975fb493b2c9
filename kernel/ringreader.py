"""Span reader of a BPF ring buffer map: whole spans of records at once, no callback per event.

The map fd is mmap'ed the way libbpf does it: the consumer page read/write at offset 0, the producer page and
the data area read-only at offset one page, the data area mapped twice in a row so that a span that wraps is
contiguous. A read takes the producer and consumer positions, views the waiting span as fixed-size records
(every record of a ring has the same size), stops at the first record whose header still has the busy bit
(reserved, not yet submitted) or, when asked, at the first record stamped after a given time, and hands the
span over in place: the batch builder reads the records where the kernel wrote them (a copy of every byte
first cost ~0.1 µs per event, more than some columns), and `release` then stores the new consumer position,
which frees the space for the kernel.
"""

from __future__ import annotations

import mmap
import os

import numpy as np

from kernel.records import BUSY_BIT, HEADER, RINGBUF_HEADER, RecordLayout

PAGE = os.sysconf("SC_PAGE_SIZE")
_TS_AT = RINGBUF_HEADER + HEADER.fields["ts"][1]  # a record's timestamp, from the start of its ring slot


class RingFormatError(RuntimeError):
    """A record whose length is not the ring's record size: the probes and `kernel.records` disagree."""


class RingReader:
    """One ring of fixed-size records."""

    def __init__(self, map_fd: int, data_size: int, layout: RecordLayout) -> None:
        if data_size & (data_size - 1) or data_size % PAGE:
            raise ValueError(f"ring size {data_size} is not a power-of-two number of pages")
        self.fd = map_fd
        self.size = data_size
        self.mask = data_size - 1
        self.layout = layout
        self.slot = layout.slot
        self._consumer_map = mmap.mmap(map_fd, PAGE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=0)
        self._producer_map = mmap.mmap(map_fd, PAGE + 2 * data_size, mmap.MAP_SHARED, mmap.PROT_READ, offset=PAGE)
        self._consumer = np.frombuffer(self._consumer_map, dtype="<u8", count=1)
        self._producer = np.frombuffer(self._producer_map, dtype="<u8", count=1)
        # The data area, mapped twice in a row: a span that wraps is contiguous here (read-only).
        self.data = np.frombuffer(self._producer_map, dtype=np.uint8, offset=PAGE)
        self.held_back_after: int | None = None
        self._released_stamp = 0

    def waiting(self) -> int:
        """Records submitted or reserved and not consumed yet."""
        return int(self._producer[0] - self._consumer[0]) // self.slot

    def span(self, limit: int, until_ns: int | None = None) -> tuple[int, int]:
        """(byte offset in `data`, count) of up to `limit` complete records waiting, to be read in place; they
        stay the reader's until `release`. With `until_ns` (CLOCK_MONOTONIC, the probes' clock) the span stops
        before the first record stamped later.

        `held_back_after` tells whether records stamped up to `until_ns` may have been left behind (by `limit`,
        or behind a record still being written): then it is the stamp of the last record taken (or released
        before), after which this ring is not known complete; otherwise None."""
        consumer = int(self._consumer[0])
        waiting = (int(self._producer[0]) - consumer) // self.slot
        count = min(waiting, limit)
        start = consumer & self.mask
        self.held_back_after = None if count == waiting else self._stamp_before(start, count)
        if count <= 0:
            return 0, 0
        headers = np.ndarray((count,), dtype="<u4", buffer=self.data, offset=start, strides=(self.slot,))
        # A complete record's ring header is its length alone: one pass finds the first that is not.
        odd = headers != np.uint32(self.layout.size)
        if odd.any():
            count = int(np.argmax(odd))
            if not headers[count] & BUSY_BIT:
                raise RingFormatError(f"ring {self.layout.ring}: record header {int(headers[count]):#x}, expected "
                                      f"a record of {self.layout.size} bytes")
            self.held_back_after = self._stamp_before(start, count)
        if until_ns is not None and count:
            late = self.stamps(start, count) > np.uint64(until_ns)
            if late.any():  # what follows is later still, or was reserved after this record (stamped later)
                count = int(np.argmax(late))
                self.held_back_after = None
        if count == 0:
            return 0, 0
        return start, count

    def stamps(self, offset: int, count: int) -> np.ndarray:
        """The timestamps of `count` records from byte `offset` of `data` (a view, no copy)."""
        return np.ndarray((count,), dtype="<u8", buffer=self.data, offset=offset + _TS_AT,
                          strides=(self.slot,))

    def _stamp_before(self, offset: int, count: int) -> int:
        """The stamp of the last of `count` records from `offset`, or of the last record released if none."""
        return int(self.stamps(offset, count)[-1]) if count else self._released_stamp

    def release(self, count: int) -> None:
        """Give the first `count` waiting records back to the kernel (after the last read of them)."""
        if count:
            consumer = int(self._consumer[0])
            self._released_stamp = int(self.stamps(consumer & self.mask, count)[-1])
            self._consumer[0] = consumer + count * self.slot

    def close(self) -> None:
        # numpy views keep the mappings alive; drop them first so the mmaps can close.
        self._consumer = self._producer = self.data = None
        self._consumer_map.close()
        self._producer_map.close()


