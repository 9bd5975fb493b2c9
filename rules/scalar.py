"""Reference evaluator: one event (a dict) at a time, written to be obviously right, no pyarrow.

Tests compare the vectorized compiler against it row by row. A row maps canonical column names (the event
batch contract) to Python values: str, int, float, bool, bytes, lists for list fields and unindexed ancestor
fields; a missing key or None means the field cannot be extracted, which makes every check on it false (`!=`
included) so that only `not` turns it true.
"""

from __future__ import annotations

import base64
import binascii
import operator
from collections.abc import Callable
from functools import lru_cache

from rules import ast
from rules.columns import ALTERNATIVE_COLUMNS, ANCESTOR_LEVELS, ancestor_index
from rules.fields.base import FieldInfo, FieldRegistry, FieldType
from rules.patterns import ascii_lower, ascii_upper, glob_match, pmatch_match
from rules.values import ADDRESS_TYPES, address_of, address_test, dyn_constant, parse_constant, python_arrow_type

try:
    import re2 as _regex
except ImportError:  # pragma: no cover - google-re2 is a dependency; `re` agrees on the common subset
    import re as _regex

Row = dict[str, object]
Compare = Callable[[object, object], bool]


def evaluate(node: ast.Node, row: Row, registry: FieldRegistry | None = None, source: str = "syscall") -> bool:
    """Whether the macro-expanded condition `node` holds for the event `row`."""
    if registry is None:
        from rules.fields import REGISTRY as registry  # noqa: N811 - the shared default registry
    return _Evaluator(registry, source, row).node(node)


class _Evaluator:
    def __init__(self, registry: FieldRegistry, source: str, row: Row) -> None:
        self.registry = registry
        self.source = source
        self.row = row

    def node(self, node: ast.Node) -> bool:
        if isinstance(node, ast.And):
            return all(self.node(child) for child in node.children)
        if isinstance(node, ast.Or):
            return any(self.node(child) for child in node.children)
        if isinstance(node, ast.Not):
            return not self.node(node.child)
        if isinstance(node, ast.Check):
            return self.check(node)
        raise TypeError(f"cannot evaluate {type(node).__name__} {node.text!r}: expand macros first")

    def check(self, check: ast.Check) -> bool:
        ref = ast.operand_fields(check.lhs)
        alternatives = ALTERNATIVE_COLUMNS.get(ref.text)
        if alternatives and ref.text not in self.row and check.lhs == ref:
            # `fd.ip` is client or server address: any of them may satisfy it, but `!=` needs all of them.
            results = [self.check_values(check, self.operand(ref, column=name)) for name in alternatives]
            return all(results) if check.op == "!=" else any(results)
        return self.check_values(check, self.operand(check.lhs))

    def check_values(self, check: ast.Check, extracted: tuple[list, FieldType, bool]) -> bool:
        values, field_type, every = extracted
        if check.op == "exists" or not values:
            return bool(values)
        if isinstance(check.rhs, ast.FieldValue):
            other, other_type, _ = self.operand(check.rhs.operand)
            if not other:
                return False
            compare = compare_fields(check.op, field_type, other_type)
            return any(compare(value, other[0]) for value in values if value is not None)
        if check.modifier is not None:
            items = [self.holds(values, field_type, check.op, (item,), every=False)
                     for item in check.rhs.values]
            return _MODIFIERS[check.modifier](items)
        constants = check.rhs.values if isinstance(check.rhs, ast.ValueList) else (check.rhs.value,)
        return self.holds(values, field_type, check.op, constants, every=every and check.op == "in")

    def holds(self, values: list, field_type: FieldType, op: str, constants: tuple[str, ...], *,
              every: bool) -> bool:
        """Any value (every value for `in` on list fields) satisfies `op` against the constants."""
        if not values:
            return False
        test = _constant_test(op, field_type, constants)
        if every:
            return all(value is not None and test(value) for value in values)
        return any(value is not None and test(value) for value in values)

    def operand(self, operand: ast.Operand, column: str | None = None) -> tuple[list, FieldType, bool]:
        """(values, type, every): the values an operand yields; `every` marks list fields (for `in`).

        `column` reads a field from another column than its own (`fd.ip` from `fd.cip`), keeping its type.
        """
        if isinstance(operand, ast.Transformer):
            values, field_type, _ = self.operand(operand.arg)
            if operand.name == "len":
                return _length(values, self._is_multi(operand.arg)), FieldType.UINT64, False
            transform = TRANSFORMERS[operand.name]
            return [None if v is None else transform(v) for v in values], FieldType.CHARBUF, False
        info = self._info(operand)
        raw = self.row.get(column) if column is not None else self._lookup(operand, info)
        field_type = FieldType.CHARBUF if info is None else info.type
        if raw is None:
            return [], field_type, False
        if isinstance(raw, list):
            return raw, field_type, bool(info and info.is_list)
        return [raw], field_type, False

    def _is_multi(self, operand: ast.Operand) -> bool:
        return isinstance(operand, ast.FieldRef) and isinstance(self._lookup(operand, self._info(operand)), list)

    def _info(self, ref: ast.FieldRef) -> FieldInfo | None:
        info = self.registry.get(self.source, ref.name)
        if info is None:  # a dotted argument still in the name (`evt.rawarg.fd` as parsed)
            found = self.registry.resolve_dotted(self.source, ref.name)
            info = found[0] if found is not None else None
        return info

    def _lookup(self, ref: ast.FieldRef, info: FieldInfo | None) -> object:
        """The row's value for a reference, with the ancestor fallbacks of `rules.columns.column_for`."""
        if ref.text in self.row:
            return self.row[ref.text]
        level = ancestor_index(ref, info)
        if level is None:
            return None
        own, parent = ANCESTOR_LEVELS[ref.name]
        if level == 0:
            return self.row.get(own)
        if ref.name in self.row:
            chain = self.row[ref.name]
            return chain[level - 1] if isinstance(chain, list) and len(chain) >= level else None
        return self.row.get(parent) if level == 1 and parent is not None else None


