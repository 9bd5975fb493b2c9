"""Whether a batch needs a field: whether some rule reading it may match a row, judged on cheap fields first.

A live batch of opens needs some 35 field columns for its candidate rows, yet on a host at work nearly none
of those rows can match: a rule on opens first tests what was opened and how (the event's own fields, its
fd) and only then who did it (ancestors, users, command lines), and every field costs the capture stage its
Arrow calls whatever the row count. So the capture computes a few cheap, telling fields first (`is_cheap`:
the event's type, the name of its fd or the path as given, the open mode, the process name and container
id), evaluates each rule's condition *relaxed* to them, and computes every other field only for a batch where
some rule reading it may match a row (then for all of its rows: a gather costs its calls, not its rows), null
on every row otherwise.

Relaxing keeps every check that reads cheap fields only and replaces the others by the constant that favours
a match (true, or false under a `not`), then folds the constants: the relaxed condition holds wherever the
rule's condition can hold, whatever the other fields turn out to be. A row where it is false cannot match
that rule with any values of the fields left out, null included, so the worker's verdict is the same.

A relaxed condition reads cheap fields only, so its answer for a row follows from the row's cheap values.
The answers are remembered per distinct combination of those values (`AnswerMemo`): a live host's batches
repeat the same few (type, fd name, process) combinations, and a combination seen before costs a dictionary
lookup instead of the condition's Arrow calls, which each batch paid whatever its size.

Fields no rule reads (the processor's own, for every alert) and the row-by-row `evt.args`/`evt.info` (gated
by full conditions, stages.sensor) are not gated here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rules import ast
from rules.columns import ALTERNATIVE_COLUMNS
from rules.compiler import CompiledCondition, Rows, compile_condition, condition_fields
from rules.ruleset import rule_fields

# What a rule first tests of an event: its type, what it names (the fd's name, the path as given) and how
# (opened for reading or writing), who (by name) did it, in which container. A busy host's programs read
# files below /etc all day: without the open mode, a rule on writes there keeps every batch's costly fields.
# Checks on other fields, also cheap ones (fd.num >= 0), rarely narrow a busy host's events, and each costs
# the capture stage its Arrow calls on every candidate row: they are relaxed too.
CHEAP_FIELDS = frozenset({"evt.type", "evt.dir", "evt.is_open_read", "evt.is_open_write", "evt.arg.name",
                          "fd.name", "fd.nameraw", "fd.directory", "fd.filename", "proc.name", "container.id"})
ROW_BY_ROW_FIELDS = ("evt.args", "evt.info")  # built in Python per event: only where a rule may print them
MEMO_COMBINATIONS = 1 << 14  # combinations of cheap values remembered (then forgotten all at once)
MEMO_MAX_DISTINCT = 512  # a batch with more combinations is judged directly (a tuple per row costs more)


def is_cheap(name: str) -> bool:
    """Fields computed before any gate, which the relaxed conditions read."""
    return name in CHEAP_FIELDS


def relax(node: ast.Node) -> ast.Node | bool:
    """A condition that holds wherever `node` can, reading cheap fields only; True/False when it folds to a
    constant (True: no cheap check narrows it; False: it can never hold)."""
    return _bound(node, upper=True)


def _bound(node: ast.Node, upper: bool) -> ast.Node | bool:
    """`node` with every non-cheap check replaced by `upper` (the bound from above) or by its negation."""
    if isinstance(node, ast.Check):
        return node if all(is_cheap(ref.text) for ref in condition_fields(node)) else upper
    if isinstance(node, ast.Not):
        child = _bound(node.child, not upper)
        return (not child) if isinstance(child, bool) else ast.Not(child, node.pos)
    if isinstance(node, (ast.And, ast.Or)):
        absorbing = isinstance(node, ast.Or)  # true ends an `or`, false an `and`
        kept = []
        for child in node.children:
            bound = _bound(child, upper)
            if isinstance(bound, bool):
                if bound == absorbing:
                    return absorbing
                continue
            kept.append(bound)
        if not kept:
            return not absorbing
        return kept[0] if len(kept) == 1 else type(node)(tuple(kept), node.pos)
    raise TypeError(f"cannot relax {type(node).__name__}")


class FieldGates:
    """The relaxed conditions of the syscall rules, and for each field the rules that read it."""

    def __init__(self, rules: Iterable, *, ungated: Iterable[str] = ()) -> None:
        """`ungated`: fields always computed on every row (what the pipeline reads of every event)."""
        rules, ungated = list(rules), frozenset(ungated)
        relaxed = [relax(rule.condition) for rule in rules]
        self._conditions: list[CompiledCondition | bool] = [
            bound if isinstance(bound, bool) else compile_condition(bound) for bound in relaxed]
        self._types = [rule.event_types for rule in rules]
        readers: dict[str, set[int]] = {}
        for index, rule in enumerate(rules):
            for name in rule_fields(rule):
                readers.setdefault(name, set()).add(index)
        for names in _sharing_columns(readers):  # one gate for fields that give the same column
            shared = set().union(*(readers[name] for name in names))
            for name in names:
                readers[name] = shared
        # A field is gated unless it is cheap, row by row, or read by a rule that nothing cheap narrows.
        self.readers = {name: tuple(sorted(i for i in users if self._conditions[i] is not False))
                        for name, users in readers.items()
                        if not is_cheap(name) and name not in ROW_BY_ROW_FIELDS and name not in ungated
                        and all(self._conditions[i] is not True for i in users)}
        self.fields = frozenset(self.readers)
        read = {ref.text for c in self._conditions if not isinstance(c, bool) for ref in c.fields}
        self._memo = AnswerMemo(sorted(read))

    def groups(self, batch: pa.RecordBatch, names: Iterable[str]) -> list[tuple[bool, list[str]]]:
        """The gated `names` grouped by the rules that read them, each group with whether one of those rules
        may match a row of `batch` (which holds the cheap fields); a rule is evaluated once, and only as long
        as its groups' answer is open."""
        present = (set(pc.unique(batch.column("evt.type")).to_pylist())
                   if "evt.type" in batch.schema.names else None)  # None: not known, every rule evaluated
        may_match: dict[int, bool] = {}
        seen: list[Combinations | None] = []  # made on first need: no rule may be evaluated at all

        def matches(index: int) -> bool:
            if index not in may_match:
                types = self._types[index]
                if not (types is None or present is None or types & present):
                    may_match[index] = False
                else:
                    if not seen:
                        seen.append(self._memo.combinations(batch))
                    may_match[index] = self._memo.any_match(index, self._conditions[index], batch, seen[0])
            return may_match[index]

        by_readers: dict[tuple[int, ...], list[str]] = {}
        for name in sorted(names):
            by_readers.setdefault(self.readers[name], []).append(name)
        return [(any(matches(index) for index in readers), members) for readers, members in by_readers.items()]


