"""The CloudTrail source: reads the configured `paths` and emits one event per CloudTrail record.

Paths are local files or folders, `s3://bucket[/prefix]` and `sqs://queue`. Files and S3 prefixes are read
once, in the order given; then, if there are queues, they are polled in turn until stop. Without a queue,
`run` returns when the last file is read (the source has ended).

Each log file becomes one `emit` call with its events in file order. A queue message is deleted (when
`sqs_delete` is on) only after every file it names was read and emitted, so a crash or a failed download
leaves the message to be delivered again: events can repeat, never go missing. A message that names no
readable objects in a known form is deleted anyway, since delivering it again cannot help.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from config.logs import get_logger
from config.schema import CloudTrailSource
from stages.plugins.base import Emit
from stages.plugins.cloudtrail import aws
from stages.plugins.cloudtrail.files import log_files
from stages.plugins.cloudtrail.interval import Interval
from stages.plugins.cloudtrail.logfile import NotALogFile, events_of
from stages.plugins.cloudtrail.s3 import S3Logs, split_url
from stages.plugins.cloudtrail.sqs import InvalidMessage, Queue, objects_named

log = get_logger("cloudtrail")

AWS_ERRORS = (BotoCoreError, ClientError)
MAX_BACKOFF_SECONDS = 60.0
IDLE_POLL_SECONDS = 1.0  # between receives when long polling is off (sqs_wait_seconds: 0) and a queue is empty

COUNTERS = ("files", "files_failed", "files_invalid", "events", "skipped_unparsable", "skipped_no_time",
            "skipped_bad_time", "skipped_no_type", "skipped_insight", "paths_failed", "sqs_messages",
            "sqs_invalid", "sqs_deleted", "sqs_kept", "sqs_errors")


class CloudTrailIngest:
    """Reads CloudTrail log files from disk, S3 and SQS notices (see the module docstring)."""

    def __init__(self, section: CloudTrailSource) -> None:
        self.section = section
        self.interval = Interval.parse(section.s3_interval)  # a bad setting fails at start, not mid-run
        self._client_factory: Callable[[str], Any] | None = None  # made when a path first needs AWS
        self._clients: dict[str, Any] = {}
        self._counts: Counter[str] = Counter({name: 0 for name in COUNTERS})

    def counters(self) -> dict[str, int]:
        return dict(self._counts)

    # ---- the run loop ----------------------------------------------------------------------------------

    def run(self, emit: Emit, stop: threading.Event) -> None:
        queues = [path for path in self.section.paths if path.startswith("sqs://")]
        for path in self.section.paths:
            if stop.is_set():
                return
            if path.startswith("s3://"):
                self._read_s3_prefix(path, emit, stop)
            elif not path.startswith("sqs://"):
                self._read_local(path, emit, stop)
        if queues:
            self._poll_queues(queues, emit, stop)

    def _client(self, service: str) -> Any:
        if service not in self._clients:
            if self._client_factory is None:
                self._client_factory = aws.clients(self.section)
            self._clients[service] = self._client_factory(service)
        return self._clients[service]

    def _s3_logs(self) -> S3Logs:
        return S3Logs(self._client("s3"), self.section.s3_download_concurrency, self.interval)

    # ---- one log file ----------------------------------------------------------------------------------

    def _emit_log_file(self, where: str, data: bytes, emit: Emit) -> None:
        """Split one file's content into events and emit them; count what was skipped."""
        try:
            found = events_of(data)
        except NotALogFile as error:
            self._counts["files_invalid"] += 1
            log.warning("not a CloudTrail log file", file=where, reason=str(error))
            return
        self._counts["files"] += 1
        for reason, count in found.skipped.items():
            self._counts[f"skipped_{reason}"] += count
        if found.skipped:
            log.debug("records skipped", file=where, **dict(found.skipped))
        if found.events:
            self._counts["events"] += len(found.events)
            emit(found.events)

    # ---- local files -----------------------------------------------------------------------------------

    def _read_local(self, path: str, emit: Emit, stop: threading.Event) -> None:
        try:
            files = list(log_files(path))
        except OSError as error:
            self._counts["paths_failed"] += 1
            log.error("cannot read CloudTrail path", path=path, error=str(error))
            return
        if not files:
            log.warning("no .json or .json.gz files under the path", path=path)
        for file in files:
            if stop.is_set():
                return
            try:
                data = file.read_bytes()
            except OSError as error:
                self._counts["files_failed"] += 1
                log.error("cannot read CloudTrail log file", file=str(file), error=str(error))
                continue
            self._emit_log_file(str(file), data, emit)

    # ---- S3 --------------------------------------------------------------------------------------------

    def _read_s3_prefix(self, url: str, emit: Emit, stop: threading.Event) -> None:
        bucket, prefix = split_url(url)
        try:
            logs = self._s3_logs()
            keys = list(logs.keys(bucket, prefix))
        except AWS_ERRORS as error:
            self._counts["paths_failed"] += 1
            log.error("cannot list CloudTrail log files", url=url, error=str(error))
            return
        log.info("reading CloudTrail log files from S3", url=url, files=len(keys))
        self._read_objects(logs, [(bucket, key) for key in keys], emit, stop)

    def _read_objects(self, logs: S3Logs, objects: Iterable[tuple[str, str]], emit: Emit,
                      stop: threading.Event) -> bool:
        """Download and emit objects in order; True when every one was downloaded and emitted (a stop that comes
        after the last one changes nothing: the message it came from is done with)."""
        objects = list(objects)
        complete, fetched = True, 0
        for bucket, key, content in logs.fetch(objects, stop):
            fetched += 1
            if isinstance(content, Exception):
                complete = False
                self._counts["files_failed"] += 1
                log.error("cannot download CloudTrail log file", bucket=bucket, key=key, error=str(content))
                continue
            self._emit_log_file(f"s3://{bucket}/{key}", content, emit)
        return complete and fetched == len(objects)

    # ---- SQS -------------------------------------------------------------------------------------------

    def _poll_queues(self, urls: list[str], emit: Emit, stop: threading.Event) -> None:
        """Poll the queues in turn until stop. A failing queue is retried after a pause that doubles with each
        failure (up to a minute), without holding up the others."""
        section = self.section
        queues = [Queue(self._client("sqs"), url.removeprefix("sqs://"), owner=section.sqs_owner_account,
                        wait_seconds=section.sqs_wait_seconds) for url in urls]
        failures = [0] * len(queues)
        retry_at = [0.0] * len(queues)
        while not stop.is_set():
            ready = [i for i in range(len(queues)) if retry_at[i] <= time.monotonic()]
            if not ready:
                stop.wait(min(retry_at) - time.monotonic())
                continue
            received = 0
            for i in ready:
                if stop.is_set():
                    return
                try:
                    received += self._handle_messages(queues[i], emit, stop)
                    failures[i] = 0
                except AWS_ERRORS as error:
                    self._counts["sqs_errors"] += 1
                    failures[i] += 1
                    pause = min(MAX_BACKOFF_SECONDS, 2.0 ** failures[i])
                    retry_at[i] = time.monotonic() + pause
                    log.error("SQS queue failed", queue=queues[i].name, error=str(error), retry_in=pause)
            if not received and section.sqs_wait_seconds == 0:
                stop.wait(IDLE_POLL_SECONDS)

    def _handle_messages(self, queue: Queue, emit: Emit, stop: threading.Event) -> int:
        """Receive one batch of messages and handle each; the number received."""
        messages = queue.receive()
        for receipt, body in messages:
            if stop.is_set():
                break  # left undeleted: it comes back after its visibility timeout
            self._counts["sqs_messages"] += 1
            if self._handle_message(body, emit, stop) and self.section.sqs_delete:
                queue.delete(receipt)
                self._counts["sqs_deleted"] += 1
        return len(messages)

    def _handle_message(self, body: str, emit: Emit, stop: threading.Event) -> bool:
        """Read the files a message names; True when the message is done with (may be deleted)."""
        try:
            objects = objects_named(body, self.section.use_s3_sns)
        except InvalidMessage as error:
            self._counts["sqs_invalid"] += 1
            log.warning("SQS message names no CloudTrail log files", reason=str(error), body=body[:200])
            return True
        if self._read_objects(self._s3_logs(), objects, emit, stop):
            return True
        self._counts["sqs_kept"] += 1
        return False
