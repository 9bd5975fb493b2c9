"""Arrow capture files: rotation, self-contained state, replay in order."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from stages.arrow_capture import CaptureWriter, capture_files, read_state, replay


def batch(start: int, n: int = 1000) -> pa.RecordBatch:
    return pa.record_batch({
        "evt.num": pa.array(range(start, start + n), pa.uint64()),
        "evt.type": pa.array(["openat", "execve", "close", "read"] * (n // 4)).dictionary_encode(),
    })


def test_round_trip_with_rotation(tmp_path: Path) -> None:
    """Batches written across several rotated files replay identically and in order."""
    snapshots = iter([b"state-0", b"state-1", b"state-2", b"state-3", b"state-4", b"state-5"])
    with CaptureWriter(tmp_path, rotate_bytes=4000, state_snapshot=lambda: next(snapshots)) as writer:
        written = [batch(i * 1000) for i in range(6)]
        for b in written:
            writer.write(b)
    files = capture_files(tmp_path)
    assert len(files) > 1
    assert files == sorted(files)
    assert [read_state(f) for f in files] == [f"state-{i}".encode() for i in range(len(files))]
    replayed = list(replay(tmp_path))
    assert pa.Table.from_batches(replayed).select(["evt.num", "evt.type"]).equals(
        pa.Table.from_batches(written).replace_schema_metadata(replayed[0].schema.metadata))


def test_compressed(tmp_path: Path) -> None:
    """zstd capture files are smaller than uncompressed ones for the same events."""
    sizes = {}
    for compression in ("zstd", "none"):
        folder = tmp_path / compression
        with CaptureWriter(folder, compression=compression) as writer:
            for i in range(10):
                writer.write(batch(i * 1000))
        sizes[compression] = sum(f.stat().st_size for f in capture_files(folder))
    assert sizes["zstd"] < sizes["none"] / 2


def test_missing_capture(tmp_path: Path) -> None:
    """A folder without capture files, or a missing path, is a clear error."""
    with pytest.raises(FileNotFoundError, match="no .arrow capture files"):
        capture_files(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such capture"):
        capture_files(tmp_path / "nope.arrow")


def test_batches_with_different_columns_share_a_file(tmp_path: Path) -> None:
    """Batches carrying different parameter columns go to one file (union schema, nulls where absent)."""
    first = pa.record_batch({"evt.num": pa.array([1, 2], pa.uint64()), "arg.fd": pa.array([3, 4], pa.int64())})
    second = pa.record_batch({"evt.num": pa.array([3], pa.uint64()), "arg.name": pa.array(["/etc/passwd"])})
    third = pa.record_batch({"evt.num": pa.array([4], pa.uint64()), "arg.fd": pa.array([5], pa.int64())})
    with CaptureWriter(tmp_path) as writer:
        for b in (first, second, third):
            writer.write(b)
    files = capture_files(tmp_path)
    assert len(files) == 2  # the second batch brought a new column; the third fits the second file
    rows = [row for b in replay(tmp_path) for row in b.to_pylist()]
    assert [r["evt.num"] for r in rows] == [1, 2, 3, 4]
    assert rows[2]["arg.name"] == "/etc/passwd" and rows[2]["arg.fd"] is None
    assert rows[3]["arg.fd"] == 5 and rows[3]["arg.name"] is None
