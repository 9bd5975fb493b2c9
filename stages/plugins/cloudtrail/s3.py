"""CloudTrail log files in S3: which keys to read under `s3://bucket/prefix`, and downloading them in parallel.

CloudTrail writes `<prefix>/AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_
<YYYYMMDDTHHmm>Z_<id>.json.gz` (organization trails put `<o-org>/` before the account). When the prefix ends
at an account (`…/AWSLogs/123456789012/`, `…/AWSLogs/o-abc1234567/123456789012/`) or an organization
(`…/AWSLogs/o-abc1234567/`), the listing goes region by region (and account by account) so that
`s3_interval` can start each one at its first day (StartAfter) instead of listing years of files; otherwise
the prefix is listed as it is. Only `.json` and `.json.gz` keys are read, and `s3_interval` drops keys whose
time stamp lies outside it.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from stages.plugins.cloudtrail.interval import Bounds, Interval

_ACCOUNT_FOLDER = re.compile(r"(?:^|/)AWSLogs/(?:o-[a-z0-9]{10,32}/)?\d{12}/\Z")
_ORGANIZATION_FOLDER = re.compile(r"(?:^|/)AWSLogs/o-[a-z0-9]{10,32}/\Z")
_ACCOUNT_NAME = re.compile(r"\d{12}/\Z")


def split_url(url: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` -> ("bucket", "some/prefix")."""
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    return bucket, prefix


def is_log_key(key: str) -> bool:
    return key.endswith((".json", ".json.gz"))


class S3Logs:
    """Lists and downloads log files of one S3 client."""

    def __init__(self, s3: Any, concurrency: int, interval: Interval | None = None) -> None:
        self.s3 = s3
        self.concurrency = concurrency
        self.interval = interval or Interval()

    # ---- listing ---------------------------------------------------------------------------------------

    def keys(self, bucket: str, prefix: str, now: datetime | None = None) -> Iterator[str]:
        """The log file keys to read under a prefix, in listing order. Raises botocore errors."""
        bounds = self.interval.bounds(now or datetime.now(UTC))
        for folder, start_after in self._folders(bucket, _as_folder(prefix), bounds):
            for key in self._list(bucket, folder, start_after):
                if is_log_key(key) and bounds.admits(key):
                    yield key

    def _folders(self, bucket: str, prefix: str, bounds: Bounds) -> Iterator[tuple[str, str | None]]:
        """(prefix to list, StartAfter) pairs: one per region folder under an account or organization."""
        if _ORGANIZATION_FOLDER.search(prefix):
            accounts = [p for p in self._subfolders(bucket, prefix) if _ACCOUNT_NAME.search(p)]
        elif _ACCOUNT_FOLDER.search(prefix):
            accounts = [prefix]
        else:
            yield prefix, None
            return
        for account in accounts:
            for region in self._subfolders(bucket, account + "CloudTrail/"):
                yield region, bounds.start_after(region)

    def _subfolders(self, bucket: str, prefix: str) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/")
        return [common["Prefix"] for page in pages for common in page.get("CommonPrefixes", ())]

    def _list(self, bucket: str, prefix: str, start_after: str | None) -> Iterator[str]:
        arguments = {"Bucket": bucket, "Prefix": prefix} | ({"StartAfter": start_after} if start_after else {})
        for page in self.s3.get_paginator("list_objects_v2").paginate(**arguments):
            for item in page.get("Contents", ()):
                yield item["Key"]

    # ---- downloading -----------------------------------------------------------------------------------

    def fetch(self, objects: Iterable[tuple[str, str]], stop: threading.Event
              ) -> Iterator[tuple[str, str, bytes | Exception]]:
        """(bucket, key, content or the error) for each object, in the given order, downloading up to
        `concurrency` objects at once and at most twice that ahead of the consumer. Stops early on `stop`."""
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="cloudtrail-s3") as pool:
            pending: deque[tuple[str, str, Future[bytes]]] = deque()
            todo = iter(objects)
            try:
                while not stop.is_set():
                    while len(pending) < 2 * self.concurrency and (item := next(todo, None)) is not None:
                        pending.append((*item, pool.submit(self._download, *item)))
                    if not pending:
                        return
                    bucket, key, future = pending.popleft()
                    error = future.exception()
                    yield bucket, key, future.result() if error is None else error
            finally:
                for _bucket, _key, future in pending:
                    future.cancel()

    def _download(self, bucket: str, key: str) -> bytes:
        body = self.s3.get_object(Bucket=bucket, Key=key)["Body"]
        try:
            return body.read()
        finally:
            body.close()


def _as_folder(prefix: str) -> str:
    """An account or organization folder given without its trailing slash still counts as one."""
    if prefix and not prefix.endswith("/") and (_ACCOUNT_FOLDER.search(prefix + "/")
                                                or _ORGANIZATION_FOLDER.search(prefix + "/")):
        return prefix + "/"
    return prefix
