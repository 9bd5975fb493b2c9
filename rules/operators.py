"""Vectorized operators and transformers: tables from a Falco operator name to a pyarrow.compute builder.

A `Predicate` tests a flat array of values (never dictionary- or list-typed: the compiler evaluates on the
dictionary and on flattened lists) and returns a numpy bool mask where null means false. Builders do the
per-check work once: constants are parsed and typed, patterns translated to RE2. Comparisons use typed
scalars of the column's own type (a bare Python int casts the column to int64, several times slower).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rules import ast
from rules.fields.base import FieldType
from rules.patterns import ascii_lower, glob_regex, pmatch_regex
from rules.values import (
    ADDRESS_TYPES, INTEGER_TYPES, STRING_TYPES, BadConstant, address_test, dyn_constant, integer_bounds,
    parse_constant,
)

try:
    import re2 as _re2
except ImportError:  # pragma: no cover - google-re2 is a dependency
    _re2 = None

Mask = np.ndarray
Predicate = Callable[[pa.Array], Mask]
FieldCompare = Callable[[pa.Array, pa.Array], Mask]


class CompileError(ValueError):
    """A condition the vectorized compiler cannot evaluate; `pos` points at the offending check."""

    def __init__(self, message: str, pos: ast.Pos = ast.NOWHERE) -> None:
        super().__init__(f"{message} at {pos}")
        self.message = message
        self.pos = pos


# --- masks ------------------------------------------------------------------------------------------

def to_mask(result: pa.Array | pa.ChunkedArray) -> Mask:
    """A boolean Arrow result as a numpy mask, null -> False."""
    if result.null_count:
        result = pc.fill_null(result, False)
    return np.asarray(result.to_numpy(zero_copy_only=False), dtype=bool)


def valid_mask(values: pa.Array) -> Mask:
    if not values.null_count:
        return np.ones(len(values), dtype=bool)
    return to_mask(values.is_valid())


def lookup(table: Mask, indices: pa.Array) -> Mask:
    """table[indices] for dictionary indices; a null index gives False."""
    if indices.null_count:
        extended = np.append(table, False)
        positions = pc.fill_null(indices, len(table)).to_numpy()
        return extended[positions]
    return table[indices.to_numpy()]


def per_distinct(values: pa.Array, test: Callable[[object], bool]) -> Mask:
    """Run a Python test once per distinct value (addresses, base64): the loop is over values, not rows."""
    encoded = values if pa.types.is_dictionary(values.type) else pc.dictionary_encode(values)
    table = np.array([v is not None and bool(test(v)) for v in encoded.dictionary.to_pylist()], dtype=bool)
    return lookup(table, encoded.indices)


# --- constant comparisons ---------------------------------------------------------------------------

_ORDER_KERNELS = {"=": pc.equal, "!=": pc.not_equal, "<": pc.less, "<=": pc.less_equal, ">": pc.greater,
                  ">=": pc.greater_equal}


def build_predicate(op: str, field_type: FieldType, constants: tuple[str, ...], pos: ast.Pos = ast.NOWHERE
                    ) -> Predicate:
    """The vectorized test of `field op constants` for one field type."""
    try:
        if op == "pmatch":
            return _regex_predicate(pmatch_regex(constants))
        typed = [parse_constant(field_type, text, op) for text in constants]
        if field_type in ADDRESS_TYPES:
            test = address_test(op, field_type, typed)
            return lambda values: per_distinct(values, test)
        builder = _BUILDERS.get(op)
        if builder is None:
            raise CompileError(f"operator '{op}' is not supported", pos)
        return builder(field_type, typed, pos)
    except BadConstant as exc:
        raise CompileError(str(exc), pos) from exc


def _order(op: str) -> Callable[[FieldType, list, ast.Pos], Predicate]:
    kernel = _ORDER_KERNELS[op]

    def build(field_type: FieldType, typed: list, pos: ast.Pos) -> Predicate:
        value = typed[0]
        scalars: dict[pa.DataType, pa.Scalar | None] = {}

        def predicate(values: pa.Array) -> Mask:
            kind = values.type
            constant = dyn_constant(value, kind) if field_type is FieldType.DYN else value
            if constant is None:  # a DYN constant that does not fit the argument's type
                return np.zeros(len(values), dtype=bool)
            if kind not in scalars:
                scalars[kind] = _typed_scalar(constant, kind)
            scalar = scalars[kind]
            if scalar is None:
                return _out_of_range(op, constant, kind, values)
            return to_mask(kernel(values, scalar))

        return predicate

    return build


def _typed_scalar(value: object, kind: pa.DataType) -> pa.Scalar | None:
    """The constant as a scalar of the column's type; None for an integer the type cannot hold."""
    if pa.types.is_integer(kind) and isinstance(value, int) and not isinstance(value, bool):
        low, high = integer_bounds(kind)
        return pa.scalar(value, type=kind) if low <= value <= high else None
    if pa.types.is_integer(kind) and isinstance(value, float):
        return pa.scalar(value, type=pa.float64())
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return pa.scalar(value if isinstance(value, bytes) else str(value).encode(), type=kind)
    return pa.scalar(value, type=kind)