def _length(values: list, multi: bool) -> list:
    if multi:
        return [len(values)] if values else []
    return [None if v is None else len(v.encode() if isinstance(v, str) else v) for v in values]


def _b64(value: object) -> str | None:
    """Base64-decoded text; undecodable input or non-UTF-8 output cannot be extracted."""
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, ValueError):
        return None


def _basename(value: str) -> str:
    return value[value.rfind("/") + 1:]


TRANSFORMERS: dict[str, Callable[[str], object]] = {
    "tolower": ascii_lower,
    "toupper": ascii_upper,
    "basename": _basename,
    "b64": _b64,
}

_MODIFIERS: dict[str, Callable[[list[bool]], bool]] = {
    "anyof": any,
    "allof": all,
    "oneof": lambda items: sum(items) == 1,
}

_ORDER: dict[str, Compare] = {
    "=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


def _icontains(value: object, needle: object) -> bool:
    if isinstance(value, bytes):
        return needle.lower() in value.lower()
    return ascii_lower(needle) in ascii_lower(value)


_STRING_MATCHERS: dict[str, Compare] = {
    "contains": lambda value, c: c in value,
    "bcontains": lambda value, c: c in _as_bytes(value),
    "icontains": _icontains,
    "startswith": lambda value, c: value.startswith(c),
    "bstartswith": lambda value, c: _as_bytes(value).startswith(c),
    "endswith": lambda value, c: value.endswith(c),
    "glob": lambda value, c: glob_match(c, value),
    "iglob": lambda value, c: glob_match(c, value, casefold=True),
    "regex": lambda value, c: _regex_fullmatch(c, value),
}


def _as_bytes(value: object) -> bytes:
    return value.encode() if isinstance(value, str) else value


@lru_cache(maxsize=256)
def _compiled_regex(pattern: str):
    return _regex.compile(pattern)


def _regex_fullmatch(pattern: str, value: str) -> bool:
    return _compiled_regex(pattern).fullmatch(value) is not None


def _constant_test(op: str, field_type: FieldType, constants: tuple[str, ...]) -> Callable[[object], bool]:
    """A one-argument test `value -> bool` for `op` against typed constants."""
    if op == "pmatch":
        return lambda value: pmatch_match(constants, value)
    typed = [parse_constant(field_type, text, op) for text in constants]
    if field_type is FieldType.DYN and op in ("in", "intersects", *_ORDER):
        return _dyn_test(op, typed)
    if field_type in ADDRESS_TYPES:
        return address_test(op, field_type, typed)
    if op in ("in", "intersects"):
        return lambda value: any(value == item for item in typed)
    if op in _ORDER:
        return lambda value: _ORDER[op](value, typed[0])
    return lambda value: _STRING_MATCHERS[op](value, typed[0])


def _dyn_test(op: str, texts: list) -> Callable[[object], bool]:
    """A DYN field (`evt.rawarg.NAME`): each constant is typed like the value it is compared with."""

    def test(value: object) -> bool:
        items = [v for v in (dyn_constant(text, python_arrow_type(value)) for text in texts) if v is not None]
        if op in ("in", "intersects"):
            return any(value == item for item in items)
        return bool(items) and _ORDER[op](value, items[0])

    return test


def compare_fields(op: str, field_type: FieldType, other_type: FieldType) -> Compare:
    """Comparison of two extracted field values (`lhs op val(rhs)`)."""
    if field_type in ADDRESS_TYPES:
        def compare(value, other):
            left, right = address_of(value), address_of(other)
            if left is None or right is None:
                return False
            return (left == right) == (op != "!=") if op in ("=", "!=", "in", "intersects") else False
        return compare
    if op in ("in", "intersects"):
        return operator.eq
    if op in _ORDER:
        return _ORDER[op]
    return _STRING_MATCHERS[op]
