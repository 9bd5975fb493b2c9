"""The order of a thread's records across batches when the live drain reads its rings one after the other
(kernel.live.LiveCapture._drain): the rings are plain buffers here, and the "kernel" writes to them between the
reads of two rings, as a running thread can."""

from __future__ import annotations

import time

import pytest

import numpy as np

from kernel.events import BatchBuilder
from kernel import live
from kernel.live import LiveCapture
from kernel.records import LAYOUTS
from kernel.ringreader import RingFormatError, RingReader
from tests.kernel.test_batch_builder import _close, _openat, _ring

RING_BYTES = 1 << 20


def _reader(ring: str) -> RingReader:
    """A ring reader over a buffer of this process (what the kernel maps, without the kernel)."""
    reader = object.__new__(RingReader)
    reader.fd, reader.size, reader.mask = -1, RING_BYTES, RING_BYTES - 1
    reader.layout, reader.slot = LAYOUTS[ring], LAYOUTS[ring].slot
    reader._consumer, reader._producer = np.zeros(1, dtype="<u8"), np.zeros(1, dtype="<u8")
    reader.data = np.zeros(2 * RING_BYTES, dtype=np.uint8)
    return reader


def _submit(reader: RingReader, records: list[dict]) -> None:
    data, count = _ring(reader.layout.ring, records)
    at = int(reader._producer[0])
    reader.data[at: at + len(data)] = data
    reader._producer[0] = at + count * reader.slot


def _capture() -> LiveCapture:
    capture = object.__new__(LiveCapture)
    capture.events_read = 0
    return capture


def _drained(capture: LiveCapture, readers: list[RingReader], drains: int) -> list[tuple[str, int]]:
    builder, seen = BatchBuilder(0), []
    for _ in range(drains):
        batch = capture._drain(readers, builder)
        if batch is not None:
            seen += zip(batch.column("evt.type").to_pylist(), batch.column("evt.rawtime").to_pylist())
    return seen


def test_a_record_written_between_the_reads_of_two_rings_does_not_overtake_its_predecessor() -> None:
    small, path = _reader("small"), _reader("path")
    read_path = path.span

    def thread_runs_then_read(limit, until_ns=None):
        # Between the reads of the two rings the thread closes fd 3 (small ring), then opens a file as fd 3
        # (path ring). Without a cut-off the open went out in this batch and its close in the next one.
        if not getattr(path, "ran", False):
            path.ran = True
            _submit(small, [_close(time.monotonic_ns(), 3)])
            _submit(path, [_openat(time.monotonic_ns(), 3, "/etc/hosts", 0)])
        return read_path(limit, until_ns)

    path.span = thread_runs_then_read
    seen = _drained(_capture(), [small, path], drains=2)
    assert [evt for evt, _ in seen] == ["close", "openat"]
    assert [ts for _, ts in seen] == sorted(ts for _, ts in seen)


def test_records_stamped_before_the_drain_go_out_and_later_ones_wait_for_the_next() -> None:
    small = _reader("small")
    now = time.monotonic_ns()
    _submit(small, [_close(now - 2, 4), _close(now + 10**12, 5)])
    capture = _capture()
    assert _drained(capture, [small], drains=1) == [("close", now - 2)]
    assert small.waiting() == 1
    assert LiveCapture._spans([small], None) == [(small.slot, 1)]  # the final drain takes everything


def test_a_record_behind_one_still_being_written_does_not_overtake_its_predecessor() -> None:
    small, path = _reader("small"), _reader("path")
    # Thread 8's close is reserved first and still being written (busy) when the drain reads the small ring;
    # behind it thread 7 closed fd 3 and then opened a file as fd 3 (path ring). All stamped before the drain.
    _submit(small, [_close(1, 4), {**_close(2, 5), "tid": 8, "pid": 8}, _close(3, 3)])
    busy = small.slot  # the second record's ring header
    small.data[busy + 3] |= 0x80
    _submit(path, [_openat(4, 3, "/etc/hosts", 0)])
    capture = _capture()
    assert _drained(capture, [small, path], drains=1) == [("close", 1)]
    small.data[busy + 3] &= 0x7F  # submitted
    assert _drained(capture, [small, path], drains=1) == [("close", 2), ("close", 3), ("openat", 4)]


def test_a_ring_with_more_than_a_batch_cuts_the_other_rings_at_its_last_record_taken(monkeypatch) -> None:
    monkeypatch.setattr(live, "MAX_ROWS_PER_DRAIN", 4)
    small, path = _reader("small"), _reader("path")
    _submit(small, [_close(2 * i, 3) for i in range(6)])  # stamped 0, 2, ... 10
    _submit(path, [_openat(2 * i + 1, 3, "/a", 0) for i in range(6)])  # 1, 3, ... 11
    seen = _drained(_capture(), [small, path], drains=1)
    assert [ts for _, ts in seen] == [0, 1, 2, 3, 4, 5, 6]  # small's 4th record (6) is its last taken
    assert _drained(_capture(), [small, path], drains=1) == [("openat", 7), ("close", 8), ("openat", 9),
                                                             ("close", 10), ("openat", 11)]


def test_a_record_not_of_the_rings_size_is_a_format_error_after_the_records_before_it() -> None:
    for bad_header in (LAYOUTS["small"].size + 8, LAYOUTS["small"].size | 1 << 30):  # too long; discarded
        small = _reader("small")
        _submit(small, [_close(1, 4), _close(2, 5)])
        small.data[small.slot: small.slot + 4] = np.frombuffer(np.uint32(bad_header).tobytes(), dtype=np.uint8)
        with pytest.raises(RingFormatError, match="ring small: record header"):
            small.span(10)
        small.data[small.slot: small.slot + 4] = np.frombuffer(np.uint32(LAYOUTS["small"].size).tobytes(),
                                                               dtype=np.uint8)
        assert small.span(10) == (0, 2)