def _out_of_range(op: str, value: int, kind: pa.DataType, values: pa.Array) -> Mask:
    """An integer beyond the column type's range: every present value lies on the same side of it."""
    low, _ = integer_bounds(kind)
    below = value < low
    holds = {"=": False, "!=": True, "<": not below, "<=": not below, ">": below, ">=": below}[op]
    return valid_mask(values) if holds else np.zeros(len(values), dtype=bool)


def _membership(field_type: FieldType, typed: list, pos: ast.Pos) -> Predicate:
    """`in` / `intersects` on one value: is_in against the constants typed like the column."""
    sets: dict[pa.DataType, pa.Array] = {}
    texts: dict[pa.DataType, frozenset] = {}

    def predicate(values: pa.Array) -> Mask:
        if pa.types.is_dictionary(values.type):  # test the distinct values once each
            return lookup(predicate(values.dictionary), values.indices)
        kind = values.type
        if kind not in sets:
            items = typed
            if field_type is FieldType.DYN:  # constants typed like the argument's column; misfits dropped
                items = [v for v in (dyn_constant(text, kind) for text in typed) if v is not None]
            sets[kind] = _value_set(items, kind)
            if pa.types.is_string(kind) or pa.types.is_large_string(kind):
                texts[kind] = frozenset(sets[kind].to_pylist())
        if kind in texts and len(values) <= FEW_VALUES:
            # a handful of strings (a dictionary's): a set lookup each beats is_in, which hashes the
            # constants anew on every call
            found = texts[kind]
            return np.fromiter((v in found for v in values.to_pylist()), dtype=bool, count=len(values))
        return to_mask(pc.is_in(values, value_set=sets[kind]))

    return predicate


FEW_VALUES = 256


def _value_set(typed: list, kind: pa.DataType) -> pa.Array:
    if pa.types.is_integer(kind):
        low, high = integer_bounds(kind)
        ints = [v for v in typed if isinstance(v, int) and low <= v <= high]
        floats = [v for v in typed if isinstance(v, float)]
        if floats:  # a float constant against an integer column: compare as doubles
            return pa.array([float(v) for v in ints] + floats, type=pa.float64())
        return pa.array(ints, type=kind)
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return pa.array([v if isinstance(v, bytes) else str(v).encode() for v in typed], type=kind)
    return pa.array(typed, type=kind)


