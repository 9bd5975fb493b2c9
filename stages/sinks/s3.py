"""Alerts to AWS S3 (or an S3-compatible store via `endpoint_url`) as gzip JSON-lines objects, with boto3.

Unlike Falcosidekick's one object per alert, alerts are batched (up to `batch_size`, or what arrived within
`flush_seconds`) into one object `<prefix>/<YYYY-MM-DD>/<upload time>-<n>.jsonl.gz`: the date and time are the
upload's, in UTC (`2026-01-31T09:41:22.118204311Z`), `n` counts the objects this sink wrote, so two uploads in
the same nanosecond differ. Each line is Falco's JSON document. boto3's own retries are turned off: the
router retries with backoff and keeps the batch in its spool meanwhile.
"""

from __future__ import annotations

import gzip
import time
from typing import Any

from stages.alert import Alert
from stages.sinks.base import Sink, SinkError, describe


def object_key(prefix: str, upload_ns: int, number: int) -> str:
    """The key of the `number`-th object uploaded at `upload_ns` (ns since the epoch, UTC)."""
    seconds, nanos = divmod(upload_ns, 1_000_000_000)
    day = time.strftime("%Y-%m-%d", time.gmtime(seconds))
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos:09d}Z"
    name = f"{day}/{stamp}-{number}.jsonl.gz"
    return f"{prefix.strip('/')}/{name}" if prefix.strip("/") else name


class S3Sink(Sink):
    """One gzip JSON-lines object per delivery."""

    name = "s3"

    def __init__(self, settings: Any, config: Any) -> None:
        super().__init__(settings, config)
        if not settings.bucket:
            raise ValueError("s3_output needs a bucket")
        self._client: Any = None
        self.uploaded = 0

    def secrets(self) -> tuple[str, ...]:
        return (self.settings.secret_access_key,)

    def batching(self) -> tuple[int, float]:
        return self.settings.batch_size, self.settings.flush_seconds

    def body(self, alerts: list[Alert]) -> bytes:
        lines = "".join(alert.to_falco_json(self.config) + "\n" for alert in alerts)
        return gzip.compress(lines.encode("utf-8", "replace"), compresslevel=6)

    def deliver(self, alerts: list[Alert]) -> None:
        if not alerts:
            return
        key = object_key(self.settings.prefix, time.time_ns(), self.uploaded + 1)
        try:
            self._s3().put_object(Bucket=self.settings.bucket, Key=key, Body=self.body(alerts),
                                  ContentType="application/gzip")
        except Exception as exc:  # botocore raises many unrelated types; every one is a failed upload
            raise SinkError(f"s3 upload to bucket {self.settings.bucket}: {describe(exc)}",
                            secrets=self.secrets()) from None
        self.uploaded += 1

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _s3(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config as BotoConfig

            settings = self.settings
            options: dict[str, Any] = {
                "config": BotoConfig(retries={"total_max_attempts": 1}, connect_timeout=10, read_timeout=60),
            }
            if settings.region:
                options["region_name"] = settings.region
            if settings.endpoint_url:
                options["endpoint_url"] = settings.endpoint_url
            if settings.access_key_id:
                options["aws_access_key_id"] = settings.access_key_id
                options["aws_secret_access_key"] = settings.secret_access_key
            self._client = boto3.session.Session().client("s3", **options)
        return self._client
