"""The shared-memory ring: order, wrap-around, full policies, zero-copy batches, crashes, cleanup."""

from __future__ import annotations

import os
import random
import signal
import time

import multiprocess as mp
import pyarrow as pa
import pytest

from pipeline.ringbuf import SEGMENT_PREFIX, Ring, RingClosed, remove_stale_segments

CTX = mp.get_context("fork")


def drain(ring: Ring, timeout: float = 0.0) -> list[tuple[int, bytes]]:
    out = []
    while (message := ring.read(timeout=timeout)) is not None:
        out.append((message.kind, bytes(message.payload)))
        ring.release()
    return out


class TestSingleProcess:
    def test_order_and_kinds(self) -> None:
        """Messages come out in the order written, with their kinds and sequence numbers."""
        with Ring(4096) as ring:
            for i in range(10):
                assert ring.write(i % 3, f"m{i}".encode())
            seqs = []
            for i in range(10):
                message = ring.read(timeout=0)
                assert (message.kind, bytes(message.payload)) == (i % 3, f"m{i}".encode())
                seqs.append(message.seq)
                ring.release()
            assert seqs == list(range(10))
            assert ring.read(timeout=0) is None

    def test_wraps_around(self) -> None:
        """Thousands of odd-sized messages through a small ring, one always in flight, arrive intact."""
        with Ring(4096) as ring:
            got = []
            previous = None
            for i in range(3000):
                payload = bytes([i % 251]) * (1 + (i * 37) % 700)
                assert ring.write(1, payload)
                if previous is not None:
                    message = ring.read(timeout=0)
                    got.append((message.kind, bytes(message.payload)))
                    ring.release()
                    assert got[-1] == (1, previous)
                previous = payload
            got += drain(ring)
            assert len(got) == 3000
            assert ring.dropped == 0

    def test_empty_ring_reuses_its_first_pages(self) -> None:
        """A reader that keeps up makes every message land at the start of the data area, so a large ring
        touches only the memory its backlog needs."""
        with Ring(1 << 20) as ring:
            for i in range(100):
                assert ring.write(1, bytes([i]) * 3000)
                assert ring.write_offset == 3016 if i else True
                assert drain(ring) == [(1, bytes([i]) * 3000)]
            assert ring.write(1, b"a" * 3000) and ring.write(1, b"b" * 3000)  # a backlog: written after it
            assert ring.write_offset == 2 * 3016
            assert drain(ring) == [(1, b"a" * 3000), (1, b"b" * 3000)]

    def test_drop_when_full_is_counted(self) -> None:
        """In drop mode a full ring refuses the message and counts it."""
        with Ring(4096, full="drop") as ring:
            accepted = sum(ring.write(1, b"x" * 1000) for _ in range(10))
            assert accepted == 4
            assert ring.dropped == 6
            assert ring.written == 4
            assert len(drain(ring)) == 4

    def test_block_times_out_and_counts(self) -> None:
        """In block mode a writer waits for space; after its timeout the message counts as dropped."""
        with Ring(4096, full="block") as ring:
            for _ in range(4):
                assert ring.write(1, b"x" * 1000)
            assert not ring.write(1, b"x" * 1000, timeout=0.05)
            assert ring.dropped == 1

    def test_too_big(self) -> None:
        """A message larger than the ring is a clear error, not a hang."""
        with Ring(4096) as ring, pytest.raises(ValueError, match="does not fit"):
            ring.write(1, b"x" * 5000)

    def test_record_batch_zero_copy(self) -> None:
        """A RecordBatch written into the ring reads back equal, its buffers inside the segment."""
        batch = pa.record_batch({"evt.type": pa.array(["open", "execve"] * 500).dictionary_encode(),
                                 "proc.pid": pa.array(range(1000), pa.int64())})
        with Ring(1 << 20) as ring:
            assert ring.write_batch(7, batch)
            message = ring.read(timeout=0)
            got = ring.read_batch(message)
            assert message.kind == 7
            assert got.equals(batch)
            address = got.column(1).buffers()[1].address
            del got
            ring.release()
        assert address  # read in place: no copy was made to build the batch

    def test_segment_removed_on_close(self) -> None:
        """Closing the ring in its creator removes the shared-memory segment."""
        ring = Ring(4096)
        path = f"/dev/shm/{ring.name}"
        assert os.path.exists(path)
        ring.close()
        assert not os.path.exists(path)


