"""Rule outputs: `%field` tokens compiled against the catalog, rendered for rows of an event batch.

Spec section 7: after `%` an optional width, then the longest prefix that is a field (with `[arg]` or a dotted
argument) or a transformer and compiles. There is no `%%`. Filter-only fields print `<NA>`, like missing
values. Also here: Falco's alert time formats and its JSON alert document.

Columns come from `rules.columns.column_for` (the event batch contract: canonical names, ancestor
fallbacks); dictionary-encoded columns are decoded. The time fields derive from `evt.rawtime` when the
batch has no column of their own.
"""

from __future__ import annotations

import base64
import binascii
import json
import posixpath
import re
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import pyarrow as pa

from rules import ast
from rules.columns import candidate_columns, column_for
from rules.fields.base import FieldInfo, FieldRegistry, FieldType

NA = "<NA>"

_RX_WIDTH = re.compile(r"[0-9]+")
_RX_FIELDNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)+")


class OutputFormatError(ValueError):
    """An output that does not compile; `message`, `pos` (position in the output text)."""

    def __init__(self, message: str, pos: ast.Pos = ast.NOWHERE) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos

    def __str__(self) -> str:
        return self.message


# ----------------------------------------------------------------- time formats

def _split_ns(ns: int) -> tuple[int, int]:
    return divmod(int(ns), 1_000_000_000)


def format_time(ns: int) -> str:
    """`evt.time`: local time of day with nanoseconds, `HH:MM:SS.nnnnnnnnn`."""
    seconds, frac = _split_ns(ns)
    return time.strftime("%H:%M:%S", time.localtime(seconds)) + f".{frac:09d}"


def format_time_s(ns: int) -> str:
    """`evt.time.s`: local time of day, whole seconds."""
    return time.strftime("%H:%M:%S", time.localtime(_split_ns(ns)[0]))


def format_time_iso8601(ns: int) -> str:
    """`evt.time.iso8601`: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnn+0000` in UTC."""
    seconds, frac = _split_ns(ns)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{frac:09d}+0000"


def format_datetime(ns: int) -> str:
    """`evt.datetime`: local `YYYY-MM-DD HH:MM:SS.nnnnnnnnn`."""
    seconds, frac = _split_ns(ns)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds)) + f".{frac:09d}"


def format_datetime_s(ns: int) -> str:
    """`evt.datetime.s`: local `YYYY-MM-DD HH:MM:SS`."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(_split_ns(ns)[0]))


def format_json_time(ns: int) -> str:
    """The JSON alert's `time`: UTC `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`."""
    seconds, frac = _split_ns(ns)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{frac:09d}Z"


_TIME_DERIVED = {
    "evt.time": format_time,
    "evt.time.s": format_time_s,
    "evt.time.iso8601": format_time_iso8601,
    "evt.datetime": format_datetime,
    "evt.datetime.s": format_datetime_s,
    "evt.rawtime.s": lambda ns: _split_ns(ns)[0],
    "evt.rawtime.ns": lambda ns: _split_ns(ns)[1],
}


def alert_text(time_ns: int, priority: str, message: str, *, iso8601: bool = False) -> str:
    """Falco's text alert: `<time>: <Priority> <message>`."""
    stamp = format_time_iso8601(time_ns) if iso8601 else format_time(time_ns)
    return f"{stamp}: {priority} {message}"


def falco_alert_json(*, hostname: str, rule: str, priority: str, source: str, time_ns: int, message: str,
                     tags: Sequence[str] = (), output_fields: dict[str, Any] | None = None,
                     iso8601: bool = False, include_output: bool = True, include_output_fields: bool = True,
                     include_tags: bool = True, include_message: bool = False) -> str:
    """One JSON alert line as Falco writes it: keys in alphabetical order, `evt.time` added as integer ns.

    `message` is the rendered rule output; `output` is the text alert built from it. Object keys are sorted
    at every level, as Falco's JSON library keeps them.
    """
    document: dict[str, Any] = {
        "hostname": hostname,
        "priority": priority,
        "rule": rule,
        "source": source,
        "time": format_json_time(time_ns),
    }
    if include_output:
        document["output"] = alert_text(time_ns, priority, message, iso8601=iso8601)
    if include_message:
        document["message"] = message
    if include_output_fields:
        fields = {key: _json_value(value) for key, value in (output_fields or {}).items()}
        fields["evt.time"] = int(time_ns)
        document["output_fields"] = fields
    if include_tags:
        document["tags"] = sorted(set(tags))
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _json_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return _printable_bytes(value)
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    return value


# ----------------------------------------------------------------- tokens

