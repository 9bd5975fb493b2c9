"""Payload parsing: EventList / Event / nested arrays, stageTimestamp to nanoseconds, drops and what is counted."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stages.plugins.k8saudit.parse import AuditParser, compact_json, rfc3339_ns
from tests.plugins.k8saudit_events import audit_event, payload

EPOCH_2018 = int(datetime(2018, 10, 26, 13, 42, 46, tzinfo=UTC).timestamp())


@pytest.mark.parametrize("text, expected", [
    ("2018-10-26T13:42:46.808261Z", EPOCH_2018 * 10**9 + 808_261_000),
    ("2018-10-26T13:42:46Z", EPOCH_2018 * 10**9),
    ("2018-10-26T13:42:46.123456789Z", EPOCH_2018 * 10**9 + 123_456_789),
    ("2018-10-26T13:42:46.1234567891Z", EPOCH_2018 * 10**9 + 123_456_789),  # cut, as Go does
    ("2018-10-26T15:42:46.5+02:00", EPOCH_2018 * 10**9 + 500_000_000),
    ("2018-10-26T08:12:46-05:30", EPOCH_2018 * 10**9),
])
def test_rfc3339_to_nanoseconds(text: str, expected: int) -> None:
    assert rfc3339_ns(text) == expected


@pytest.mark.parametrize("text", ["", "2018-10-26 13:42:46Z", "2018-10-26T13:42:46", "2018-02-30T00:00:00Z",
                                  "2018-10-26T13:42:60Z", "1969-12-31T23:59:59Z", "2018-10-26T13:42:46.Z", 1540561366,
                                  None, "2018-10-26T13:42:46+2:00"])
def test_rfc3339_refusals(text) -> None:
    assert rfc3339_ns(text) is None


@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1)),
       st.integers(min_value=0, max_value=999_999_999))
def test_rfc3339_agrees_with_datetime(moment: datetime, nanos: int) -> None:
    whole = moment.replace(microsecond=0, tzinfo=UTC)
    text = whole.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"
    assert rfc3339_ns(text) == int(whole.timestamp()) * 10**9 + nanos


def events_of(value, max_event_bytes: int = 262144):
    return AuditParser(max_event_bytes).parse(payload(value))


def test_event_list_single_event_and_nested_arrays() -> None:
    a, b, c = (audit_event("get", "pods", name=n) for n in "abc")
    listed = events_of({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": [a, b]})
    assert [json.loads(p)["objectRef"]["name"] for _, p in listed.events] == ["a", "b"]
    single = events_of(c)
    assert [json.loads(p) for _, p in single.events] == [c]
    nested = events_of([a, [{"kind": "EventList", "items": [b]}, [[c]]]])
    assert [json.loads(p)["objectRef"]["name"] for _, p in nested.events] == ["a", "b", "c"]
    assert nested.recognized and nested.unrecognized == 0


def test_payload_is_the_event_compact_and_time_is_its_stage_timestamp() -> None:
    event = audit_event("get", "pods", name="x", stageTimestamp="2024-05-01T10:00:00.25Z")
    [(time_ns, body)] = AuditParser(262144).parse(json.dumps({"kind": "EventList", "items": [event]}, indent=4)).events
    assert body == compact_json(event) and b" " not in body.replace(b"kubectl/v1", b"")
    assert time_ns == int(datetime(2024, 5, 1, 10, tzinfo=UTC).timestamp()) * 10**9 + 250_000_000


def test_unrecognized_payloads() -> None:
    for value in ({"kind": 0}, {"kind": "Pod"}, {"kind": "EventList", "items": {}}, "text", 5, None):
        parsed = events_of(value)
        assert (parsed.events, parsed.unrecognized, parsed.recognized) == ([], 1, False), value
    assert events_of({"kind": "EventList", "items": []}).recognized  # empty, but audit data


def test_array_keeps_recognized_events_beside_unrecognized_parts() -> None:
    parsed = events_of([audit_event("get", "pods"), {"kind": 0}, 3])
    assert (len(parsed.events), parsed.unrecognized, parsed.recognized) == (1, 2, True)


def test_events_without_readable_stage_timestamp_are_dropped() -> None:
    good = audit_event("get", "pods")
    missing = {k: v for k, v in good.items() if k != "stageTimestamp"}
    parsed = events_of({"kind": "EventList", "items": [missing, {**good, "stageTimestamp": "yesterday"}, good, 7]})
    assert (len(parsed.events), parsed.no_timestamp, parsed.audit_items) == (1, 3, 4)


def test_events_larger_than_the_limit_are_dropped() -> None:
    small = audit_event("get", "pods")
    big = audit_event("create", "configmaps", request={"data": {"blob": "x" * 5000}})
    parsed = events_of({"kind": "EventList", "items": [small, big]}, max_event_bytes=2048)
    assert (len(parsed.events), parsed.too_large) == (1, 1)
    limit = len(compact_json(big))
    assert len(events_of(big, max_event_bytes=limit).events) == 1
    assert events_of(big, max_event_bytes=limit - 1).too_large == 1


def test_invalid_json_raises_value_error() -> None:
    parser = AuditParser(1024)
    for data in (b"{", b"NaN", b'{"a": Infinity}', b"\xff\xfe{", b"[" * 100_000 + b"]" * 100_000):
        with pytest.raises(ValueError):
            parser.parse(data)


def test_lone_surrogates_still_serialize() -> None:
    event = audit_event("get", "pods", userAgent="\ud800")
    [(_, body)] = AuditParser(262144).parse(json.dumps(event)).events
    assert json.loads(body)["userAgent"] == "\ud800"