def _consumer(ring: Ring, out) -> None:
    total = 0
    count = 0
    try:
        while True:
            message = ring.read(timeout=10)
            if message is None:
                break
            batch = ring.read_batch(message)
            total += sum(batch.column(0).to_pylist())
            count += 1
            del batch
            ring.release()
    except RingClosed:
        pass
    out.put((count, total))


class TestAcrossProcesses:
    def test_block_mode_loses_nothing(self) -> None:
        """A writer in block mode and a reader in another process: every batch arrives, in order."""
        queue = CTX.Queue()
        with Ring(1 << 16, full="block") as ring:
            reader = CTX.Process(target=_consumer, args=(ring, queue))
            reader.start()
            expected = 0
            for i in range(500):
                batch = pa.record_batch({"n": pa.array(range(i, i + 100), pa.int64())})
                expected += sum(range(i, i + 100))
                assert ring.write_batch(1, batch, timeout=10)
            ring.close_writer()
            count, total = queue.get(timeout=30)
            reader.join(timeout=10)
            assert (count, total) == (500, expected)
            assert ring.dropped == 0

    def test_odd_sizes_and_pauses_arrive_intact(self) -> None:
        """Messages of mixed sizes (up to a third of the ring) with random pauses on both sides, so the
        writer wraps, rewinds an empty ring and waits for space in every order: each arrives intact, in order."""

        def produce(ring: Ring) -> None:
            rnd = random.Random(1)
            for i in range(5000):
                ring.write(1, bytes([i % 256]) * rnd.choice([1, 100, 3000, 20000]), seq=i, timeout=None)
                if rnd.random() < 0.01:
                    time.sleep(0.001)
            ring.close_writer()

        with Ring(1 << 16, full="block") as ring:
            writer = CTX.Process(target=produce, args=(ring,))
            writer.start()
            rnd, seen = random.Random(2), 0
            with pytest.raises(RingClosed):
                while True:
                    message = ring.read(timeout=10)
                    assert message is not None
                    payload = bytes(message.payload)
                    assert (message.seq, payload) == (seen, bytes([seen % 256]) * len(payload))
                    if rnd.random() < 0.01:
                        time.sleep(0.001)
                    ring.release()
                    seen += 1
            writer.join(timeout=10)
            assert seen == 5000

    def test_crashed_reader_loses_nothing(self) -> None:
        """A reader killed while holding a message: its successor reads that same message."""
        started = CTX.Event()

        def hold(ring: Ring) -> None:
            ring.read(timeout=10)
            started.set()
            signal.pause()  # dies holding the message, never releasing it

        with Ring(4096) as ring:
            ring.write(1, b"first")
            ring.write(1, b"second")
            victim = CTX.Process(target=hold, args=(ring,))
            victim.start()
            assert started.wait(10)
            victim.kill()
            victim.join(10)
            assert drain(ring) == [(1, b"first"), (1, b"second")]


def test_stale_segments_removed(tmp_path) -> None:
    """Segments of dead Saker processes are unlinked; those of live ones are kept."""
    dead = CTX.Process(target=lambda: None)
    dead.start()
    dead.join()
    (tmp_path / f"{SEGMENT_PREFIX}{dead.pid}-abcd").write_bytes(b"x")
    (tmp_path / f"{SEGMENT_PREFIX}{os.getpid()}-abcd").write_bytes(b"x")
    (tmp_path / "other").write_bytes(b"x")
    assert remove_stale_segments(str(tmp_path)) == [f"{SEGMENT_PREFIX}{dead.pid}-abcd"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"{SEGMENT_PREFIX}{os.getpid()}-abcd", "other"])
