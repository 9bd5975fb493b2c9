"""What every plugin source shares: the raw event batch, field extraction into columns, and the source contract.

A plugin source (k8s audit, CloudTrail, GitHub, Okta) produces events that each carry one JSON document, as
Falco's plugins do. The pipeline moves them as raw batches (`RAW_SCHEMA`: number, time, payload) tagged with
their source in the schema metadata; the capture stage turns a raw batch into the field columns the source's
rules read (`FieldExtractor.columns`), so the workers evaluate plugin batches exactly like syscall batches.

Extraction is a function of one JSON document per field, so it runs once per event and field (JSON has no
columnar form to gather from); it happens in the source's capture process, for the fields the loaded rules
use only. Plugin sources carry hundreds of events per second, not millions.
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, ClassVar, Iterable, Protocol

import orjson
import pyarrow as pa

from rules import output_format
from rules.fields import REGISTRY, normalize_ref
from rules.fields.base import FieldInfo, FieldRegistry
from rules.parser import parse_field_ref

SOURCE_KEY = b"saker.source"
PAYLOAD = "saker.payload"
RAW_SCHEMA = pa.schema([("evt.num", pa.uint64()), ("evt.rawtime", pa.uint64()), (PAYLOAD, pa.binary())])


@dataclass
class PluginEvent:
    """One event of a plugin source: its number in the source (from 1), time (ns since the epoch) and JSON."""

    num: int
    time_ns: int
    payload: bytes

    @cached_property
    def doc(self) -> Any:
        """The parsed JSON document; None when the payload is not JSON. orjson parses several times faster
        than the standard library (parsing is most of a plugin event's cost); the standard parser takes what
        orjson refuses but JSON allows (integers beyond 64 bits)."""
        try:
            return orjson.loads(self.payload)
        except orjson.JSONDecodeError:
            pass
        try:
            return json.loads(self.payload)
        except ValueError:
            return None


# A field's value for one event: `fn(event, argument) -> value`; None = absent, a list for list fields.
FieldFn = Callable[[PluginEvent, "str | None"], Any]


def raw_batch(source: str, events: list[PluginEvent]) -> pa.RecordBatch:
    """Events of one source as a raw batch, tagged with the source name."""
    arrays = [pa.array([e.num for e in events], pa.uint64()), pa.array([e.time_ns for e in events], pa.uint64()),
              pa.array([e.payload for e in events], pa.binary())]
    return pa.RecordBatch.from_arrays(arrays, schema=RAW_SCHEMA.with_metadata({SOURCE_KEY: source.encode()}))


def batch_source(batch: pa.RecordBatch) -> str:
    """The event source a batch belongs to: the tag of a plugin batch, else `syscall`."""
    metadata = batch.schema.metadata or {}
    return metadata.get(SOURCE_KEY, b"syscall").decode()


def events_of(batch: pa.RecordBatch) -> list[PluginEvent]:
    nums = batch.column("evt.num").to_pylist()
    times = batch.column("evt.rawtime").to_pylist()
    payloads = batch.column(PAYLOAD).to_pylist()
    return [PluginEvent(n, t, p) for n, t, p in zip(nums, times, payloads)]


# ---- JSON pointers (the json plugin) ---------------------------------------------------------------------

_MISSING = object()


def json_pointer(doc: Any, pointer: str) -> Any:
    """The value at an RFC 6901 pointer (leading `/` optional, `~1` = `/`, `~0` = `~`); `_MISSING` if none."""
    if pointer in ("", "/"):
        return doc if pointer == "" else _lookup(doc, "")
    value = doc
    for token in pointer.lstrip("/").split("/"):
        value = _lookup(value, token.replace("~1", "/").replace("~0", "~"))
        if value is _MISSING:
            break
    return value


def _lookup(value: Any, token: str) -> Any:
    if isinstance(value, dict):
        return value.get(token, _MISSING)
    if isinstance(value, list) and token.isdigit() and int(token) < len(value):
        return value[int(token)]
    return _MISSING


def json_text(value: Any) -> str | None:
    """How the json plugin renders a value: strings as they are, anything else as compact JSON."""
    if value is _MISSING:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _json_value(event: PluginEvent, arg: str | None) -> str | None:
    return None if event.doc is None else json_text(json_pointer(event.doc, arg or ""))


def _json_obj(event: PluginEvent, _arg: str | None) -> str | None:
    return None if event.doc is None else json.dumps(event.doc, indent=2, ensure_ascii=False)


def _time(render: Callable[[int], Any]) -> FieldFn:
    return lambda event, _arg: render(event.time_ns)


# ---- extraction ------------------------------------------------------------------------------------------

class FieldExtractor:
    """Field values of one source's events. Subclasses set the class attributes `source` and `plugin`, fill
    `self.fields` (catalog name -> FieldFn) in `__init__`, and may override `observe` to keep bounded state
    that fields read (Okta's MFA counters) and `summary` for evt.plugininfo."""

    source: ClassVar[str]
    plugin: ClassVar[str]
    stateful: ClassVar[frozenset[str]] = frozenset()  # fields whose value depends on earlier events

    def __init__(self, *, hostname: str | None = None, section: Any = None, registry: FieldRegistry = REGISTRY) -> None:
        self.registry = registry
        self.section = section  # this source's config section (None in tests that need no settings)
        self.fields: dict[str, FieldFn] = {}
        self._resolved: dict[str, tuple[FieldInfo, str | None] | None] = {}
        self.hostname = hostname or socket.gethostname()
        self.common: dict[str, FieldFn] = {
            "evt.num": lambda e, _a: e.num,
            "evt.rawtime": lambda e, _a: e.time_ns,
            "evt.rawtime.s": lambda e, _a: e.time_ns // 1_000_000_000,
            "evt.rawtime.ns": lambda e, _a: e.time_ns % 1_000_000_000,
            "evt.time": _time(output_format.format_time),
            "evt.time.s": _time(output_format.format_time_s),
            "evt.time.iso8601": _time(output_format.format_time_iso8601),
            "evt.datetime": _time(output_format.format_datetime),
            "evt.datetime.s": _time(output_format.format_datetime_s),
            "evt.pluginname": lambda _e, _a: self.plugin,
            "evt.plugininfo": lambda e, _a: self.summary(e),
            "evt.source": lambda _e, _a: self.source,
            "evt.hostname": lambda _e, _a: self.hostname,
            "json.value": _json_value, "jevt.value": _json_value,
            "json.obj": _json_obj, "jevt.obj": _json_obj,
            "json.rawtime": lambda e, _a: str(e.time_ns), "jevt.rawtime": lambda e, _a: str(e.time_ns),
        }

    def observe(self, events: list[PluginEvent]) -> None:
        """Called once per batch, in event order, before its fields are read."""

    def summary(self, event: PluginEvent) -> str:
        """`evt.plugininfo`: the whole document as compact JSON unless the source says better."""
        return event.payload.decode(errors="replace")

    def columns(self, raw: pa.RecordBatch, wanted: Iterable[str], *, keep_payload: bool = False) -> pa.RecordBatch:
        """The raw batch's number and time with one column per wanted field (canonical names such as
        `jevt.value[/stage]`), and the payload too if `keep_payload` (for `complete` later). Runs `observe`
        first: this is the call that sees every event, in order."""
        events = events_of(raw)
        self.observe(events)
        base = ["evt.num", "evt.rawtime"] + ([PAYLOAD] if keep_payload else [])
        names, arrays = self._field_arrays(events, set(wanted) - set(base))
        return _with_columns(raw.select(base), names, arrays, self.source)

    def complete(self, rows: pa.RecordBatch, wanted: Iterable[str]) -> pa.RecordBatch:
        """`rows` (a batch that kept its payload) with the wanted fields added: the output fields of the
        events a rule matched, computed for those events only. Never for stateful fields (`stateful`): those
        depend on every event before, so the capture stage computes them (`columns`)."""
        wanted = set(wanted) - set(rows.schema.names)
        names, arrays = self._field_arrays(events_of(rows), wanted)
        return _with_columns(rows, names, arrays, self.source)

    def is_stateful(self, text: str) -> bool:
        found = self._field(text)
        return found is not None and found[0].name in self.stateful

    def _field_arrays(self, events: list[PluginEvent], wanted: set[str]) -> tuple[list[str], list[pa.Array]]:
        names, arrays = [], []
        for text in sorted(wanted):
            found = self._field(text)
            fn = found and (self.fields.get(found[0].name) or self.common.get(found[0].name))
            if not fn:
                continue  # not a field of this source (the engine's evt.type), or one it never yields: absent
            info, arg = found
            names.append(text)
            arrays.append(_array([fn(event, arg) for event in events], info))
        return names, arrays

    def _field(self, text: str) -> tuple[FieldInfo, str | None] | None:
        """The catalog field a column name refers to, with its argument; None if this source has no such field."""
        if text not in self._resolved:
            try:
                ref = normalize_ref(self.registry, self.source, parse_field_ref(text))
                self._resolved[text] = self.registry.get(self.source, ref.name), ref.arg
            except ValueError:
                self._resolved[text] = None
        return self._resolved[text]


def _with_columns(batch: pa.RecordBatch, names: list[str], arrays: list[pa.Array], source: str) -> pa.RecordBatch:
    fields = [pa.field(n, a.type) for n, a in zip(batch.schema.names + names, list(batch.columns) + arrays)]
    return pa.RecordBatch.from_arrays(list(batch.columns) + arrays,
                                      schema=pa.schema(fields, metadata={SOURCE_KEY: source.encode()}))


def _array(values: list[Any], info: FieldInfo) -> pa.Array:
    kind = info.type.arrow_type
    if info.is_list:
        return pa.array([v if v else None for v in values], pa.list_(kind))  # empty list = absent
    return pa.array(values, kind)


# ---- ingestion -------------------------------------------------------------------------------------------

Emit = Callable[[list[tuple[int, bytes]]], None]
"""Hand events over, in order: (time in ns since the epoch, JSON payload) pairs; one call per arrival."""


class Ingest(Protocol):
    """Brings one source's events in (a webhook server, a file reader, a poller), in its own thread."""

    def run(self, emit: Emit, stop: threading.Event) -> None:
        """Deliver events until `stop` is set or the input ends (files), then return. Must not raise for a bad
        request or a bad event: log and count it, and go on."""

    def counters(self) -> dict[str, int]:
        """This source's own counts (requests, refused, events dropped...), for metrics."""


@dataclass(frozen=True)
class PluginSpec:
    """A built-in plugin source: the names rule files require and how to make its parts from the config."""

    source: str  # event source name rules use in `source:`
    plugin: str  # plugin name `required_plugin_versions` refers to
    version: str  # upstream plugin version whose fields and behaviour this one matches
    extractor: Callable[..., FieldExtractor]
    ingest: Callable[[Any], Ingest]  # from this source's config section
    aliases: tuple[str, ...] = field(default=())  # other plugin names that provide the same source
