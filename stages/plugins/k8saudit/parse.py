"""Turn a JSON payload into k8s audit events: what the API server's webhook posts and what audit logs hold.

A payload is an `EventList` (`{"kind": "EventList", "items": [Event, ...]}`, the webhook backend's body), a
single `Event`, or a JSON array of those, nested to any depth. Each Event becomes one event whose time is
its `stageTimestamp` (RFC 3339 with up to nanoseconds) and whose payload is the Event re-serialized as
compact JSON. Events without a readable `stageTimestamp` and events bigger than the size limit are dropped;
parts of a payload that are none of the above are not recognized. This module only parses and counts; the
caller logs and decides what to reply.

Unlike upstream, an array with one unrecognized element keeps its other events (upstream drops them all).
"""

from __future__ import annotations

import json
import re

import orjson
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

NOT_RECOGNIZED = "data not recognized as a k8s audit event"

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:(Z)|([+-])(\d{2}):(\d{2}))\Z")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def rfc3339_ns(value: Any) -> int | None:
    """Nanoseconds since the epoch of an RFC 3339 time (`2018-10-26T13:42:46.808261Z`, `...+02:00`).

    None when it is not such a text, names an impossible date, or lies before the epoch. Digits past the
    ninth fractional one are cut, as Go's time.Parse does.
    """
    match = _RFC3339.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.group(1, 2, 3, 4, 5, 6))
    fraction, zulu, sign, off_hours, off_minutes = match.group(7, 8, 9, 10, 11)
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None
    if not zulu:
        offset = timedelta(hours=int(off_hours), minutes=int(off_minutes))
        if offset >= timedelta(hours=24):
            return None
        moment -= offset if sign == "+" else -offset
    whole = moment - _EPOCH
    if whole < timedelta(0):
        return None
    nanos = int((fraction or "").ljust(9, "0")[:9])
    return (whole.days * 86_400 + whole.seconds) * 1_000_000_000 + nanos


def compact_json(value: Any) -> bytes:
    """`value` as compact UTF-8 JSON (orjson: several times faster than the standard library); what orjson
    refuses (integers beyond 64 bits, strings holding lone surrogates) goes through the standard encoder,
    lone surrogates as ASCII escapes."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        pass
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return json.dumps(value, separators=(",", ":")).encode()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def load_json(data: bytes | str) -> Any:
    """Strict JSON (no NaN/Infinity); ValueError for anything else, including nesting too deep to parse.
    orjson first (fast, strict); the standard parser for what orjson refuses but JSON allows (integers beyond
    64 bits)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(data, parse_constant=_reject_constant)
    except RecursionError as error:
        raise ValueError("JSON nested too deeply") from error


@dataclass
class Parsed:
    """What one payload held."""

    events: list[tuple[int, bytes]] = field(default_factory=list)  # (time ns, compact Event JSON)
    audit_items: int = 0  # Events found, kept or dropped
    unrecognized: int = 0  # parts that were neither EventList, Event nor array
    no_timestamp: int = 0  # Events dropped: stageTimestamp missing or unreadable
    too_large: int = 0  # Events dropped: bigger than the size limit

    @property
    def recognized(self) -> bool:
        """Whether the payload held audit data at all (an empty EventList counts)."""
        return self.unrecognized == 0 or self.audit_items > 0


class AuditParser:
    """Splits payloads into events; `max_event_bytes` bounds one re-serialized Event."""

    def __init__(self, max_event_bytes: int) -> None:
        self.max_event_bytes = max_event_bytes

    def parse(self, data: bytes | str) -> Parsed:
        """The events of a JSON payload; ValueError when it is not JSON."""
        return self.parse_value(load_json(data))

    def parse_value(self, value: Any) -> Parsed:
        parsed = Parsed()
        pending = [value]  # a stack, not recursion: arrays may nest as deep as the JSON parser allowed
        while pending:
            item = pending.pop()
            if isinstance(item, list):
                pending.extend(reversed(item))
            elif isinstance(item, dict) and item.get("kind") == "EventList" and isinstance(item.get("items"), list):
                for event in item["items"]:
                    self._add_event(event, parsed)
            elif isinstance(item, dict) and item.get("kind") == "Event":
                self._add_event(item, parsed)
            else:
                parsed.unrecognized += 1
        return parsed

    def _add_event(self, event: Any, parsed: Parsed) -> None:
        parsed.audit_items += 1
        time_ns = rfc3339_ns(event.get("stageTimestamp")) if isinstance(event, dict) else None
        if time_ns is None:
            parsed.no_timestamp += 1
            return
        payload = compact_json(event)
        if len(payload) > self.max_event_bytes:
            parsed.too_large += 1
            return
        parsed.events.append((time_ns, payload))
