"""CloudTrail log files announced on an SQS queue: receiving messages and reading which objects they name.

CloudTrail announces each new log file on an SNS topic; an SQS queue subscribed to it receives SNS
envelopes (`{"Type": "Notification", "Message": "<JSON text>"}`) whose message is CloudTrail's notice
`{"s3Bucket": "...", "s3ObjectKey": ["...", ...]}`. With `use_s3_sns`, the message is instead an S3 event
notification (`{"Records": [{"s3": {"bucket": {"name"}, "object": {"key"}}}]}`, keys URL-encoded). A body
that is the message itself (SNS raw delivery, or S3 notifying the queue directly) is accepted as well.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus


class InvalidMessage(ValueError):
    """A queue message that names no log files in a form we know; retrying it cannot help."""


def objects_named(body: str, use_s3_sns: bool) -> list[tuple[str, str]]:
    """(bucket, key) pairs a message body names. Raises InvalidMessage."""
    message = _unwrapped(_json_object(body, "message body"))
    return _s3_event_objects(message) if use_s3_sns else _cloudtrail_notice_objects(message)


def _json_object(text: Any, what: str) -> dict[str, Any]:
    if not isinstance(text, str):
        raise InvalidMessage(f"{what} is not JSON text")
    try:
        value = json.loads(text)
    except ValueError:
        raise InvalidMessage(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise InvalidMessage(f"{what} is not a JSON object")
    return value


def _unwrapped(body: dict[str, Any]) -> dict[str, Any]:
    """The notification inside an SNS envelope, or the body itself when it is not one."""
    if "Type" not in body:
        return body
    if body["Type"] != "Notification":
        raise InvalidMessage(f"SNS message of type {body['Type']!r}, not a Notification")
    return _json_object(body.get("Message"), "SNS Message")


def _cloudtrail_notice_objects(notice: dict[str, Any]) -> list[tuple[str, str]]:
    bucket, keys = notice.get("s3Bucket"), notice.get("s3ObjectKey")
    if not isinstance(bucket, str) or not bucket or not isinstance(keys, list):
        raise InvalidMessage("not a CloudTrail notice (s3Bucket, s3ObjectKey)")
    return [(bucket, key) for key in keys if isinstance(key, str) and key]


def _s3_event_objects(event: dict[str, Any]) -> list[tuple[str, str]]:
    records = event.get("Records")
    if records is None and event.get("Event") == "s3:TestEvent":
        return []  # S3 checks a new notification target with this; there is nothing to read
    if not isinstance(records, list):
        raise InvalidMessage("not an S3 event notification (Records)")
    objects = []
    for record in records:
        bucket, key = _nested(record, "s3", "bucket", "name"), _nested(record, "s3", "object", "key")
        if isinstance(bucket, str) and isinstance(key, str) and bucket and key:
            objects.append((bucket, unquote_plus(key)))
    return objects


def _nested(value: Any, *keys: str) -> Any:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


class Queue:
    """One SQS queue of log file notices, found by name (and owner account) on first use."""

    def __init__(self, sqs: Any, name: str, *, owner: str = "", wait_seconds: int = 5) -> None:
        self.sqs = sqs
        self.name = name
        self.owner = owner
        self.wait_seconds = wait_seconds
        self.url: str | None = None

    def receive(self) -> list[tuple[str, str]]:
        """Up to 10 messages as (receipt handle, body), long-polling `wait_seconds`. Raises botocore errors."""
        if self.url is None:
            arguments = {"QueueName": self.name} | ({"QueueOwnerAWSAccountId": self.owner} if self.owner else {})
            self.url = self.sqs.get_queue_url(**arguments)["QueueUrl"]
        reply = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=self.wait_seconds)
        return [(m["ReceiptHandle"], m.get("Body", "")) for m in reply.get("Messages", ())]

    def delete(self, receipt: str) -> None:
        self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=receipt)
