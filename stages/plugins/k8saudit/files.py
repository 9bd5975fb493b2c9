"""Audit log files: JSONL files (or folders of them) read once, and files followed like `tail -F`.

Both hand out complete lines; a line longer than the limit is skipped whole (upstream's line scanner stops at
64 KiB with an error instead). Lines are stripped; blank ones are skipped.

A followed file starts at its end (only new events matter), and is reopened from its start when the path
is renamed away or deleted and created again, and rewound when it shrinks (truncation). It is polled: no
inotify is needed, and a poll is one `stat` and one `fstat` of a file that did not change.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

CHUNK_BYTES = 1 << 20
FOLLOW_PREFIX = "file://"


class LineBuffer:
    """Cuts a byte stream into lines, dropping lines longer than `max_line_bytes` and counting them."""

    def __init__(self, max_line_bytes: int) -> None:
        self.max_line_bytes = max_line_bytes
        self.too_long = 0
        self._pending = bytearray()
        self._skipping = False  # inside a line already found too long: drop up to its newline

    def feed(self, chunk: bytes) -> list[bytes]:
        lines: list[bytes] = []
        start = 0
        while True:
            newline = chunk.find(b"\n", start)
            piece = chunk[start:] if newline < 0 else chunk[start:newline]
            if not self._skipping:
                self._pending += piece
                if len(self._pending) > self.max_line_bytes:
                    self.too_long += 1
                    self._pending.clear()
                    self._skipping = True
            if newline < 0:
                return lines
            if not self._skipping:
                self._take(lines)
            self._skipping = False
            start = newline + 1

    def flush(self) -> list[bytes]:
        """The last line when the stream ended without a newline."""
        lines: list[bytes] = []
        if not self._skipping:
            self._take(lines)
        self.reset()
        return lines

    def reset(self) -> None:
        self._pending.clear()
        self._skipping = False

    def _take(self, lines: list[bytes]) -> None:
        line = bytes(self._pending).strip()
        self._pending.clear()
        if line:
            lines.append(line)


def plain_files(path: str) -> list[Path]:
    """The files a plain `files` entry names: the file itself, or each file of a folder, oldest first."""
    target = Path(path.strip())
    if not target.is_dir():
        return [target]
    files = [entry for entry in target.iterdir() if entry.is_file()]
    return sorted(files, key=lambda entry: (entry.stat().st_mtime_ns, entry.name))


def read_lines(path: Path, buffer: LineBuffer) -> Iterator[list[bytes]]:
    """The lines of a file, a chunk's worth at a time; OSError when it cannot be opened."""
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            yield buffer.feed(chunk)
    yield buffer.flush()


class FileFollower:
    """Follows one path like `tail -F`; `poll()` returns the lines added since the last poll."""

    def __init__(self, path: str, max_line_bytes: int) -> None:
        self.path = path
        self.buffer = LineBuffer(max_line_bytes)
        self.rotated = 0
        self.truncated = 0
        self._stream: BinaryIO | None = None
        self._identity: tuple[int, int] | None = None
        self._offset = 0

    def start(self) -> bool:
        """Open the file if it exists and go to its end: what is already there is history. False if absent."""
        return self._open(at_end=True)

    def poll(self) -> list[bytes]:
        if self._stream is None and not self._open(at_end=False):
            return []
        lines = self._read_new()
        if self._replaced():
            lines += self.buffer.flush()  # the old file's last line, if it had no newline
            self._close()
            self.rotated += 1
            if self._open(at_end=False):
                lines += self._read_new()
        return lines

    def close(self) -> None:
        self._close()

    def _open(self, at_end: bool) -> bool:
        try:
            stream = open(self.path, "rb")  # noqa: SIM115 - stays open between polls
        except OSError:
            return False
        status = os.fstat(stream.fileno())
        self._stream, self._identity = stream, (status.st_dev, status.st_ino)
        self._offset = stream.seek(0, os.SEEK_END) if at_end else 0
        self.buffer.reset()
        return True

    def _read_new(self) -> list[bytes]:
        assert self._stream is not None
        if os.fstat(self._stream.fileno()).st_size < self._offset:
            self.truncated += 1
            self._stream.seek(0)
            self._offset = 0
            self.buffer.reset()
        lines: list[bytes] = []
        while chunk := self._stream.read(CHUNK_BYTES):
            self._offset += len(chunk)
            lines += self.buffer.feed(chunk)
        return lines

    def _replaced(self) -> bool:
        """Whether the path now names another file, or nothing (renamed or deleted)."""
        try:
            status = os.stat(self.path)
        except OSError:
            return True
        return (status.st_dev, status.st_ino) != self._identity

    def _close(self) -> None:
        if self._stream is not None:
            self._stream.close()
        self._stream, self._identity = None, None