@dataclass(frozen=True)
class FieldToken:
    """One `%` token: the operand, its text as written (the output_fields key), width, catalog row."""

    key: str
    operand: ast.Operand
    info: FieldInfo
    width: int = 0
    pos: ast.Pos = field(default=ast.NOWHERE, compare=False)

    @property
    def field_ref(self) -> ast.FieldRef:
        return ast.operand_fields(self.operand)


Segment = str | FieldToken


@dataclass(frozen=True)
class OutputFormat:
    """A compiled output: literal text and field tokens in order."""

    text: str
    segments: tuple[Segment, ...]

    @property
    def tokens(self) -> list[FieldToken]:
        return [s for s in self.segments if isinstance(s, FieldToken)]

    @property
    def deprecated_fields(self) -> list[str]:
        """Tokens naming deprecated fields (`evt.dir`, `evt.latency`...): the loader warns about them."""
        return [t.key for t in self.tokens if t.info.deprecated]

    @property
    def fields(self) -> list[ast.FieldRef]:
        """Fields the batch must provide (filter-only ones print <NA>; time fields come from evt.rawtime)."""
        seen: dict[str, ast.FieldRef] = {}
        for token in self.tokens:
            if token.info.filter_only:
                continue
            ref = token.field_ref
            if ref.text in _TIME_DERIVED:
                ref = ast.FieldRef("evt.rawtime", pos=ref.pos)
            seen.setdefault(ref.text, ref)
        return list(seen.values())

    def render(self, batch: pa.RecordBatch, rows: Sequence[int]) -> list[str]:
        """The message for each given row index."""
        columns = [_token_values(batch, s, rows) if isinstance(s, FieldToken) else None for s in self.segments]
        messages = []
        for i in range(len(rows)):
            parts = []
            for segment, values in zip(self.segments, columns):
                if isinstance(segment, str):
                    parts.append(segment)
                else:
                    parts.append(_fit(_display(values[i], segment.info), segment.width))
            messages.append("".join(parts))
        return messages

    def output_fields(self, batch: pa.RecordBatch, rows: Sequence[int]) -> list[dict[str, Any]]:
        """Typed values per row keyed by token text; transformed tokens are left out (text only)."""
        plain = [t for t in self.tokens if isinstance(t.operand, ast.FieldRef)]
        columns = [(t.key, [_typed(v, t.info) for v in _token_values(batch, t, rows)]) for t in plain]
        return [{key: values[i] for key, values in columns} for i in range(len(rows))]


def parse_output(text: str, *, source: str, registry: FieldRegistry) -> OutputFormat:
    """Compile an output text; OutputFormatError on a bad token."""
    segments: list[Segment] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        if text[i] != "%":
            literal.append(text[i])
            i += 1
            continue
        token, i = _parse_token(text, i, source, registry)
        if literal:
            segments.append("".join(literal))
            literal = []
        segments.append(token)
    if literal:
        segments.append("".join(literal))
    return OutputFormat(text, tuple(segments))


def _parse_token(text: str, start: int, source: str, registry: FieldRegistry) -> tuple[FieldToken, int]:
    """The token starting at the `%` at `start`, and the offset after it."""
    from rules.parser import ConditionSyntaxError, parse_operand_prefix

    pos = _pos(text, start)
    i = start + 1
    width_match = _RX_WIDTH.match(text, i)
    width = int(width_match.group(0)) if width_match else 0
    i = width_match.end() if width_match else i
    if i >= len(text):
        raise OutputFormatError(f"invalid formatting token '{text[start:]}': '%' at the end of the output", pos)
    try:
        parsed = parse_operand_prefix(text, i)
    except ConditionSyntaxError as exc:
        raise OutputFormatError(f"invalid formatting token '{text[start:]}': {exc.message}", pos) from None
    if parsed is None:
        raise OutputFormatError(f"invalid formatting token '{text[start:start + 2]}'", pos)
    operand, end = parsed
    if isinstance(operand, ast.FieldRef) and operand.arg is None:
        operand, end = _longest_field(text, i, operand, source, registry, pos)
    info = _compile_operand(operand, text[i:end], source, registry, pos)
    return FieldToken(text[i:end], operand, info, width, pos), end


def _longest_field(text: str, start: int, ref: ast.FieldRef, source: str, registry: FieldRegistry,
                   pos: ast.Pos) -> tuple[ast.FieldRef, int]:
    """Shorten `a.b.c.d` segment by segment until a catalog field (or dotted argument) resolves."""
    from rules.checker import ConditionCompileError
    from rules.fields import resolve

    name = ref.name
    while "." in name:
        candidate = ast.FieldRef(name, pos=ref.pos)
        try:
            resolve(registry, source, candidate)
            return candidate, start + len(name)
        except ConditionCompileError as exc:
            if "nonexistent field" not in exc.message:
                raise OutputFormatError(exc.message, pos) from None
            name = name.rsplit(".", 1)[0]
    raise OutputFormatError(f"unknown filter: {ref.name}", pos)


