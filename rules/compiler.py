"""Compile a macro-expanded condition into a vectorized evaluator over Arrow record batches.

`compile_condition(node)` walks the tree once with `functools.singledispatch` (one rule per node type) and
returns a `CompiledCondition`; evaluating it never loops over events in Python. How:
- each check yields a numpy bool mask with "cannot be extracted" already folded to False, so `not` simply
  inverts it (Falco: a check on a missing field is false for every operator, `!=` included);
- dictionary-encoded columns are tested once per dictionary value, then looked up by index;
- list columns (list fields, unindexed ancestors such as `proc.aname`) are flattened, tested, and reduced
  per row: any element (every element for `in` on a list field);
- `and` evaluates later children only while rows are still true and `or` only while still false; when few
  rows remain they are gathered into a smaller `Rows` selection so later checks touch only those rows.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rules import ast
from rules.columns import ALTERNATIVE_COLUMNS, column_for
from rules.fields.base import FieldInfo, FieldRegistry, FieldType
from rules.operators import (
    TRANSFORMER_RESULT_TYPES, VALUE_TRANSFORMERS, CompileError, Mask, Predicate, build_field_compare,
    build_predicate, lookup, to_mask, valid_mask,
)
from rules.values import STRING_TYPES

__all__ = ["CompileError", "CompiledCondition", "Rows", "compile_condition", "condition_fields"]

# Below this fraction of surviving rows, `and`/`or` gather the survivors instead of masking all rows.
SELECT_FRACTION = 0.3


class Rows:
    """Some rows of a batch (all of them when `positions` is None); columns are gathered on first use."""

    def __init__(self, batch: pa.RecordBatch, positions: np.ndarray | None = None,
                 column_names: frozenset[str] | None = None) -> None:
        self.batch = batch
        self.positions = positions
        self.num_rows = batch.num_rows if positions is None else len(positions)
        self.column_names = frozenset(batch.schema.names) if column_names is None else column_names
        self._columns: dict[str, pa.Array] = {}
        self._fields: dict[str, pa.Array] = {}

    def __len__(self) -> int:
        return self.num_rows

    def column(self, name: str) -> pa.Array:
        """Column `name` for these rows only."""
        if name not in self._columns:
            column = self.batch.column(name)
            self._columns[name] = column if self.positions is None else column.take(self.positions)
        return self._columns[name]

    def field(self, ref: ast.FieldRef, info: FieldInfo | None) -> pa.Array:
        """The values of a field reference for these rows (`rules.columns.column_for`)."""
        if ref.text not in self._fields:
            self._fields[ref.text] = column_for(self, ref, info)
        return self._fields[ref.text]

    def select(self, local: np.ndarray) -> "Rows":
        """The sub-selection at positions `local` of these rows."""
        return Rows(self.batch, local if self.positions is None else self.positions[local], self.column_names)


Evaluator = Callable[[Rows], Mask]


@dataclass(frozen=True)
class CompiledCondition:
    """A condition ready to run on batches: `condition(batch, selection=None) -> numpy bool mask`.

    `selection` may be None (mask over every row), an integer array of row positions (mask over those rows,
    in that order) or a bool mask over the batch (mask over every row, False outside the selection).
    """

    node: ast.Node
    evaluator: Evaluator
    fields: tuple[ast.FieldRef, ...]

    def __call__(self, batch: pa.RecordBatch, selection: np.ndarray | None = None) -> Mask:
        if selection is None:
            return self.evaluate(Rows(batch))
        selection = np.asarray(selection)
        if selection.dtype == bool:
            result = np.zeros(batch.num_rows, dtype=bool)
            positions = np.flatnonzero(selection)
            result[positions] = self.evaluate(Rows(batch, positions))
            return result
        return self.evaluate(Rows(batch, selection))

    def evaluate(self, rows: Rows) -> Mask:
        if rows.num_rows == 0:
            return np.zeros(0, dtype=bool)
        return self.evaluator(rows)


@dataclass(frozen=True)
class _Context:
    registry: FieldRegistry
    source: str

    def info(self, ref: ast.FieldRef) -> FieldInfo | None:
        """The catalog entry of a reference, also when its dotted argument is still in the name
        (`evt.rawarg.fd` as parsed, before `rules.fields.normalize_ref`)."""
        info = self.registry.get(self.source, ref.name)
        if info is None:
            found = self.registry.resolve_dotted(self.source, ref.name)
            info = found[0] if found is not None else None
        return info


def compile_condition(node: ast.Node, *, registry: FieldRegistry | None = None, source: str = "syscall"
                      ) -> CompiledCondition:
    """Compile a macro-expanded condition; raises CompileError (with the check's position) when it cannot."""
    if registry is None:
        from rules.fields import REGISTRY as registry  # noqa: N811 - the shared default registry
    return CompiledCondition(node, _compile(node, _Context(registry, source)), condition_fields(node))


def condition_fields(node: ast.Node) -> tuple[ast.FieldRef, ...]:
    """Every field reference the condition reads, in first-use order."""
    seen: dict[str, ast.FieldRef] = {}
    for item in ast.walk(node):
        if isinstance(item, ast.Check):
            operands = [item.lhs] + ([item.rhs.operand] if isinstance(item.rhs, ast.FieldValue) else [])
            for operand in operands:
                ref = ast.operand_fields(operand)
                seen.setdefault(ref.text, ref)
    return tuple(seen.values())


# --- boolean structure ---------------------------------------------------------------------------------

@functools.singledispatch
def _compile(node: object, ctx: _Context) -> Evaluator:
    raise CompileError(f"cannot compile {type(node).__name__}", getattr(node, "pos", ast.NOWHERE))


@_compile.register
def _(node: ast.MacroRef, ctx: _Context) -> Evaluator:
    raise CompileError(f"Undefined macro '{node.name}' used in filter.", node.pos)


@_compile.register
def _(node: ast.Not, ctx: _Context) -> Evaluator:
    child = _compile(node.child, ctx)
    return lambda rows: ~child(rows)


@_compile.register
def _(node: ast.And, ctx: _Context) -> Evaluator:
    children = [_compile(child, ctx) for child in node.children]

    def evaluate(rows: Rows) -> Mask:
        current, where = rows, None  # `where`: positions of `current` inside `rows` once narrowed
        alive = np.ones(len(rows), dtype=bool)
        for index, child in enumerate(children):
            alive &= child(current)
            count = int(np.count_nonzero(alive))
            if count == 0:
                return np.zeros(len(rows), dtype=bool)
            if count <= SELECT_FRACTION * len(current) and index + 1 < len(children):
                keep = np.flatnonzero(alive)
                current, where = current.select(keep), keep if where is None else where[keep]
                alive = np.ones(count, dtype=bool)
        return _scatter(alive, where, len(rows))

    return evaluate


@_compile.register
def _(node: ast.Or, ctx: _Context) -> Evaluator:
    children = [_compile(child, ctx) for child in node.children]

    def evaluate(rows: Rows) -> Mask:
        current, where = rows, None
        pending = np.ones(len(rows), dtype=bool)  # rows of `current` not yet known true
        result = np.zeros(len(rows), dtype=bool)
        for index, child in enumerate(children):
            hit = child(current) & pending
            if where is None:
                result |= hit
            else:
                result[where[hit]] = True
            pending &= ~hit
            count = int(np.count_nonzero(pending))
            if count == 0:
                break
            if count <= SELECT_FRACTION * len(current) and index + 1 < len(children):
                keep = np.flatnonzero(pending)
                current, where = current.select(keep), keep if where is None else where[keep]
                pending = np.ones(count, dtype=bool)
        return result

    return evaluate


def _scatter(mask: Mask, where: np.ndarray | None, size: int) -> Mask:
    if where is None:
        return mask
    result = np.zeros(size, dtype=bool)
    result[where[mask]] = True
    return result


# --- operands ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Operand:
    """How to read an operand for some rows, and what its values are."""

    read: Callable[[Rows], pa.Array]
    field_type: FieldType
    every_for_in: bool  # a list field: `in` needs every value in the set


def _compile_operand(operand: ast.Operand, ctx: _Context) -> _Operand:
    if isinstance(operand, ast.FieldRef):
        info = ctx.info(operand)
        field_type = FieldType.CHARBUF if info is None else info.type
        return _Operand(lambda rows: rows.field(operand, info), field_type, bool(info and info.is_list))
    inner = _compile_operand(operand.arg, ctx)
    transform = VALUE_TRANSFORMERS.get(operand.name)
    if transform is None:
        raise CompileError(f"unknown transformer '{operand.name}'", operand.pos)
    if operand.name == "len":
        return _Operand(lambda rows: _length(inner.read(rows)), FieldType.UINT64, False)
    if inner.field_type not in STRING_TYPES:
        raise CompileError(f"transformer '{operand.name}' needs a string field, not {inner.field_type.value}",
                           operand.pos)
    result_type = TRANSFORMER_RESULT_TYPES[operand.name]
    return _Operand(lambda rows: _map_values(inner.read(rows), transform), result_type, False)


def _map_values(values: pa.Array, transform: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """Apply a value transformer through dictionary encoding and list nesting."""
    if pa.types.is_dictionary(values.type):
        return transform(values.dictionary).take(values.indices)
    if _is_list(values):
        start, offsets = _list_offsets(values)
        children = _map_values(values.values.slice(start, offsets[-1]), transform)
        return pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), children, mask=~valid_mask(values))
    return transform(values)


