"""Fields every plugin source has: the generic `evt.*` ones and the json extractor's `json.*` / `jevt.*`.

Falco's plugin events (k8s_audit, aws_cloudtrail, github, okta) each carry one JSON document. The engine gives
them a few generic event fields, and the json plugin, an extractor for every source, reads any value of the
document by JSON pointer. Each source's own table module (`rules/fields/k8saudit.py`...) starts its
`CLASSES` with `plugin_classes(SOURCE)`.
"""

from __future__ import annotations

from rules.fields.base import FieldClass, FieldType
from rules.fields.table import row

T = FieldType


def _generic_event_fields(source: str) -> tuple:
    return (
        row("evt.num", T.UINT64, "Sequence number of the event in its source, counting from 1.", source=source),
        row("evt.time", T.CHARBUF, "Event time as local time of day with nanoseconds.", source=source),
        row("evt.time.s", T.CHARBUF, "Event time as local time of day in whole seconds.", source=source),
        row("evt.time.iso8601", T.CHARBUF, "Event time in ISO 8601, UTC, nanosecond precision.", source=source),
        row("evt.datetime", T.CHARBUF, "Local date and time of the event with nanoseconds.", source=source),
        row("evt.datetime.s", T.CHARBUF, "Local date and time of the event in whole seconds.", source=source),
        row("evt.rawtime", T.ABSTIME, "Event time in nanoseconds since the Unix epoch.", source=source),
        row("evt.rawtime.s", T.ABSTIME, "Whole-seconds part of evt.rawtime.", source=source),
        row("evt.rawtime.ns", T.ABSTIME, "Nanoseconds part of evt.rawtime.", source=source),
        row("evt.pluginname", T.CHARBUF, "The built-in plugin that produced the event.", source=source),
        row("evt.plugininfo", T.CHARBUF, "A one-line summary of the event, as the plugin renders it.", source=source),
        row("evt.source", T.CHARBUF, f"Name of the event source, here {source}.", source=source),
        row("evt.hostname", T.CHARBUF, "Host name of the sensor (SAKER_HOSTNAME overrides).", source=source),
    )


def _json_fields(source: str, prefix: str, note: str) -> tuple:
    return (
        row(f"{prefix}.value", T.CHARBUF,
            "A value of the event's JSON by RFC 6901 pointer, e.g. [/user/username]; strings as text, other "
            f"JSON compactly encoded; absent when the pointer finds nothing.{note}", "arg key", source=source),
        row(f"{prefix}.obj", T.CHARBUF, f"The whole event as indented JSON.{note}", source=source),
        row(f"{prefix}.rawtime", T.CHARBUF, f"The event time in nanoseconds, as decimal text.{note}", source=source),
    )


def plugin_classes(source: str) -> tuple[FieldClass, ...]:
    """The generic event fields and the json extractor's fields, for one plugin source."""
    return (
        FieldClass("evt", source, "Generic fields of a plugin event.", _generic_event_fields(source)),
        FieldClass("json", source, "Values of the event's JSON document (the json plugin's fields).",
                   _json_fields(source, "json", "")),
        FieldClass("jevt", source, "Old names of the json fields, kept for older rule files.",
                   _json_fields(source, "jevt", " Old name of the json.* field.")),
    )