def _compile_operand(operand: ast.Operand, written: str, source: str, registry: FieldRegistry,
                     pos: ast.Pos) -> FieldInfo:
    from rules.checker import ConditionCompileError, operand_type
    from rules.fields import resolve

    try:
        operand_type(operand, source=source, registry=registry)
        return resolve(registry, source, ast.operand_fields(operand))
    except ConditionCompileError as exc:
        if "nonexistent field" in exc.message:
            raise OutputFormatError(f"unknown filter: {written}", pos) from None
        raise OutputFormatError(exc.message, pos) from None


def _pos(text: str, offset: int) -> ast.Pos:
    before = text[:offset]
    line = before.count("\n") + 1
    return ast.Pos(offset, line, offset - (before.rfind("\n") + 1) + 1)


# ----------------------------------------------------------------- values

def _token_values(batch: pa.RecordBatch, token: FieldToken, rows: Sequence[int]) -> list[Any]:
    if token.info.filter_only:
        return [None] * len(rows)
    values = _field_values(batch, token.field_ref, token.info, rows)
    if isinstance(token.operand, ast.Transformer):
        return [_apply_transformers(token.operand, v) for v in values]
    return values


def _field_values(batch: pa.RecordBatch, ref: ast.FieldRef, info: FieldInfo, rows: Sequence[int]) -> list[Any]:
    """Python values of a field for the given rows; None where the field cannot be extracted."""
    if ref.text in _TIME_DERIVED and "evt.rawtime" in batch.column_names \
            and not set(candidate_columns(ref, info)) & set(batch.column_names):
        derive = _TIME_DERIVED[ref.text]
        return [None if v is None else derive(v) for v in _take(batch.column("evt.rawtime"), rows)]
    return _take(column_for(batch, ref, info), rows)


def _take(column: pa.Array, rows: Sequence[int]) -> list[Any]:
    picked = column.take(pa.array(rows, type=pa.int64()))
    if pa.types.is_dictionary(picked.type):
        picked = picked.dictionary_decode()
    return picked.to_pylist()


def _apply_transformers(transformer: ast.Transformer, value: Any) -> Any:
    inner = transformer.arg
    if isinstance(inner, ast.Transformer):
        value = _apply_transformers(inner, value)
    if value is None:
        return None
    return _TRANSFORM[transformer.name](value)


def _b64(value: Any) -> Any:
    raw = value.encode() if isinstance(value, str) else bytes(value)
    try:
        decoded = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return None
    return decoded.decode("utf-8", errors="replace") if isinstance(value, str) else decoded


def _ascii_case(value: str, upper: bool) -> str:
    # Falco changes ASCII letters only (C toupper/tolower in the C locale).
    return "".join((c.upper() if upper else c.lower()) if c.isascii() else c for c in value)


_TRANSFORM = {
    "tolower": lambda v: _ascii_case(v, upper=False),
    "toupper": lambda v: _ascii_case(v, upper=True),
    "basename": lambda v: posixpath.basename(v),
    "b64": _b64,
    "len": lambda v: len(v),
}


def _typed(value: Any, info: FieldInfo) -> Any:
    """The JSON-facing value: an unindexed ancestor field is one string (all ancestors, blank-separated); a
    buffer is the text the output prints (unprintable bytes as dots)."""
    if info.any_ancestor and isinstance(value, list):
        return " ".join(str(v) for v in value if v is not None)
    if isinstance(value, bytes):
        return _printable_bytes(value)
    return value


def _display(value: Any, info: FieldInfo) -> str:
    """Falco's printed form of a value: <NA> when missing, true/false, lists joined."""
    if value is None:
        return NA
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return _printable_bytes(value)
    if isinstance(value, list):
        items = [_display(v, info) for v in value if v is not None]
        return " ".join(items) if info.any_ancestor else "(" + ",".join(items) + ")"
    if isinstance(value, float) and info.type is FieldType.DOUBLE:
        return f"{value:.6g}"
    return str(value)


def _printable_bytes(value: bytes) -> str:
    return "".join(chr(b) if 32 <= b < 127 else "." for b in value)


def _fit(text: str, width: int) -> str:
    """A `%Nfield` token is padded with spaces or cut to exactly N characters."""
    if not width:
        return text
    return text[:width].ljust(width)