def _length(values: pa.Array) -> pa.Array:
    """len(): bytes of a string, values of a list (an empty list has no values: null)."""
    if _is_list(values):
        lengths = pc.list_value_length(values).cast(pa.uint64())
        return pc.if_else(pc.equal(lengths, pa.scalar(0, pa.uint64())), pa.scalar(None, pa.uint64()), lengths)
    if pa.types.is_dictionary(values.type):
        return VALUE_TRANSFORMERS["len"](values.dictionary).take(values.indices)
    return VALUE_TRANSFORMERS["len"](values)


def _is_list(values: pa.Array) -> bool:
    return pa.types.is_list(values.type) or pa.types.is_large_list(values.type)


def _list_offsets(values: pa.Array) -> tuple[int, np.ndarray]:
    offsets = values.offsets.to_numpy().astype(np.int64)
    return int(offsets[0]), offsets - offsets[0]


# --- checks --------------------------------------------------------------------------------------------

@_compile.register
def _(node: ast.Check, ctx: _Context) -> Evaluator:
    operand = _compile_operand(node.lhs, ctx)
    test = _compile_test(node, operand, ctx)
    if isinstance(node.lhs, ast.FieldRef) and node.lhs.text in ALTERNATIVE_COLUMNS:
        return _with_alternatives(node, operand, test)
    return lambda rows: test(operand.read(rows), rows)