def _matcher(kernel: Callable[..., pa.Array], *, binary: bool = False
             ) -> Callable[[FieldType, list, ast.Pos], Predicate]:
    """Substring-style kernels (contains, startswith...) with the constant as pattern; `binary` kernels
    (bcontains, bstartswith) read string columns as bytes."""

    def build(field_type: FieldType, typed: list, pos: ast.Pos) -> Predicate:
        pattern = typed[0]

        def predicate(values: pa.Array) -> Mask:
            if binary and not _is_binary(values.type):
                values = values.cast(pa.large_binary() if pa.types.is_large_string(values.type) else pa.binary())
            constant = pattern.encode() if _is_binary(values.type) and isinstance(pattern, str) else pattern
            return to_mask(kernel(values, pattern=constant))

        return predicate

    return build


def _icontains(field_type: FieldType, typed: list, pos: ast.Pos) -> Predicate:
    """ASCII case-insensitive substring: fold both sides with ascii_lower (RE2's (?i) folds Unicode)."""
    _require_strings("icontains", field_type, pos)
    needle = ascii_lower(typed[0])
    return lambda values: to_mask(pc.match_substring(pc.ascii_lower(values), pattern=needle))


def _glob(field_type: FieldType, typed: list, pos: ast.Pos) -> Predicate:
    _require_strings("glob", field_type, pos)
    return _regex_predicate(glob_regex(typed[0]))


def _iglob(field_type: FieldType, typed: list, pos: ast.Pos) -> Predicate:
    _require_strings("iglob", field_type, pos)
    matches = _regex_predicate(glob_regex(ascii_lower(typed[0])))
    return lambda values: matches(pc.ascii_lower(values))


def _regex(field_type: FieldType, typed: list, pos: ast.Pos) -> Predicate:
    """RE2 full match: the user's regex wrapped as ^(?:...)$ after checking it compiles on its own."""
    _require_strings("regex", field_type, pos)
    if _re2 is not None:
        try:
            _re2.compile(typed[0])
        except Exception as exc:  # google-re2 raises its own error type
            raise CompileError(f"invalid regular expression '{typed[0]}': {exc}", pos) from exc
    return _regex_predicate(f"^(?:{typed[0]})$")


def _regex_predicate(regex: str | None) -> Predicate:
    if regex is None:
        return lambda values: np.zeros(len(values), dtype=bool)
    return lambda values: to_mask(pc.match_substring_regex(values, pattern=regex))


def _require_strings(op: str, field_type: FieldType, pos: ast.Pos) -> None:
    if field_type not in STRING_TYPES:
        raise CompileError(f"'{op}' operator not supported for {field_type.value} fields", pos)


def _is_binary(kind: pa.DataType) -> bool:
    return pa.types.is_binary(kind) or pa.types.is_large_binary(kind)


_BUILDERS: dict[str, Callable[[FieldType, list, ast.Pos], Predicate]] = {
    **{op: _order(op) for op in _ORDER_KERNELS},
    "in": _membership,
    "intersects": _membership,
    "contains": _matcher(pc.match_substring),
    "startswith": _matcher(pc.starts_with),
    "endswith": _matcher(pc.ends_with),
    "bcontains": _matcher(pc.match_substring, binary=True),
    "bstartswith": _matcher(pc.starts_with, binary=True),
    "icontains": _icontains,
    "glob": _glob,
    "iglob": _iglob,
    "regex": _regex,
}


# --- field-to-field comparisons (`lhs op val(rhs)`) ------------------------------------------------

_FAMILIES = {
    **{t: "number" for t in INTEGER_TYPES | {FieldType.DOUBLE}},
    **{t: "string" for t in STRING_TYPES},
    FieldType.BOOL: "bool",
    FieldType.BYTEBUF: "bytes",
    FieldType.IPADDR: "address",
    FieldType.IPNET: "address",
}


