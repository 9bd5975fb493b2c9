"""One CloudTrail log file into events: gunzip, split `{"Records":[…]}` into records, keep the valid ones.

A log file is one JSON object whose `Records` array holds the records. Like the cloudtrail plugin, the file is
not decoded as a whole: each object nested directly in the top-level object is cut out by counting braces,
so an event's payload is the record's original bytes, byte for byte. Unlike upstream, the counting skips
braces inside JSON strings (a `{` in a user agent or a policy document cannot split a record).

A record becomes an event when it parses as a JSON object with an RFC 3339 `eventTime` string and an
`eventType` string other than `AwsCloudTrailInsight`; every other record is skipped and counted by reason.
"""

from __future__ import annotations

import calendar
import gzip
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

GZIP_MAGIC = b"\x1f\x8b"

# A JSON string (escapes included) or a brace: strings are matched whole so their braces do not count.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[{}]', re.DOTALL)
_OPEN, _QUOTE = ord("{"), ord('"')

_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|([+-])(\d{2}):(\d{2}))\Z")

INSIGHT = "AwsCloudTrailInsight"


@dataclass
class LogFileEvents:
    """What one log file gave: events as (time ns, record bytes), and skipped records by reason."""

    events: list[tuple[int, bytes]] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)


class NotALogFile(ValueError):
    """The content is not a CloudTrail log file (not gzip of JSON, or no JSON object)."""


def decode(data: bytes) -> bytes:
    """The file's JSON text: gunzipped when it starts with the gzip magic bytes, whatever its name."""
    if data[:2] != GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError) as error:  # bad or truncated gzip stream
        raise NotALogFile(f"corrupt gzip data: {error}") from error


def events_of(data: bytes) -> LogFileEvents:
    """The events of one log file (gzipped or not). Raises NotALogFile when it is not a JSON object."""
    text = decode(data)
    if not text.lstrip()[:1] == b"{":
        raise NotALogFile("the content is not a JSON object")
    result = LogFileEvents()
    for record in record_spans(text):
        event_or_reason = _event(record)
        if isinstance(event_or_reason, str):
            result.skipped[event_or_reason] += 1
        else:
            result.events.append(event_or_reason)
    return result


def record_spans(text: bytes) -> Iterator[bytes]:
    """Each object nested directly in the top-level object, as its original bytes."""
    depth, start = 0, 0
    for token in _TOKENS.finditer(text):
        first = text[token.start()]
        if first == _QUOTE:
            continue
        if first == _OPEN:
            if depth == 1:
                start = token.start()
            depth += 1
            continue
        depth = max(depth - 1, 0)
        if depth == 1:
            yield text[start:token.end()]


def _event(record: bytes) -> tuple[int, bytes] | str:
    """(time ns, payload) for a valid record, else the reason it is skipped."""
    try:
        doc = json.loads(record, parse_constant=_not_json)
    except ValueError:
        return "unparsable"
    if not isinstance(doc, dict):
        return "unparsable"
    event_time = doc.get("eventTime")
    if not isinstance(event_time, str):
        return "no_time"
    time_ns = rfc3339_ns(event_time)
    if time_ns is None:
        return "bad_time"
    event_type = doc.get("eventType")
    if not isinstance(event_type, str):
        return "no_type"
    if event_type == INSIGHT:
        return "insight"
    return time_ns, record


def _not_json(constant: str) -> None:
    """NaN and Infinity are not JSON; Python's reader accepts them unless told not to."""
    raise ValueError(f"{constant} is not JSON")


def rfc3339_ns(text: str) -> int | None:
    """An RFC 3339 time (`2014-03-06T21:22:54Z`, optional fraction and offset) in ns since the epoch; None if
    it is not one or lies before the epoch."""
    match = _RFC3339.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.group(1, 2, 3, 4, 5, 6))
    try:
        datetime(year, month, day, hour, minute, second)  # rejects 2014-02-30, 25:00...
    except ValueError:
        return None
    seconds = calendar.timegm((year, month, day, hour, minute, second))
    if match.group(9):
        offset = int(match.group(10)) * 3600 + int(match.group(11)) * 60
        seconds -= offset if match.group(9) == "+" else -offset
    fraction = int((match.group(7) or "").ljust(9, "0"))
    return None if seconds < 0 else seconds * 1_000_000_000 + fraction