def _with_alternatives(node: ast.Check, operand: _Operand, test: Callable[[pa.Array, Rows], Mask]) -> Evaluator:
    """`fd.ip`-like fields without a column of their own: any alternative column may match (`!=`: all)."""
    names = ALTERNATIVE_COLUMNS[node.lhs.text]
    combine = np.logical_and if node.op == "!=" else np.logical_or

    def evaluate(rows: Rows) -> Mask:
        if node.lhs.text in rows.column_names:
            return test(operand.read(rows), rows)
        masks = [test(rows.column(name) if name in rows.column_names else operand.read(rows), rows)
                 for name in names]
        return functools.reduce(combine, masks)

    return evaluate


def _compile_test(node: ast.Check, operand: _Operand, ctx: _Context) -> Callable[[pa.Array, Rows], Mask]:
    """(operand values for the rows, rows) -> mask."""
    if node.op == "exists":
        return lambda values, rows: _exists(values)
    if isinstance(node.rhs, ast.FieldValue):
        return _field_test(node, operand, ctx)
    if node.modifier is not None:
        return _modifier_test(node, operand)
    constants = node.rhs.values if isinstance(node.rhs, ast.ValueList) else (node.rhs.value,)
    predicate = build_predicate(node.op, operand.field_type, constants, node.pos)
    every = node.op == "in" and operand.every_for_in
    return lambda values, rows: apply_predicate(values, predicate, every=every)


