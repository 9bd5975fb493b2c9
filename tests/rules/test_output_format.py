"""Tests for rules.output_format: % tokens, rendering of batch rows, time formats, the JSON alert."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from rules import ast
from rules.fields import REGISTRY
from rules.output_format import (OutputFormatError, alert_text, falco_alert_json, format_datetime,
                                 format_json_time, format_time, format_time_iso8601, parse_output)
from tests.rules import stable_file

NS = 1769852482118204311  # 2026-01-31T09:41:22.118204311Z


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    """Local-time formats are tested in UTC."""
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


def compile_output(text: str):
    return parse_output(text, source="syscall", registry=REGISTRY)


def batch() -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({
        "proc.name": pa.array(["bash", None, "cat"]).dictionary_encode(),
        "proc.aname": pa.array([["sshd", "systemd"], ["a", "b", "c"], None]),
        "evt.arg.flags": ["O_RDONLY", None, "O_RDWR"],
        "proc.tty": pa.array([34816, 0, None], pa.uint32()),
        "fd.connected": [True, False, None],
        "fd.types": pa.array([["file", "ipv4"], [], None]),
        "evt.rawtime": pa.array([NS, NS + 1, 0], pa.uint64()),
    })


def test_tokens_and_fields() -> None:
    """Tokens keep their text as written; the batch must provide the referenced columns."""
    output = compile_output("a %proc.name %proc.aname[2] %evt.arg.flags %fd.net %tolower(proc.name) %evt.time")
    assert [t.key for t in output.tokens] == ["proc.name", "proc.aname[2]", "evt.arg.flags", "fd.net",
                                              "tolower(proc.name)", "evt.time"]
    assert [f.text for f in output.fields] == ["proc.name", "proc.aname[2]", "evt.arg.flags", "evt.rawtime"]


def test_longest_field_prefix() -> None:
    """`%proc.exepath.x` is the field proc.exepath followed by the text `.x`."""
    output = compile_output("%proc.exepath.x)")
    assert [t.key for t in output.tokens] == ["proc.exepath"]
    assert output.segments[1] == ".x)"


@pytest.mark.parametrize("text,message,offset", [
    ("abc %", "invalid formatting token '%': '%' at the end of the output", 4),
    ("abc %12", "invalid formatting token '%12': '%' at the end of the output", 4),
    ("x %proc.namex y", "unknown filter: proc.namex", 2),
    ("% x", "invalid formatting token '% '", 0),
    ("%proc.aname[x]", "invalid argument 'x' for field 'proc.aname': expected a number", 0),
    ("%evt.arg", "field 'evt.arg' requires an argument", 0),
    ("%tolower(proc.aname)", "'tolower' transformer is not supported on field 'proc.aname'", 0),
])
def test_output_errors(text: str, message: str, offset: int) -> None:
    """Bad tokens raise OutputFormatError with message and position."""
    with pytest.raises(OutputFormatError) as info:
        compile_output(text)
    assert (info.value.message, info.value.pos.offset) == (message, offset)


def test_render() -> None:
    """Values print as Falco prints them; missing and filter-only values print <NA>."""
    output = compile_output("%proc.name %proc.aname %proc.aname[1] %proc.aname[0] %evt.arg.flags %proc.tty "
                            "%fd.connected %fd.types %fd.net %toupper(proc.name) %evt.time")
    assert output.render(batch(), [0, 2]) == [
        "bash sshd systemd sshd bash O_RDONLY 34816 true (file,ipv4) <NA> BASH 09:41:22.118204311",
        "cat <NA> <NA> cat O_RDWR <NA> <NA> <NA> <NA> CAT 00:00:00.000000000",
    ]


def test_render_width() -> None:
    """`%Nfield` pads or cuts to N characters."""
    assert compile_output("[%6proc.name][%2proc.name]").render(batch(), [0]) == ["[bash  ][ba]"]


def test_a_buffer_prints_and_reaches_the_json_fields_with_unprintable_bytes_as_dots() -> None:
    output = compile_output("data=%evt.buffer")
    buffers = pa.RecordBatch.from_pydict({"evt.buffer": pa.array([b"\x7fELF\x02\x01", None], pa.binary())})
    assert output.render(buffers, [0, 1]) == ["data=.ELF..", "data=<NA>"]
    assert output.output_fields(buffers, [0, 1]) == [{"evt.buffer": ".ELF.."}, {"evt.buffer": None}]


def test_output_fields_are_typed() -> None:
    """output_fields keeps types, lists stay lists, missing values are None, transformed tokens are absent."""
    output = compile_output("%proc.name %proc.tty %fd.connected %fd.types %proc.aname %toupper(proc.name) %fd.net")
    assert output.output_fields(batch(), [0, 1]) == [
        {"proc.name": "bash", "proc.tty": 34816, "fd.connected": True, "fd.types": ["file", "ipv4"],
         "proc.aname": "sshd systemd", "fd.net": None},
        {"proc.name": None, "proc.tty": 0, "fd.connected": False, "fd.types": [], "proc.aname": "a b c",
         "fd.net": None},
    ]


def test_time_formats() -> None:
    """Falco's time renderings of one timestamp."""
    assert format_time(NS) == "09:41:22.118204311"
    assert format_time_iso8601(NS) == "2026-01-31T09:41:22.118204311+0000"
    assert format_datetime(NS) == "2026-01-31 09:41:22.118204311"
    assert format_json_time(NS) == "2026-01-31T09:41:22.118204311Z"
    assert alert_text(NS, "Warning", "msg") == "09:41:22.118204311: Warning msg"
    assert alert_text(NS, "Warning", "msg", iso8601=True) == "2026-01-31T09:41:22.118204311+0000: Warning msg"


def test_falco_alert_json() -> None:
    """The JSON alert has Falco's keys in alphabetical order, sorted tags and evt.time in ns."""
    text = falco_alert_json(hostname="build-07", rule="R", priority="Warning", source="syscall", time_ns=NS,
                            message="m", tags=["b", "a", "b"], output_fields={"proc.name": "cat", "x": None})
    assert text == (
        '{"hostname":"build-07","output":"09:41:22.118204311: Warning m","output_fields":{"evt.time":'
        '1769852482118204311,"proc.name":"cat","x":null},"priority":"Warning","rule":"R","source":"syscall",'
        '"tags":["a","b"],"time":"2026-01-31T09:41:22.118204311Z"}'
    )


def test_falco_alert_json_optional_keys() -> None:
    """message is opt-in; output, output_fields and tags can be left out."""
    document = json.loads(falco_alert_json(
        hostname="h", rule="R", priority="Notice", source="syscall", time_ns=NS, message="m",
        include_output=False, include_output_fields=False, include_tags=False, include_message=True))
    assert list(document) == ["hostname", "message", "priority", "rule", "source", "time"]


def test_every_stable_output_compiles() -> None:
    """All 25 stable rule outputs compile and need only catalog columns."""
    for rule in stable_file.rules():
        output = compile_output(rule["output"].strip())
        assert output.tokens, rule["rule"]
        assert all(isinstance(f, ast.FieldRef) for f in output.fields)


def test_deprecated_fields_are_listed() -> None:
    """Deprecated fields in an output are reported for the loader's warning."""
    assert compile_output("%evt.dir %proc.name %evt.latency").deprecated_fields == ["evt.dir", "evt.latency"]
