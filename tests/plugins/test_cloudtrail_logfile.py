"""Splitting CloudTrail log files into events, and the `s3_interval` file filter."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest

from stages.plugins.cloudtrail.interval import Interval
from stages.plugins.cloudtrail.logfile import NotALogFile, events_of, rfc3339_ns

T0 = "2024-05-02T08:00:00Z"
T0_NS = 1_714_636_800 * 10**9


def test_records_keep_their_original_bytes_and_braces_in_strings_do_not_split() -> None:
    first = b'{"eventTime": "2024-05-02T08:00:00Z",\n "eventType": "AwsApiCall", "userAgent": "x {y} }}\\" {"}'
    second = b'{"eventTime":"2024-05-02T08:00:01.250Z","eventType":"AwsServiceEvent","n":{"deep":{"er":[{}]}}}'
    data = b'{"Records": [ ' + first + b" ,\n\t" + second + b"]}"
    found = events_of(data)
    assert found.events == [(T0_NS, first), (T0_NS + 1_250_000_000, second)]
    assert not found.skipped


def test_gzip_is_recognised_by_its_magic_bytes() -> None:
    record = {"eventTime": T0, "eventType": "AwsApiCall", "eventName": "GetCallerIdentity"}
    data = gzip.compress(json.dumps({"Records": [record]}).encode())
    assert [json.loads(p) for _, p in events_of(data).events] == [record]


def test_invalid_records_are_skipped_and_counted() -> None:
    records = [
        b'{"eventTime": "2024-05-02T08:00:00Z", "eventType": "AwsApiCall"}',
        b'{"eventTime": "2024-05-02T08:00:00Z", "eventType": tru}',
        b'{"eventTime": "2024-05-02T08:00:00Z", "eventType": "AwsApiCall", "n": NaN}',
        b'{"eventType": "AwsApiCall"}',
        b'{"eventTime": 1714636800, "eventType": "AwsApiCall"}',
        b'{"eventTime": "2024-05-02 08:00:00", "eventType": "AwsApiCall"}',
        b'{"eventTime": "2024-02-30T08:00:00Z", "eventType": "AwsApiCall"}',
        b'{"eventTime": "2024-05-02T08:00:00Z"}',
        b'{"eventTime": "2024-05-02T08:00:00Z", "eventType": "AwsCloudTrailInsight"}',
    ]
    found = events_of(b'{"Records":[' + b",".join(records) + b"]}")
    assert found.events == [(T0_NS, records[0])]
    assert dict(found.skipped) == {"unparsable": 2, "no_time": 2, "bad_time": 2, "no_type": 1, "insight": 1}


@pytest.mark.parametrize("data", [b"", b"not json at all", b'[{"eventTime": "x"}]', b"\x1f\x8bcorrupt"])
def test_content_that_is_no_log_file_is_refused(data: bytes) -> None:
    with pytest.raises(NotALogFile):
        events_of(data)


def test_a_truncated_file_gives_its_complete_records() -> None:
    whole = b'{"eventTime": "2024-05-02T08:00:00Z", "eventType": "AwsApiCall"}'
    assert events_of(b'{"Records":[' + whole + b', {"eventTime": "2024-05-02T08:0').events == [(T0_NS, whole)]


@pytest.mark.parametrize(("text", "ns"), [
    ("2014-03-06T21:22:54Z", 1_394_140_974 * 10**9),
    ("2014-03-06T21:22:54.123456789Z", 1_394_140_974_123_456_789),
    ("2014-03-06T23:22:54+02:00", 1_394_140_974 * 10**9),
    ("2014-03-06T20:52:54-00:30", 1_394_140_974 * 10**9),
    ("2014-03-06T21:22Z", None), ("1969-12-31T23:59:59Z", None), ("2014-03-06t21:22:54z", None),
])
def test_rfc3339(text: str, ns: int | None) -> None:
    assert rfc3339_ns(text) == ns


NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)


def key(stamp: str) -> str:
    return f"AWSLogs/111122223333/CloudTrail/eu-west-1/x/111122223333_CloudTrail_eu-west-1_{stamp}Z_AbCd.json.gz"


def test_interval_relative_start() -> None:
    bounds = Interval.parse("5d").bounds(NOW)
    assert (bounds.start, bounds.end) == (NOW - timedelta(days=5), None)
    assert not bounds.admits(key("20240505T1159"))
    assert bounds.admits(key("20240505T1200"))
    assert bounds.admits("some/other/file.json")
    assert bounds.start_after("AWSLogs/1/CloudTrail/eu-west-1/") == "AWSLogs/1/CloudTrail/eu-west-1/2024/05/05/"


def test_interval_spans() -> None:
    bounds = Interval.parse("3d-1d").bounds(NOW)
    assert (bounds.start, bounds.end) == (NOW - timedelta(days=3), NOW - timedelta(days=1))
    assert bounds.admits(key("20240509T1200"))
    assert not bounds.admits(key("20240509T1201"))
    absolute = Interval.parse("2024-05-01T18:07:17Z-2w").bounds(NOW)
    assert (absolute.start, absolute.end) == (datetime(2024, 5, 1, 18, 7, 17, tzinfo=UTC), NOW - timedelta(weeks=2))
    assert Interval.parse("2024-05-01T18:07:17Z").bounds(NOW).end is None
    assert Interval.parse("").bounds(NOW).start_after("p/") is None
    units = [Interval.parse(f"90{unit}").bounds(NOW).start for unit in "hms"]
    assert units == [NOW - timedelta(hours=90), NOW - timedelta(minutes=90), NOW - timedelta(seconds=90)]


@pytest.mark.parametrize("text", ["5y", "-5d", "2024-05-01", "yesterday", "2024-05-01T25:00:00Z"])
def test_interval_errors(text: str) -> None:
    with pytest.raises(ValueError, match="s3_interval"):
        Interval.parse(text)
