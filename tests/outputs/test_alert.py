"""Alert documents: Falco's JSON alert and text line, and the spool record round trip."""

from __future__ import annotations

import json
import time

from rules.priority import Priority
from stages.alert import Alert, internal_alert
from tests.outputs.conftest import T0, make_alert, make_config


def _local_clock(ns: int) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ns // 1_000_000_000)) + f".{ns % 1_000_000_000:09d}"


def test_json_document_matches_falco_key_order_and_values():
    """The JSON document has Falco's keys in alphabetical order, UTC time with 9 digits and evt.time in ns."""
    alert = make_alert(fields={"proc.name": "cat", "k8s.pod.name": None}, tags=("container", "T1555"))
    line = alert.to_falco_json(make_config())
    document = json.loads(line)
    assert list(document) == ["hostname", "output", "output_fields", "priority", "rule", "source", "tags", "time"]
    assert document["time"] == "2026-01-31T09:41:22.118204311Z"
    assert document["output"] == f"{_local_clock(T0)}: Warning file opened (n=0 file=/etc/shadow)"
    assert document["output_fields"] == {"evt.time": T0, "k8s.pod.name": None, "proc.name": "cat"}
    assert document["tags"] == ["T1555", "container"]
    assert document["priority"] == "Warning" and document["rule"] == "Read sensitive file"
    assert document["hostname"] == "build-07" and document["source"] == "syscall"


def test_json_include_switches_are_honoured():
    """json_include_* drop output, output_fields and tags, and add message."""
    config = make_config(json_include_output_property=False, json_include_output_fields_property=False,
                         json_include_tags_property=False, json_include_message_property=True)
    document = json.loads(make_alert().to_falco_json(config))
    assert list(document) == ["hostname", "message", "priority", "rule", "source", "time"]
    assert document["message"] == "file opened (n=0 file=/etc/shadow)"


def test_text_line_local_and_iso8601():
    """The text line is `<time>: <Priority> <message>`, local clock or ISO 8601 UTC."""
    alert = make_alert(priority=Priority.CRITICAL)
    assert alert.to_text(make_config()) == f"{_local_clock(T0)}: Critical file opened (n=0 file=/etc/shadow)"
    assert alert.to_text(make_config(time_format_iso_8601=True)) == (
        "2026-01-31T09:41:22.118204311+0000: Critical file opened (n=0 file=/etc/shadow)")


def test_collapsed_alert_carries_count_in_json_and_text():
    """A dedup-collapsed alert has a leading `count` key and an (xN) suffix."""
    alert = make_alert().with_count(4)
    line = alert.to_falco_json(make_config())
    assert line.startswith('{"count":4,"hostname":"build-07",')
    assert json.loads(line)["count"] == 4
    assert alert.to_text(make_config()).endswith("file opened (n=0 file=/etc/shadow) (x4)")


def test_record_round_trip_keeps_every_attribute():
    """to_record/from_record give back an equal alert (bytes become text)."""
    alert = Alert(rule="r", priority=Priority.DEBUG, source="k8s_audit", time_ns=5, message="m",
                  output_fields={"a": [1, "x"], "b": None, "c": True}, tags=("t",), hostname="h", count=2)
    assert Alert.from_record(json.loads(alert.record_line())) == alert
    with_bytes = Alert(rule="r", priority=Priority.DEBUG, source="s", time_ns=5, message="m",
                       output_fields={"buf": b"ab\xff"})
    assert Alert.from_record(with_bytes.to_record()).output_fields == {"buf": "ab\ufffd"}


def test_internal_alert_has_internal_source_and_no_tags():
    """Saker's own alerts use source `internal`."""
    alert = internal_alert("Saker internal: x", "hello", priority=Priority.WARNING, time_ns=1, hostname="h")
    assert (alert.source, alert.tags, alert.priority_name) == ("internal", (), "Warning")
