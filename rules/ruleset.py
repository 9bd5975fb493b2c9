"""The active rules of a load, indexed by event type and evaluated batch by batch.

Each batch is split once by `evt.type` (by dictionary index); a rule runs only on the rows of its event
types (`event_types` None: every row; empty: never), rules in definition order. With `rule_matching="first"`
(Falco's default) a row stops at its first matching rule, so later rules see only rows not matched yet; with
`"all"` every matching rule is reported. Rules sharing an event-type set share one row selection, so a column
is gathered once for all of them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rules.compiler import CompiledCondition, Rows, compile_condition, condition_fields
from rules.fields.base import FieldRegistry

EVENT_TYPE_COLUMN = "evt.type"
RULE_MATCHING = ("first", "all")


class RuleMatch(NamedTuple):
    """The rows (batch positions, ascending) on which one rule matched."""

    rule_index: int
    rows: np.ndarray


@dataclass
class Matches:
    """Result of one batch: matches per rule in definition order, and per-rule counters for metrics.

    `rule_index` and the counter arrays are indexed like the `loaded_rules` list the Ruleset was built from.
    """

    hits: list[RuleMatch]
    evaluated: np.ndarray  # rows each rule was evaluated on
    matched: np.ndarray  # rows each rule matched

    def __iter__(self) -> Iterator[RuleMatch]:
        return iter(self.hits)

    def __len__(self) -> int:
        return sum(len(hit.rows) for hit in self.hits)

    def rows_of(self, rule_index: int) -> np.ndarray:
        for hit in self.hits:
            if hit.rule_index == rule_index:
                return hit.rows
        return np.zeros(0, dtype=np.int64)

    def by_event(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows, rule indices) of every match ordered by row, then by rule definition order."""
        if not self.hits:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        rows = np.concatenate([hit.rows for hit in self.hits])
        rules = np.concatenate([np.full(len(hit.rows), hit.rule_index, dtype=np.int64) for hit in self.hits])
        order = np.lexsort((rules, rows))
        return rows[order], rules[order]


@dataclass
class _ActiveRule:
    index: int
    rule: Any
    condition: CompiledCondition
    event_types: frozenset[str] | None


@dataclass
class _BatchSplit:
    """One batch split by event type: row selections per event-type set, built on first use."""

    batch: pa.RecordBatch
    codes: np.ndarray  # dictionary index of each row's event type; len(names) for a null type
    names: list[str | None]
    column_names: frozenset[str]
    selections: dict[frozenset[str] | None, tuple[np.ndarray, Rows]] = field(default_factory=dict)

    def candidates(self, event_types: frozenset[str] | None) -> tuple[np.ndarray, Rows]:
        if event_types not in self.selections:
            if event_types is None:
                rows = np.arange(self.batch.num_rows)
                selection = Rows(self.batch, None, self.column_names)
            else:
                wanted = np.array([name in event_types for name in self.names] + [False], dtype=bool)
                rows = np.flatnonzero(wanted[self.codes])
                # Every row (a batch of one event type): read the columns as they are, without a gather.
                whole = len(rows) == self.batch.num_rows
                selection = Rows(self.batch, None if whole else rows, self.column_names)
            self.selections[event_types] = rows, selection
        return self.selections[event_types]


class Ruleset:
    """Compiled enabled rules, evaluated per batch (`evaluate`)."""

    def __init__(self, loaded_rules: Sequence[Any], *, rule_matching: str = "first",
                 registry: FieldRegistry | None = None) -> None:
        if rule_matching not in RULE_MATCHING:
            raise ValueError(f"rule_matching must be one of {RULE_MATCHING}, not {rule_matching!r}")
        if registry is None:
            from rules.fields import REGISTRY as registry  # noqa: N811 - the shared default registry
        self.rules = list(loaded_rules)
        self.rule_matching = rule_matching
        self._active = [
            _ActiveRule(index, rule, compile_condition(rule.condition, registry=registry, source=rule.source),
                        None if rule.event_types is None else frozenset(rule.event_types))
            for index, rule in enumerate(self.rules) if rule.enabled
        ]
        self.total_evaluated = np.zeros(len(self.rules), dtype=np.int64)
        self.total_matched = np.zeros(len(self.rules), dtype=np.int64)

    @property
    def active_rules(self) -> list[Any]:
        return [active.rule for active in self._active]

    @property
    def condition_fields(self) -> set[str]:
        """Canonical column names the conditions read (and `evt.type`): enough to evaluate, not to format."""
        names = {EVENT_TYPE_COLUMN}
        for active in self._active:
            names.update(ref.text for ref in active.condition.fields)
        return names

    @property
    def required_fields(self) -> set[str]:
        """Canonical column names the batch must provide: conditions, outputs and `evt.type`."""
        names = {EVENT_TYPE_COLUMN}
        for active in self._active:
            names.update(ref.text for ref in active.condition.fields)
            names.update(output_fields(active.rule))
        return names

    def evaluate(self, batch: pa.RecordBatch) -> Matches:
        """Matches of the active rules on `batch` (see the module docstring for first/all)."""
        split = _split_by_event_type(batch)
        first = self.rule_matching == "first"
        taken = np.zeros(batch.num_rows, dtype=bool)  # rows already matched ("first" only)
        evaluated = np.zeros(len(self.rules), dtype=np.int64)
        matched = np.zeros(len(self.rules), dtype=np.int64)
        hits: list[RuleMatch] = []
        for active in self._active:
            if active.event_types is not None and not active.event_types:
                continue
            rows, selection = split.candidates(active.event_types)
            if first and len(rows):
                free = ~taken[rows]
                if not free.all():
                    local = np.flatnonzero(free)
                    rows, selection = rows[local], selection.select(local)
            if not len(rows):
                continue
            hit_rows = rows[active.condition.evaluate(selection)]
            evaluated[active.index] += len(rows)
            matched[active.index] += len(hit_rows)
            if len(hit_rows):
                hits.append(RuleMatch(active.index, hit_rows))
                if first:
                    taken[hit_rows] = True
        self.total_evaluated += evaluated
        self.total_matched += matched
        return Matches(hits, evaluated, matched)


def _split_by_event_type(batch: pa.RecordBatch) -> _BatchSplit:
    """Dictionary codes of the event type column (encoding it if it is plain); no column: all rows null."""
    column_names = frozenset(batch.schema.names)
    if EVENT_TYPE_COLUMN not in column_names:
        return _BatchSplit(batch, np.zeros(batch.num_rows, dtype=np.int64), [], column_names)
    column = batch.column(EVENT_TYPE_COLUMN)
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column)
    names = column.dictionary.to_pylist()
    indices = column.indices
    if indices.null_count:
        indices = pc.fill_null(indices, len(names))
    return _BatchSplit(batch, indices.to_numpy(), names, column_names)


def output_fields(rule: Any) -> set[str]:
    """Canonical column names a rule's output prints."""
    output_format = getattr(rule, "output_format", None)
    return {ref.text for ref in getattr(output_format, "fields", ()) or ()}


def rule_fields(rule: Any) -> set[str]:
    """Canonical column names one rule reads (condition, output and `evt.type`), without compiling it."""
    return {EVENT_TYPE_COLUMN, *(ref.text for ref in condition_fields(rule.condition)), *output_fields(rule)}