def build_field_compare(op: str, lhs_type: FieldType, rhs_type: FieldType, pos: ast.Pos = ast.NOWHERE
                        ) -> FieldCompare:
    """Row-wise `lhs op rhs` of two flat arrays of equal length (nulls false)."""
    family = _FAMILIES.get(lhs_type)
    if family != _FAMILIES.get(rhs_type):
        raise CompileError(f"cannot compare {lhs_type.value} with {rhs_type.value}", pos)
    if op in ("pmatch", "exists") or (family == "address" and op not in ("=", "!=", "in", "intersects")):
        raise CompileError(f"'{op}' operator not supported with a field on the right", pos)
    if family != "address" and op in _ORDER_KERNELS:
        kernel = _ORDER_KERNELS[op]
        return lambda lhs, rhs: to_mask(kernel(_plain(lhs), _plain(rhs)))
    if family != "address" and op in ("in", "intersects"):
        return lambda lhs, rhs: to_mask(pc.equal(_plain(lhs), _plain(rhs)))
    from rules.scalar import compare_fields  # the one-value comparisons, run once per distinct pair

    compare = compare_fields(op, lhs_type, rhs_type)
    return lambda lhs, rhs: per_distinct_pair(lhs, rhs, compare)


def per_distinct_pair(lhs: pa.Array, rhs: pa.Array, compare: Callable[[object, object], bool]) -> Mask:
    """Apply a Python comparison once per distinct (lhs, rhs) pair present in the rows."""
    left = lhs if pa.types.is_dictionary(lhs.type) else pc.dictionary_encode(lhs)
    right = rhs if pa.types.is_dictionary(rhs.type) else pc.dictionary_encode(rhs)
    left_codes = pc.fill_null(left.indices.cast(pa.int64()), -1).to_numpy()
    right_codes = pc.fill_null(right.indices.cast(pa.int64()), -1).to_numpy()
    present = (left_codes >= 0) & (right_codes >= 0)
    width = max(len(right.dictionary), 1)
    pairs, inverse = np.unique(left_codes[present] * width + right_codes[present], return_inverse=True)
    left_values, right_values = left.dictionary.to_pylist(), right.dictionary.to_pylist()
    results = np.array([_safe_compare(compare, left_values[p // width], right_values[p % width]) for p in pairs],
                       dtype=bool)
    mask = np.zeros(len(lhs), dtype=bool)
    mask[present] = results[inverse.reshape(-1)] if len(pairs) else False
    return mask


def _safe_compare(compare: Callable[[object, object], bool], left: object, right: object) -> bool:
    return left is not None and right is not None and bool(compare(left, right))


def _plain(values: pa.Array) -> pa.Array:
    return values.dictionary_decode() if pa.types.is_dictionary(values.type) else values


# --- transformers -------------------------------------------------------------------------------------

def _b64(values: pa.Array) -> pa.Array:
    from rules.scalar import TRANSFORMERS  # base64 has no Arrow kernel: decode each distinct value once

    decode = TRANSFORMERS["b64"]
    encoded = pc.dictionary_encode(values)
    decoded = pa.array([None if v is None else decode(v) for v in encoded.dictionary.to_pylist()],
                       type=pa.string())
    return decoded.take(encoded.indices)


def _basename(values: pa.Array) -> pa.Array:
    return pc.replace_substring_regex(values, pattern="(?s)^.*/", replacement="")


def _string_length(values: pa.Array) -> pa.Array:
    return pc.binary_length(values).cast(pa.uint64())


# Transformers mapping each value of a flat string array; `len` is handled by the compiler (lists).
VALUE_TRANSFORMERS: dict[str, Callable[[pa.Array], pa.Array]] = {
    "tolower": pc.ascii_lower,
    "toupper": pc.ascii_upper,
    "basename": _basename,
    "b64": _b64,
    "len": _string_length,
}

TRANSFORMER_RESULT_TYPES: dict[str, FieldType] = {
    "tolower": FieldType.CHARBUF,
    "toupper": FieldType.CHARBUF,
    "basename": FieldType.CHARBUF,
    "b64": FieldType.CHARBUF,
    "len": FieldType.UINT64,
}
