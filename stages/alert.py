"""An alert as the output stage sees it, and its two wire forms: Falco's JSON document and Falco's text line.

The formatting itself lives in `rules.output_format` (time formats, key order, `evt.time` in output_fields);
this module only carries the values and picks the config switches. `to_record`/`from_record` give a plain
JSON-safe dict for the on-disk spool, so an alert read back after a restart is the alert that was written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from rules.output_format import alert_text, falco_alert_json
from rules.priority import Priority


class FormatSwitches(Protocol):
    """The config keys that shape alert documents (satisfied by `config.schema.Config`)."""

    json_include_output_property: bool
    json_include_message_property: bool
    json_include_output_fields_property: bool
    json_include_tags_property: bool
    time_format_iso_8601: bool


@dataclass(frozen=True)
class Alert:
    """One rule match ready for the outputs.

    `message` is the rendered rule output (no time or priority prefix); `count` > 1 when the router's dedup
    window collapsed that many identical alerts into this one.
    """

    rule: str
    priority: Priority
    source: str
    time_ns: int
    message: str
    output_fields: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    hostname: str = ""
    count: int = 1

    @property
    def priority_name(self) -> str:
        """`Emergency` ... `Debug`, as alerts print it."""
        return self.priority.canonical

    def to_falco_json(self, config: FormatSwitches) -> str:
        """Falco's JSON alert document (one line, keys sorted); `count` added only for a collapsed alert."""
        document = falco_alert_json(
            hostname=self.hostname, rule=self.rule, priority=self.priority_name, source=self.source,
            time_ns=self.time_ns, message=self.message, tags=self.tags, output_fields=self.output_fields,
            iso8601=config.time_format_iso_8601,
            include_output=config.json_include_output_property,
            include_message=config.json_include_message_property,
            include_output_fields=config.json_include_output_fields_property,
            include_tags=config.json_include_tags_property,
        )
        if self.count > 1:
            # "count" sorts before "hostname", the document's first key: keep the alphabetical order.
            document = '{"count":%d,%s' % (self.count, document[1:])
        return document

    def to_text(self, config: FormatSwitches) -> str:
        """Falco's text alert `<time>: <Priority> <message>`, with ` (xN)` for a collapsed alert."""
        line = alert_text(self.time_ns, self.priority_name, self.message, iso8601=config.time_format_iso_8601)
        return f"{line} (x{self.count})" if self.count > 1 else line

    def render(self, config: FormatSwitches, *, json_output: bool) -> str:
        """The alert as stdout, file, syslog and program outputs write it (JSON or text per `json_output`)."""
        return self.to_falco_json(config) if json_output else self.to_text(config)

    def with_count(self, count: int) -> "Alert":
        return replace(self, count=count)

    def to_record(self) -> dict[str, Any]:
        """A JSON-safe dict (bytes become text) that `from_record` turns back into the same alert."""
        return {
            "rule": self.rule, "priority": int(self.priority), "source": self.source, "time_ns": self.time_ns,
            "message": self.message, "output_fields": _json_safe(self.output_fields), "tags": list(self.tags),
            "hostname": self.hostname, "count": self.count,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "Alert":
        return cls(
            rule=record["rule"], priority=Priority(record["priority"]), source=record["source"],
            time_ns=int(record["time_ns"]), message=record["message"], output_fields=record["output_fields"],
            tags=tuple(record["tags"]), hostname=record["hostname"], count=int(record.get("count", 1)),
        )

    def record_line(self) -> bytes:
        """The spool's on-disk form: one JSON object and a newline."""
        return json.dumps(self.to_record(), ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def internal_alert(rule: str, message: str, *, priority: Priority, time_ns: int, hostname: str,
                   output_fields: dict[str, Any] | None = None) -> Alert:
    """An alert Saker raises about itself (`source: internal`, no tags), like Falco's `Falco internal: ...`."""
    return Alert(rule=rule, priority=priority, source="internal", time_ns=time_ns, message=message,
                 output_fields=dict(output_fields or {}), hostname=hostname)
