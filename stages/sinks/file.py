"""Alerts appended to a file (Falco's file_output), with size-based rotation Falco leaves to logrotate.

`keep_alive: false` opens and closes the file around every delivery, as Falco does per alert, so an external
rotation is picked up at once; `keep_alive: true` keeps it open until `reopen()` (SIGUSR1). With
`rotate_bytes` > 0 the file is renamed to `<filename>.1` (older ones shifted to .2 ... .<rotate_keep>, the
oldest deleted) before a line would take it past that size.
"""

from __future__ import annotations

import os
from typing import Any, BinaryIO

from stages.alert import Alert
from stages.sinks.base import Sink, SinkError, describe


class FileSink(Sink):
    """One line per alert: Falco's JSON document when `json_output`, else its text line."""

    name = "file"

    def __init__(self, settings: Any, config: Any) -> None:
        super().__init__(settings, config)
        self.path = settings.filename
        self._handle: BinaryIO | None = None
        self._size = 0

    def deliver(self, alerts: list[Alert]) -> None:
        json_output = self.config.json_output
        lines = [(alert.render(self.config, json_output=json_output) + "\n").encode("utf-8", "replace")
                 for alert in alerts]
        written = 0
        try:
            handle = self._open()
            chunk: list[bytes] = []
            chunk_size = 0
            for line in lines:
                if self._must_rotate(chunk_size, len(line)):
                    self._write(handle, chunk)
                    written += len(chunk)
                    chunk, chunk_size = [], 0
                    handle = self._rotate()
                chunk.append(line)
                chunk_size += len(line)
            self._write(handle, chunk)
            written += len(chunk)
        except OSError as exc:
            self._discard()
            raise SinkError(f"file output {self.path}: {describe(exc)}", delivered=written) from None
        if not self.settings.keep_alive:
            self._discard()

    def reopen(self) -> None:
        self._discard()

    def close(self) -> None:
        self._discard()

    # ------------------------------------------------------------------ helpers

    def _open(self) -> BinaryIO:
        if self._handle is None:
            self._handle = open(self.path, "ab")
            self._size = self._handle.tell()
        return self._handle

    def _write(self, handle: BinaryIO, chunk: list[bytes]) -> None:
        if not chunk:
            return
        data = b"".join(chunk)
        handle.write(data)
        self._size += len(data)
        if not self.config.buffered_outputs:
            handle.flush()

    def _must_rotate(self, unwritten: int, adding: int) -> bool:
        """Would a line of `adding` bytes, after `unwritten` bytes not yet written, pass the size limit?"""
        limit = self.settings.rotate_bytes
        current = self._size + unwritten
        return bool(limit) and current > 0 and current + adding > limit

    def _rotate(self) -> BinaryIO:
        """Shift <path>.N-1 -> .N ... <path> -> .1, dropping what falls past `rotate_keep`; open a new file."""
        self._discard()
        keep = self.settings.rotate_keep
        oldest = f"{self.path}.{keep}"
        if os.path.exists(oldest):
            os.unlink(oldest)
        for index in range(keep - 1, 0, -1):
            source = f"{self.path}.{index}"
            if os.path.exists(source):
                os.replace(source, f"{self.path}.{index + 1}")
        os.replace(self.path, f"{self.path}.1")
        return self._open()

    def _discard(self) -> None:
        if self._handle is not None:
            try:
                self._handle.close()
            except OSError:
                pass
            self._handle = None
