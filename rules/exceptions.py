"""Rule exceptions: shape validation and the condition text they generate (spec section 6).

The generated text is pasted after the rule condition and parsed with it, so values are text, not
constants: a value may name a list, or be `val(...)`. Every generated character keeps a mark: values and
field names point at their own YAML scalars, the glue text at the exception entry.
"""

from __future__ import annotations

from typing import Callable

from rules import ast, errors
from rules.errors import LoadError
from rules.reader import ExceptionDef, ExceptionEntry
from rules.yaml_source import MappedText, Mark

SUPPORTED_OPERATORS = frozenset(ast.ALL_OPS | {"=="})
LIST_OPERATORS = frozenset(ast.LIST_OPS)
SINGLE_FIELD_OPERATORS = ("in", "pmatch", "intersects")


def _modifier_operator(comp: str) -> bool:
    """`startswith anyof`, `= oneof`...: an operator followed by a modifier takes a list (libs master)."""
    parts = comp.split()
    return len(parts) == 2 and parts[0] in SUPPORTED_OPERATORS and parts[1] in ast.MODIFIERS


def is_operator_defined(comp: str) -> bool:
    return comp in SUPPORTED_OPERATORS or _modifier_operator(comp)


def is_list_operator(comp: str) -> bool:
    return comp in LIST_OPERATORS or _modifier_operator(comp)


def effective_comps(ex: ExceptionDef) -> ExceptionEntry:
    """`comps` as written, or the default: `=` per field for a field list, `in` for a single field."""
    if ex.comps is not None:
        return ex.comps
    fields = ex.fields
    if fields is not None and fields.is_list:
        return ExceptionEntry(True, items=[ExceptionEntry(False, item=None) for _ in fields.items])
    return ExceptionEntry(False, item=None)


def _comp_text(entry: ExceptionEntry, is_list_fields: bool) -> str:
    if entry.item is None:
        return "=" if is_list_fields else "in"
    return entry.item.text


def validate_exception(ex: ExceptionDef, source: str | None, field_exists: Callable[[str, str], bool]) -> None:
    """Check fields/comps shape and names; `source` None skips field checks (unknown source)."""
    fields = ex.fields
    assert fields is not None
    comps = effective_comps(ex)
    if fields.is_list:
        if not comps.is_list or len(comps.items) != len(fields.items):
            raise _error("Fields and comps lists must have equal length", ex)
        for comp in comps.items:
            text = _comp_text(comp, True)
            if not is_operator_defined(text):
                raise _error(f"'{text}' is not a supported comparison operator", ex)
        names = [f.text for f in fields.items]
    else:
        if comps.is_list:
            raise _error("Fields and comps must both be strings", ex)
        text = _comp_text(comps, False)
        if text not in SINGLE_FIELD_OPERATORS and not _modifier_operator(text):
            raise _error("When fields is a single value, comps must be one of (in, pmatch, intersects)", ex)
        names = [fields.text]
    if source is not None:
        for name in names:
            if not field_exists(source, name):
                raise _error(f"'{name}' is not a supported filter field", ex)


def _error(message: str, ex: ExceptionDef) -> LoadError:
    return LoadError(errors.LOAD_ERR_VALIDATE, message, ex.location)


# --- condition text ----------------------------------------------------------------------------------


def _quoted(entry: ExceptionEntry) -> MappedText:
    """The value text, double-quoted when it has a space and does not start with a quote (Falco's rule)."""
    text = _entry_text(entry)
    if " " in text.text and text.text[:1] not in ('"', "'"):
        return _glue('"', text.mark_at(0)) + text + _glue('"', text.end)
    return text


def _entry_text(entry: ExceptionEntry) -> MappedText:
    """The scalar's text; a nested list where a scalar belongs contributes nothing (as in Falco)."""
    if entry.item is None:
        return MappedText("", ())
    return entry.item.mapped()


def _glue(text: str, mark: Mark | None) -> MappedText:
    return MappedText.generated(text, mark)


def with_exceptions(condition: MappedText, exceptions: list[ExceptionDef]) -> MappedText:
    """`(condition)` followed by ` and not <clause>` for each exception that has values."""
    result = _glue("(", condition.mark_at(0)) + condition + _glue(")", condition.end)
    for ex in exceptions:
        clause = _single_field_clause(ex) if not ex.fields.is_list else _multi_field_clause(ex)  # type: ignore[union-attr]
        if clause is not None:
            result = result + _glue(" and not ", ex.location.mark) + clause
    return result


def _single_field_clause(ex: ExceptionDef) -> MappedText | None:
    if not ex.values:
        return None
    mark = ex.location.mark
    field = _entry_text(ex.fields)  # type: ignore[arg-type]
    comp = _comp_text(effective_comps(ex), False)
    text = _glue("(", mark) + field + _glue(f" {comp} (", mark)
    for i, value in enumerate(ex.values):
        if value.is_list:
            raise _error("Expected values array to contain a list of strings", ex)
        if i:
            text = text + _glue(", ", mark)
        text = text + _quoted(value)
    return text + _glue("))", mark)


def _multi_field_clause(ex: ExceptionDef) -> MappedText | None:
    mark = ex.location.mark
    fields = ex.fields.items  # type: ignore[union-attr]
    comps = effective_comps(ex).items
    text = _glue("(", mark)
    for n, values in enumerate(ex.values):
        if len(values.items) != len(fields):
            raise _error("Fields and values lists must have equal length", ex)
        text = text + _glue(" or (" if n else "(", mark)
        for k, (field, value) in enumerate(zip(fields, values.items)):
            comp = _comp_text(comps[k], True)
            text = text + _glue(" and " if k else "", mark) + _glue(" ", mark) + _entry_text(field)
            text = text + _glue(f" {comp} ", mark) + _value_text(value, comp, mark)
        text = text + _glue(")", mark)
    text = text + _glue(")", mark)
    return None if text.text == "()" else text


def _value_text(value: ExceptionEntry, comp: str, mark: Mark | None) -> MappedText:
    if value.is_list:
        text = _glue("(", mark)
        for i, item in enumerate(value.items):
            text = text + _glue(", " if i else "", mark) + _quoted(item)
        return text + _glue(")", mark)
    if is_list_operator(comp):
        raw = _entry_text(value)
        return raw if raw.text.startswith("(") else _glue("(", raw.mark_at(0)) + raw + _glue(")", raw.end)
    return _quoted(value)
