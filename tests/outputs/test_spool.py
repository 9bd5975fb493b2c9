"""The durable spool: append, peek, ack, restart, torn tail, size cap, segment clean-up, exclusivity."""

from __future__ import annotations

import pytest

from stages.spool import DiskSpool, MemorySpool, Position, SpoolBusyError
from tests.outputs.conftest import make_alert


def _numbers(entries) -> list[int]:
    return [entry.alert.output_fields["n"] for entry in entries]


def test_peek_does_not_consume_and_ack_does(tmp_path):
    """peek hands out the oldest alerts again until they are acknowledged."""
    spool = DiskSpool(tmp_path, fsync="never")
    assert spool.append([make_alert(i) for i in range(5)]) == 5
    assert _numbers(spool.peek(3)) == [0, 1, 2]
    assert _numbers(spool.peek(3)) == [0, 1, 2]
    spool.ack(spool.peek(2)[-1].end)
    assert len(spool) == 3
    assert _numbers(spool.peek(10)) == [2, 3, 4]
    spool.close()


def test_unacknowledged_alerts_survive_a_restart_and_acknowledged_never_return(tmp_path):
    """A new spool on the same directory resumes after the acknowledged position."""
    spool = DiskSpool(tmp_path, fsync="always")
    spool.append([make_alert(i) for i in range(6)])
    spool.ack(spool.peek(4)[-1].end)
    spool.close()
    reopened = DiskSpool(tmp_path)
    assert len(reopened) == 2
    assert _numbers(reopened.peek(10)) == [4, 5]
    assert reopened.peek(1)[0].alert == make_alert(4)
    reopened.close()


def test_torn_last_line_is_cut_on_open(tmp_path):
    """A partial line left by a crash mid-write is dropped, and later appends stay readable."""
    spool = DiskSpool(tmp_path)
    spool.append([make_alert(0), make_alert(1)])
    spool.close()
    segment = next(tmp_path.glob("*.seg"))
    with open(segment, "ab") as handle:
        handle.write(b'{"rule":"half')
    reopened = DiskSpool(tmp_path)
    assert len(reopened) == 2
    reopened.append([make_alert(2)])
    assert _numbers(reopened.peek(10)) == [0, 1, 2]
    reopened.close()


def test_size_cap_refuses_and_counts_overflow(tmp_path):
    """Past max_bytes of pending data appends are refused and counted; acking makes room again."""
    size = len(make_alert(0).record_line())
    spool = DiskSpool(tmp_path, max_bytes=size * 3 + 10)
    assert spool.append([make_alert(i) for i in range(5)]) == 3
    assert spool.overflow == 2
    spool.ack(spool.peek(1)[0].end)
    assert spool.append([make_alert(9)]) == 1
    assert _numbers(spool.peek(10)) == [1, 2, 9]
    spool.close()


def test_consumed_segments_are_deleted(tmp_path):
    """Segments roll at segment_bytes and disappear once fully acknowledged."""
    spool = DiskSpool(tmp_path, segment_bytes=4096, fsync="never")
    for start in range(0, 120, 10):
        spool.append([make_alert(i) for i in range(start, start + 10)])
    assert len(list(tmp_path.glob("*.seg"))) > 3
    entries = spool.peek(1000)
    assert _numbers(entries) == list(range(120))
    spool.ack(entries[99].end)
    assert len(spool) == 20
    assert len(list(tmp_path.glob("*.seg"))) <= 2
    assert _numbers(spool.peek(1000)) == list(range(100, 120))
    spool.close()
    assert _numbers(DiskSpool(tmp_path).peek(1000)) == list(range(100, 120))


def test_a_second_spool_on_the_same_directory_is_refused(tmp_path):
    """Two routers on one spool would deliver twice: the second open raises until the first closes."""
    first = DiskSpool(tmp_path)
    with pytest.raises(SpoolBusyError):
        DiskSpool(tmp_path)
    first.close()
    DiskSpool(tmp_path).close()


def test_memory_spool_has_the_same_behaviour_without_files():
    """MemorySpool: peek/ack/size cap like the disk spool."""
    size = len(make_alert(0).record_line())
    spool = MemorySpool(max_bytes=size * 4)
    assert spool.append([make_alert(i) for i in range(6)]) == 4
    assert spool.overflow == 2
    spool.ack(spool.peek(2)[-1].end)
    assert _numbers(spool.peek(10)) == [2, 3]
    spool.ack(Position(0, 10**9))
    assert len(spool) == 0 and spool.pending_bytes == 0
