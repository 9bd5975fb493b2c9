"""The `k8s_audit` source's input: the audit webhook and/or audit log files, per `sources.k8s_audit`.

`run()` first reads the plain `files` entries once (a JSONL file, or each file of a folder, oldest first).
Then, when the webhook is on or some entry is `file://PATH`, it serves the webhook and follows those files
in one asyncio loop of its own thread until `stop` is set; otherwise it returns once the files are read.
`ready` is set when the live inputs are up: the server listens (its port in `port`) and followed files sit
at their end, so a test or a caller can send or append from then on; with plain files only, at once.

Events are handed to `emit` in arrival order: one call per accepted request, per poll of a followed file,
and per few thousand lines of a plain file. Bad input never raises: it is logged and counted. A webhook that
cannot listen (port taken, unreadable certificate) is logged and makes `run()` raise: that is no input.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from config.logs import get_logger
from config.schema import K8sAuditSource
from stages.plugins.base import Emit
from stages.plugins.k8saudit.files import FOLLOW_PREFIX, FileFollower, LineBuffer, plain_files, read_lines
from stages.plugins.k8saudit.parse import NOT_RECOGNIZED, AuditParser, Parsed
from stages.plugins.k8saudit.webhook import AuditWebhook, tls_context

POLL_SECONDS = 0.05  # how often followed files are polled and `stop` is looked at
FILE_BATCH_EVENTS = 4096  # events of a plain file handed on per emit call


class K8sAuditIngest:
    """Brings Kubernetes audit events in; see the module docstring."""

    def __init__(self, section: K8sAuditSource) -> None:
        self.section = section
        self.parser = AuditParser(section.max_event_bytes)
        self.log = get_logger("k8saudit")
        self.ready = threading.Event()
        self.port: int | None = None
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        entries = [entry.strip() for entry in section.files]
        self.follow_paths = [e[len(FOLLOW_PREFIX):] for e in entries if e.startswith(FOLLOW_PREFIX)]
        self.plain_paths = [e for e in entries if e and not e.startswith(FOLLOW_PREFIX)]

    # ---- the Ingest protocol ----------------------------------------------------------------------------

    def run(self, emit: Emit, stop: threading.Event) -> None:
        if not (self.section.webhook or self.follow_paths):
            self.ready.set()  # nothing to listen for: ready at once, whoever waits need not wait for the files
        self._read_plain_files(emit, stop)
        if stop.is_set() or not (self.section.webhook or self.follow_paths):
            self.ready.set()
            return
        asyncio.run(self._serve(emit, stop))

    def counters(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    # ---- payloads -----------------------------------------------------------------------------------------

    def take(self, payload: bytes, emit: Emit, origin: str) -> str | None:
        """Parse one payload (a request body or a line), log and count what it held, emit its events.

        Returns why it is refused (not JSON, not audit data), or None when it held audit data.
        """
        try:
            parsed = self.parser.parse(payload)
        except ValueError as error:
            self.count("invalid_json")
            self.log.warning("invalid JSON", origin=origin, error=str(error))
            return f"invalid JSON: {error}"
        self._note(parsed, origin)
        if parsed.events:
            self.count("events", len(parsed.events))
            emit(parsed.events)
        return None if parsed.recognized else NOT_RECOGNIZED

    def _note(self, parsed: Parsed, origin: str) -> None:
        if parsed.unrecognized:
            self.count("unrecognized", parsed.unrecognized)
            self.log.warning(NOT_RECOGNIZED, origin=origin, parts=parsed.unrecognized)
        if parsed.no_timestamp:
            self.count("dropped_no_timestamp", parsed.no_timestamp)
            self.log.warning("audit event dropped: no readable stageTimestamp", origin=origin,
                             events=parsed.no_timestamp)
        if parsed.too_large:
            self.count("dropped_too_large", parsed.too_large)
            self.log.warning("audit event dropped: larger than max_event_bytes", origin=origin,
                             events=parsed.too_large, max_event_bytes=self.section.max_event_bytes)

    def count(self, name: str, n: int = 1) -> None:
        if not n:
            return
        with self._lock:
            self._counts[name] += n

    # ---- plain files --------------------------------------------------------------------------------------

    def _read_plain_files(self, emit: Emit, stop: threading.Event) -> None:
        for entry in self.plain_paths:
            try:
                paths = plain_files(entry)
            except OSError as error:
                self._file_error(entry, error)
                continue
            for path in paths:
                if stop.is_set():
                    return
                self._read_file(path, emit, stop)

    def _read_file(self, path: Path, emit: Emit, stop: threading.Event) -> None:
        buffer = LineBuffer(self.section.max_body_bytes)
        batch: list[tuple[int, bytes]] = []  # the events of the lines read, handed on a few thousand at a time
        try:
            for lines in read_lines(path, buffer):
                for line in lines:
                    self.take(line, batch.extend, origin=str(path))
                if len(batch) >= FILE_BATCH_EVENTS:
                    emit(batch[:])
                    batch.clear()
                if stop.is_set():
                    break
        except OSError as error:
            self._file_error(str(path), error)
        else:
            self.count("files_read")
        if batch:
            emit(batch)
        self._count_long_lines(buffer, str(path))

    def _file_error(self, path: str, error: OSError) -> None:
        self.count("file_errors")
        self.log.error("cannot read audit file", path=path, error=str(error))

    def _count_long_lines(self, buffer: LineBuffer, path: str) -> None:
        if buffer.too_long:
            self.count("lines_too_long", buffer.too_long)
            self.log.warning("audit file lines skipped: longer than max_body_bytes", path=path,
                             lines=buffer.too_long)
            buffer.too_long = 0

    # ---- webhook and followed files -----------------------------------------------------------------------

    async def _serve(self, emit: Emit, stop: threading.Event) -> None:
        webhook = self._webhook(emit) if self.section.webhook else None
        followers = [FileFollower(path, self.section.max_body_bytes) for path in self.follow_paths]
        try:
            if webhook is not None:
                await self._listen(webhook)
            for follower in followers:
                if not follower.start():
                    self.log.info("followed audit file does not exist yet", path=follower.path)
            self.ready.set()
            while not stop.is_set():
                for follower in followers:
                    self._poll(follower, emit)
                await asyncio.sleep(POLL_SECONDS)
        finally:
            for follower in followers:
                follower.close()
            if webhook is not None:
                await webhook.close()

    def _webhook(self, emit: Emit) -> AuditWebhook:
        section = self.section
        return AuditWebhook(path=section.path, bearer_token=section.bearer_token,
                            max_body_bytes=section.max_body_bytes,
                            deliver=lambda body: self.take(body, emit, origin="webhook"), count=self.count)

    async def _listen(self, webhook: AuditWebhook) -> None:
        section = self.section
        try:
            context = tls_context(section.tls.cert, section.tls.key) if section.tls.cert else None
            self.port = await webhook.start(section.listen_address, section.listen_port, context)
        except (OSError, ValueError) as error:
            self.log.error("audit webhook cannot start", address=section.listen_address, port=section.listen_port,
                           error=str(error))
            raise
        self.log.info("audit webhook listening", address=section.listen_address, port=self.port,
                      path=webhook.path, tls=context is not None)

    def _poll(self, follower: FileFollower, emit: Emit) -> None:
        before = (follower.rotated, follower.truncated)
        try:
            lines = follower.poll()
        except OSError as error:
            self._file_error(follower.path, error)
            follower.close()
            return
        self.count("files_rotated", follower.rotated - before[0])
        self.count("files_truncated", follower.truncated - before[1])
        batch: list[tuple[int, bytes]] = []
        for line in lines:
            self.take(line, batch.extend, origin=follower.path)
        if batch:
            emit(batch)
        self._count_long_lines(follower.buffer, follower.path)


def build(section: Any) -> K8sAuditIngest:
    """The source's Ingest from its config section (`PluginSpec.ingest`)."""
    return K8sAuditIngest(section)