def _modifier_test(node: ast.Check, operand: _Operand) -> Callable[[pa.Array, Rows], Mask]:
    """`op anyof/allof/oneof (items)`: one mask per item, combined; a missing field stays false."""
    if not isinstance(node.rhs, ast.ValueList):
        raise CompileError(f"'{node.modifier}' needs a list of values", node.pos)
    predicates = [build_predicate(node.op, operand.field_type, (item,), node.pos) for item in node.rhs.values]
    modifier = node.modifier

    def test(values: pa.Array, rows: Rows) -> Mask:
        masks = [apply_predicate(values, predicate) for predicate in predicates]
        present = _exists(values)
        if modifier == "anyof":
            return functools.reduce(np.logical_or, masks, np.zeros(len(values), dtype=bool))
        if modifier == "allof":
            return functools.reduce(np.logical_and, masks, present)
        return present & (np.sum(masks, axis=0, dtype=np.int64) == 1 if masks else False)

    return test


def _field_test(node: ast.Check, operand: _Operand, ctx: _Context) -> Callable[[pa.Array, Rows], Mask]:
    """`lhs op val(rhs)`: row-wise comparison; a list on the left compares each element with its row's rhs."""
    other = _compile_operand(node.rhs.operand, ctx)
    compare = build_field_compare(node.op, operand.field_type, other.field_type, node.pos)

    def test(values: pa.Array, rows: Rows) -> Mask:
        right = other.read(rows)
        if _is_list(right):
            right = _first_elements(right)
        if not _is_list(values):
            return compare(values, right)
        parents = pc.list_parent_indices(values)
        hits = compare(pc.list_flatten(values), right.take(parents))
        return _any_per_row(hits, parents.to_numpy(), len(values))

    return test


def _first_elements(values: pa.Array) -> pa.Array:
    from rules.columns import list_element

    return list_element(values, 0)


# --- applying a value predicate to any column shape ------------------------------------------------------

def apply_predicate(values: pa.Array, predicate: Predicate, *, every: bool = False) -> Mask:
    """Run a flat-value predicate on plain, dictionary or list columns; `every` = all list elements."""
    if _is_list(values):
        parents = pc.list_parent_indices(values).to_numpy()
        hits = apply_predicate(pc.list_flatten(values), predicate)
        if not every:
            return _any_per_row(hits, parents, len(values))
        failed = _any_per_row(~hits, parents, len(values))
        return _exists(values) & ~failed
    if pa.types.is_dictionary(values.type):
        dictionary, indices = values.dictionary, values.indices
        if len(dictionary) <= len(values):
            return lookup(predicate(dictionary), indices)
        values = dictionary.take(indices)  # a big dictionary for few rows: test the rows' values only
    return predicate(values)


def _any_per_row(hits: Mask, parents: np.ndarray, size: int) -> Mask:
    result = np.zeros(size, dtype=bool)
    result[parents[hits]] = True
    return result


def _exists(values: pa.Array) -> Mask:
    """The field yields a value: not null (a dictionary entry not null either), lists not empty."""
    if _is_list(values):
        return to_mask(pc.greater(pc.list_value_length(values), 0))
    if pa.types.is_dictionary(values.type):
        return lookup(valid_mask(values.dictionary), values.indices)
    return valid_mask(values)
