"""Which S3 objects an SQS message names: CloudTrail notices and S3 event notifications, wrapped or not."""

from __future__ import annotations

import json

import pytest

from stages.plugins.cloudtrail.sqs import InvalidMessage, objects_named


def sns(message: object) -> str:
    return json.dumps({"Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:eu-west-1:1:t",
                       "Message": json.dumps(message)})


NOTICE = {"s3Bucket": "trail", "s3ObjectKey": ["AWSLogs/1/CloudTrail/a.json.gz", "AWSLogs/1/CloudTrail/b.json.gz"]}
S3_EVENT = {"Records": [{"s3": {"bucket": {"name": "trail"}, "object": {"key": "logs/day+1/a%2Bb.json.gz"}}},
                        {"s3": {"bucket": "not an object", "object": {"key": "x"}}}, 5]}


def test_cloudtrail_notice() -> None:
    expected = [("trail", "AWSLogs/1/CloudTrail/a.json.gz"), ("trail", "AWSLogs/1/CloudTrail/b.json.gz")]
    assert objects_named(sns(NOTICE), use_s3_sns=False) == expected
    assert objects_named(json.dumps(NOTICE), use_s3_sns=False) == expected  # raw delivery


def test_s3_event_keys_are_url_decoded_and_malformed_records_ignored() -> None:
    assert objects_named(sns(S3_EVENT), use_s3_sns=True) == [("trail", "logs/day 1/a+b.json.gz")]
    assert objects_named(sns({"Service": "Amazon S3", "Event": "s3:TestEvent"}), use_s3_sns=True) == []


@pytest.mark.parametrize(("body", "use_s3_sns"), [
    ("not json", False),
    (json.dumps(["a list"]), False),
    (json.dumps({"Type": "SubscriptionConfirmation", "SubscribeURL": "https://example.invalid"}), False),
    (json.dumps({"Type": "Notification", "Message": "not json"}), False),
    (json.dumps({"Type": "Notification"}), False),
    (sns({"s3Bucket": "trail"}), False),
    (sns(S3_EVENT), False),  # an S3 event where a CloudTrail notice is expected
    (sns(NOTICE), True),  # and the other way round
])
def test_messages_naming_no_log_files_are_invalid(body: str, use_s3_sns: bool) -> None:
    with pytest.raises(InvalidMessage):
        objects_named(body, use_s3_sns)
