"""A bounded, durable queue of alerts for one output: append-only segment files plus an acknowledged offset.

Layout of a spool directory:

    00000000000000000001.seg   JSON lines (`Alert.record_line`), appended only
    00000000000000000002.seg   a new segment starts when the last one passes `segment_bytes`
    ack                        "<segment> <offset>": everything before this position was delivered

Guarantees: an alert whose append returned is read back after a restart unless it was acknowledged (with
fsync "always"; with "interval"/"never" the last second of writes may be lost on a power cut, not on a crash
of the process). An acknowledged alert is never handed out again. The ack file is replaced atomically
(write, fsync, rename). A torn last line left by a crash mid-write is cut off on open. Fully acknowledged
segments are deleted. Appends past `max_bytes` of unacknowledged data are refused and counted in `overflow`.

`MemorySpool` has the same interface without durability, for outputs configured with no spool directory.
All methods of both classes are thread-safe.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from stages.alert import Alert

FsyncPolicy = Literal["always", "interval", "never"]
_SUFFIX = ".seg"


@dataclass(frozen=True)
class Position:
    """A place in the spool: segment number and byte offset inside it."""

    segment: int
    offset: int


@dataclass(frozen=True)
class SpoolEntry:
    """An alert read from the spool and the position just after it (acknowledge it with `ack(entry.end)`)."""

    alert: Alert
    end: Position


class DiskSpool:
    """The durable spool of one output in `directory` (created if missing)."""

    def __init__(self, directory: str | os.PathLike[str], *, max_bytes: int = 256 << 20,
                 segment_bytes: int = 16 << 20, fsync: FsyncPolicy = "interval", fsync_seconds: float = 1.0) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.fsync_policy = fsync
        self.fsync_seconds = fsync_seconds
        self.overflow = 0
        self._lock = threading.Lock()
        self._last_sync = time.monotonic()
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_file = _exclusive_lock(self.directory / "lock")
        self._segments = self._existing_segments()
        self._ack = self._read_ack()
        self._repair_tail()
        self._sizes = {n: self._path(n).stat().st_size for n in self._segments}
        self._pending = self._count_pending()
        self._writer = None

    # ------------------------------------------------------------------ public

    def __len__(self) -> int:
        """Alerts appended and not yet acknowledged."""
        return self._pending

    @property
    def pending_bytes(self) -> int:
        with self._lock:
            return self._pending_bytes()

    def append(self, alerts: list[Alert]) -> int:
        """Write alerts at the end; returns how many were kept (the rest overflowed the size cap)."""
        if not alerts:
            return 0
        lines = [alert.record_line() for alert in alerts]
        with self._lock:
            room = self.max_bytes - self._pending_bytes()
            kept = []
            for line in lines:
                if len(line) > room:
                    break
                kept.append(line)
                room -= len(line)
            self.overflow += len(lines) - len(kept)
            if kept:
                self._write(kept)
            return len(kept)

    def peek(self, limit: int) -> list[SpoolEntry]:
        """Up to `limit` oldest unacknowledged alerts, in order, without consuming them."""
        with self._lock:
            entries: list[SpoolEntry] = []
            position = self._ack
            for number in self._segments:
                if number < position.segment or len(entries) >= limit:
                    continue
                start = position.offset if number == position.segment else 0
                entries.extend(self._read_segment(number, start, limit - len(entries)))
            return entries

    def ack(self, position: Position) -> None:
        """Everything up to `position` was delivered: never hand it out again."""
        with self._lock:
            acked = self._count_between(self._ack, position)
            self._ack = position
            self._write_ack()
            self._pending -= acked
            self._drop_consumed_segments()

    def close(self) -> None:
        """Flush and sync what was written and let another process open the directory."""
        with self._lock:
            if self._writer is not None:
                self._writer.flush()
                if self.fsync_policy != "never":
                    os.fsync(self._writer.fileno())
                self._writer.close()
                self._writer = None
            if self._lock_file is not None:
                self._lock_file.close()  # releases the flock
                self._lock_file = None

    # ------------------------------------------------------------------ files

    def _path(self, number: int) -> Path:
        return self.directory / f"{number:020d}{_SUFFIX}"

    def _existing_segments(self) -> list[int]:
        return sorted(int(p.name[: -len(_SUFFIX)]) for p in self.directory.glob(f"*{_SUFFIX}"))

    def _read_ack(self) -> Position:
        try:
            segment, offset = (self.directory / "ack").read_text().split()
            return Position(int(segment), int(offset))
        except FileNotFoundError:
            first = self._segments[0] if self._segments else 1
            return Position(first, 0)

    def _repair_tail(self) -> None:
        """Cut a partial last line (a crash in the middle of a write) so appends start on a line boundary."""
        if not self._segments:
            return
        path = self._path(self._segments[-1])
        data = path.read_bytes()
        if data and not data.endswith(b"\n"):
            with open(path, "r+b") as handle:
                handle.truncate(data.rfind(b"\n") + 1)

    def _count_pending(self) -> int:
        count = 0
        for number in self._segments:
            if number < self._ack.segment:
                continue
            with open(self._path(number), "rb") as handle:
                if number == self._ack.segment:
                    handle.seek(self._ack.offset)
                count += sum(1 for _ in handle)
        return count

    def _pending_bytes(self) -> int:
        total = sum(size for number, size in self._sizes.items() if number >= self._ack.segment)
        return total - (self._ack.offset if self._ack.segment in self._sizes else 0)

    def _write(self, lines: list[bytes]) -> None:
        if not self._segments or self._sizes[self._segments[-1]] >= self.segment_bytes:
            self._start_segment()
        writer = self._open_writer()
        payload = b"".join(lines)
        writer.write(payload)
        writer.flush()
        self._sizes[self._segments[-1]] += len(payload)
        self._pending += len(lines)
        self._maybe_fsync(writer.fileno())

    def _start_segment(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        number = self._segments[-1] + 1 if self._segments else max(self._ack.segment, 1)
        self._path(number).touch()
        self._segments.append(number)
        self._sizes[number] = 0
        self._fsync_dir()

    def _open_writer(self):
        if self._writer is None:
            self._writer = open(self._path(self._segments[-1]), "ab")
        return self._writer

    def _maybe_fsync(self, fd: int) -> None:
        now = time.monotonic()
        if self.fsync_policy == "always" or (
                self.fsync_policy == "interval" and now - self._last_sync >= self.fsync_seconds):
            os.fsync(fd)
            self._last_sync = now

    def _read_segment(self, number: int, start: int, limit: int) -> list[SpoolEntry]:
        entries = []
        with open(self._path(number), "rb") as handle:
            handle.seek(start)
            offset = start
            for line in handle:
                if len(entries) >= limit or not line.endswith(b"\n"):
                    break
                offset += len(line)
                entries.append(SpoolEntry(Alert.from_record(json.loads(line)), Position(number, offset)))
        return entries

    def _count_between(self, start: Position, end: Position) -> int:
        count = 0
        for number in self._segments:
            if number < start.segment or number > end.segment:
                continue
            with open(self._path(number), "rb") as handle:
                begin = start.offset if number == start.segment else 0
                handle.seek(begin)
                stop = end.offset if number == end.segment else None
                data = handle.read(None if stop is None else max(0, stop - begin))
                count += data.count(b"\n")
        return count

    def _write_ack(self) -> None:
        temporary = self.directory / "ack.tmp"
        with open(temporary, "w") as handle:
            handle.write(f"{self._ack.segment} {self._ack.offset}\n")
            handle.flush()
            if self.fsync_policy != "never":
                os.fsync(handle.fileno())
        os.replace(temporary, self.directory / "ack")

    def _drop_consumed_segments(self) -> None:
        """Delete segments wholly before the ack position; the ack moves to the next segment at a file end."""
        while self._segments:
            first = self._segments[0]
            finished = first < self._ack.segment or (
                first == self._ack.segment and self._ack.offset >= self._sizes[first] and len(self._segments) > 1)
            if not finished:
                break
            if first == self._ack.segment:
                self._ack = Position(self._segments[1], 0)
                self._write_ack()
            self._segments.pop(0)
            del self._sizes[first]
            self._path(first).unlink(missing_ok=True)

    def _fsync_dir(self) -> None:
        if self.fsync_policy == "never":
            return
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class SpoolBusyError(RuntimeError):
    """Another spool object (in this or another process) has the directory open."""


def _exclusive_lock(path: Path) -> IO[bytes]:
    # Two writers on one spool would hand out the same alerts twice: the second one is refused.
    handle = open(path, "ab")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise SpoolBusyError(f"spool {path.parent} is in use by another output router") from None
    return handle


class MemorySpool:
    """The same queue held in memory (no spool directory configured): bounded by bytes, lost on exit."""

    def __init__(self, *, max_bytes: int = 256 << 20) -> None:
        self.max_bytes = max_bytes
        self.overflow = 0
        self._lock = threading.Lock()
        self._items: deque[tuple[int, Alert, int]] = deque()  # (sequence, alert, size)
        self._bytes = 0
        self._next = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def pending_bytes(self) -> int:
        return self._bytes

    def append(self, alerts: list[Alert]) -> int:
        with self._lock:
            kept = 0
            for alert in alerts:
                size = len(alert.record_line())
                if self._bytes + size > self.max_bytes:
                    self.overflow += len(alerts) - kept
                    break
                self._next += 1
                self._items.append((self._next, alert, size))
                self._bytes += size
                kept += 1
            return kept

    def peek(self, limit: int) -> list[SpoolEntry]:
        with self._lock:
            items = [self._items[i] for i in range(min(limit, len(self._items)))]
        return [SpoolEntry(alert, Position(0, sequence)) for sequence, alert, _ in items]

    def ack(self, position: Position) -> None:
        with self._lock:
            while self._items and self._items[0][0] <= position.offset:
                _, _, size = self._items.popleft()
                self._bytes -= size

    def close(self) -> None:
        """Nothing to release; what is left is lost with the process."""


Spool = DiskSpool | MemorySpool
