"""Replay's reader process: batches arrive whole and in order, failures come back, nothing is left behind."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pyarrow as pa
import pytest

from kernel.scap import ScapFormatError, open_capture
from stages.read_ahead import Opened, ReadAhead, ReaderFailed
from stages.sources import CaptureTables, open_replay

CAPTURES = Path(__file__).resolve().parents[2].parent / "shared" / "peer" / "scap" / "captures"
CAPTURE = CAPTURES / "sysdig-inspect__capture-samples_502Error__947a737f.scap"


def _segment_exists(ring) -> bool:
    return Path("/dev/shm", ring.name).exists()


def _numbers(n: int, rows: int = 100) -> Opened:
    return Opened("start", (pa.record_batch({"i": pa.array(range(k * rows, (k + 1) * rows))}) for k in range(n)))


def test_a_scap_replay_reads_the_same_start_and_batches_as_the_file() -> None:
    direct = open_capture(CAPTURE)
    with ReadAhead(lambda: open_replay(str(CAPTURE), 4096)) as reader:
        start = reader.start()
        batches = list(reader.batches())
    assert isinstance(start, CaptureTables)
    assert start.threads == direct.threads and start.fds == direct.fds and start.users == direct.users
    expected = list(direct.batches(4096))
    assert len(batches) == len(expected) > 1
    for got, want in zip(batches, expected):
        assert got.equals(want)
    assert not reader.process.is_alive() and not _segment_exists(reader.ring)


def test_batches_larger_than_half_the_ring_arrive_split_in_order() -> None:
    """A batch larger than the ring (or than half of it) is cut into slices; the events stay in order."""
    with ReadAhead(lambda: _numbers(3, rows=200_000), ring_bytes=1 << 20) as reader:
        values = [v for batch in reader.batches() for v in batch.column("i").to_pylist()]
    assert values == list(range(600_000))
    assert not reader.process.is_alive() and not _segment_exists(reader.ring)


def _address(batch: pa.RecordBatch) -> int:
    return batch.column(0).buffers()[1].address


def test_a_batch_lands_in_the_memory_of_one_no_longer_used() -> None:
    """Copying into pages already touched saves faulting in ~27 MB per large batch."""
    with ReadAhead(lambda: _numbers(6, rows=10_000)) as reader:
        addresses = []
        for k, batch in enumerate(reader.batches()):
            assert batch.column("i").to_pylist() == list(range(k * 10_000, (k + 1) * 10_000))
            addresses.append(_address(batch))
            del batch  # nothing keeps it: a later batch may land in its memory
    # The batch in hand while the next one lands, and that one: two buffers in turn for six batches.
    assert len(set(addresses)) == 2


def test_batches_still_in_use_keep_their_values_while_later_ones_land() -> None:
    """The state engine keeps some of a batch's arrays: their memory is never reused under them."""
    with ReadAhead(lambda: _numbers(8, rows=10_000)) as reader:
        kept, addresses = [], []
        for k, batch in enumerate(reader.batches()):
            addresses.append(_address(batch))
            if k % 2 == 0:
                kept.append((k, batch.column("i").slice(5, 10)))  # a slice alone holds the whole batch's memory
            del batch
        for k, values in kept:
            assert values.to_pylist() == list(range(k * 10_000 + 5, k * 10_000 + 15))
    assert len(set(addresses[0::2])) == 4  # each kept batch in memory of its own
    assert addresses[1] == addresses[3] == addresses[5] == addresses[7]  # the others reused one buffer


def test_an_error_in_the_reader_is_raised_in_the_reading_process(tmp_path: Path) -> None:
    cut = tmp_path / "cut.scap"
    cut.write_bytes(CAPTURE.read_bytes()[:300_000])
    with ReadAhead(lambda: open_replay(str(cut), 4096)) as reader:
        with pytest.raises(ScapFormatError, match="truncated block"):
            reader.start()
    assert not reader.process.is_alive() and not _segment_exists(reader.ring)


def test_a_reader_that_dies_is_reported() -> None:
    def opened() -> Opened:
        return Opened("start", _die_after_one())

    with ReadAhead(opened) as reader:
        batches = reader.batches()
        assert next(batches).num_rows == 1
        with pytest.raises(ReaderFailed, match="exited with status -9"):
            next(batches)
    assert not _segment_exists(reader.ring)


def _die_after_one():
    yield pa.record_batch({"i": pa.array([1])})
    os.kill(os.getpid(), signal.SIGKILL)
    yield pa.record_batch({"i": pa.array([2])})


def test_stopping_early_kills_a_reader_blocked_on_a_full_ring() -> None:
    """The reader waits for space (a replay loses nothing); a replay stopped at once must not wait for it."""
    stop = [False]
    with ReadAhead(lambda: _numbers(10_000, rows=1_000), ring_bytes=1 << 20) as reader:
        batches = reader.batches(lambda: stop[0])
        next(batches)
        stop[0] = True
        assert list(batches) == []
        assert reader.process.is_alive()  # still blocked, writing the rest
    assert not reader.process.is_alive() and not _segment_exists(reader.ring)