@dataclass
class Combinations:
    """The distinct combinations of a batch's cheap values: the memo's row for each, and the first batch row
    holding it."""

    ids: np.ndarray
    first: np.ndarray
    batch: pa.RecordBatch
    _sample: tuple[np.ndarray, Rows] | None = None

    def rows(self, unknown: np.ndarray) -> tuple[np.ndarray, Rows]:
        """Combinations to evaluate a rule on (those at positions `unknown`, maybe more) and their rows. The
        first rule to need some fixes them for the batch and the next rules share its gathered columns: a
        combination new to one rule is usually new to all."""
        if self._sample is None:
            self._sample = (unknown, Rows(self.batch, self.first[unknown]))
        sample, rows = self._sample
        if np.isin(unknown, sample).all():
            return sample, rows
        return unknown, Rows(self.batch, self.first[unknown])


class AnswerMemo:
    """Relaxed conditions' answers per combination of the values of the cheap fields they read (`names`).
    Each combination seen gets a row of two boolean tables (rules as columns): answer known, condition holds.
    A batch looks its combinations up once, then reads every rule's answers with numpy. Bounded: forgotten
    all at once when full."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self._ids: dict[tuple, int] = {}
        self._known = np.zeros((64, 8), dtype=bool)
        self._holds = np.zeros((64, 8), dtype=bool)

    def __len__(self) -> int:
        """Combinations remembered."""
        return len(self._ids)

    def combinations(self, batch: pa.RecordBatch) -> Combinations | None:
        """The batch's distinct combinations; None when there are too many to be worth remembering. A field
        the batch lacks reads as null on every row (`rules.columns.column_for`): it cannot tell rows apart."""
        key = np.zeros(batch.num_rows, dtype=np.int64)
        span = 1  # bound on the key's values
        columns: list[tuple[list, np.ndarray]] = []
        for name in self.names:
            if name not in batch.schema.names:
                continue
            values, codes = _dictionary_codes(batch.column(name))
            if span * len(values) >= 1 << 62:
                key = np.unique(key, return_inverse=True)[1].astype(np.int64)  # dense again: no overflow
                span = int(key.max()) + 1
            key = key * len(values) + codes
            span *= len(values)
            columns.append((values, codes))
        first = np.unique(key, return_index=True)[1]
        if len(first) > min(MEMO_MAX_DISTINCT, MEMO_COMBINATIONS):
            return None
        keys = list(zip(*([values[code] for code in codes[first].tolist()] for values, codes in columns)))
        if not columns:
            keys = [()] * len(first)
        return Combinations(self._rows_of(keys), first, batch)

    def _rows_of(self, keys: list[tuple]) -> np.ndarray:
        """The memo's row of each combination, new ones added (all forgotten first when they would not fit)."""
        ids = [self._ids.get(key, -1) for key in keys]
        new = [key for key, row in zip(keys, ids) if row < 0]
        if new:
            if len(self._ids) + len(new) > MEMO_COMBINATIONS:
                self._ids.clear()
                self._known[:] = False
                self._holds[:] = False
                new, ids = keys, [-1] * len(keys)
            for key in dict.fromkeys(new):
                self._ids[key] = len(self._ids)
            self._fit(len(self._ids), self._known.shape[1])
            ids = [self._ids[key] if row < 0 else row for key, row in zip(keys, ids)]
        return np.asarray(ids, dtype=np.int64)

    def _fit(self, rows: int, rules: int) -> None:
        """Room in the tables for `rows` combinations and `rules` rules (doubled as needed)."""
        height, width = self._known.shape
        if rows <= height and rules <= width:
            return
        while height < rows:
            height *= 2
        while width < rules:
            width *= 2
        for name in ("_known", "_holds"):
            grown = np.zeros((height, width), dtype=bool)
            old = getattr(self, name)
            grown[:old.shape[0], :old.shape[1]] = old
            setattr(self, name, grown)

    def any_match(self, index: int, condition: CompiledCondition, batch: pa.RecordBatch,
                  seen: Combinations | None) -> bool:
        """Whether rule `index`'s relaxed condition holds on some row of the batch: from the answers remembered
        for its combinations, the condition evaluated on one row of each combination not seen yet."""
        if seen is None:
            return bool(np.any(condition(batch)))
        self._fit(len(self._ids), index + 1)
        known, holds = self._known[seen.ids, index], self._holds[seen.ids, index]
        if holds.any():  # only known answers hold
            return True
        unknown = np.flatnonzero(~known)
        if not len(unknown):
            return False
        evaluated, rows = seen.rows(unknown)
        results = np.asarray(condition.evaluate(rows), dtype=bool)
        self._known[seen.ids[evaluated], index] = True
        self._holds[seen.ids[evaluated], index] = results
        return bool(results.any())


def _dictionary_codes(column: pa.Array) -> tuple[list, np.ndarray]:
    """(distinct values with None last, each row's index into them) of a column."""
    if not pa.types.is_dictionary(column.type):
        column = column.dictionary_encode()
    values = column.dictionary.to_pylist() + [None]
    indices = column.indices
    if indices.null_count:
        indices = indices.fill_null(len(values) - 1)
    return values, indices.to_numpy(zero_copy_only=False).astype(np.int64)


def _sharing_columns(names: Iterable[str]) -> list[set[str]]:
    """Groups of the given fields that give a column in common (`fd.ip` gives `fd.cip` and `fd.sip`)."""
    groups: list[set[str]] = []
    for field, columns in ALTERNATIVE_COLUMNS.items():
        members = {field, *columns}
        for group in [g for g in groups if g & members]:
            groups.remove(group)
            members |= group
        groups.append(members)
    present = set(names)
    return [group & present for group in groups if len(group & present) > 1]
