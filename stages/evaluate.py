"""What a rule worker does with a batch: evaluate the loaded rules and turn matches into alerts.

The rules are loaded inside the worker (at start and on RELOAD), so a worker restarted after a crash, or
reloaded on SIGHUP, reads the rule files afresh. A reload that fails keeps the rules in force and says so.
Per batch the work is vectorized (`rules.ruleset.Ruleset`); Python touches only matched rows, to format
their outputs.
"""

from __future__ import annotations

import socket
from typing import Callable

import numpy as np
import pyarrow as pa

from config.logs import get_logger
from rules.ruleset import Ruleset
from stages.alert import Alert
from stages.plugins.base import batch_source

TIME_COLUMN = "evt.rawtime"


class RuleProcessor:
    """Evaluates one source's rules on enriched batches; see `stages.worker.Processor`."""

    def __init__(self, load: Callable[[], object], *, source: str = "syscall", rule_matching: str = "first",
                 hostname: str | None = None,
                 complete: Callable[[pa.RecordBatch, set[str]], pa.RecordBatch] | None = None) -> None:
        """`complete(rows, fields)`, when given, adds the named output columns to a batch of matched rows only:
        the batches then need to carry only the conditions' columns (`condition_fields`)."""
        self._load = load
        self.complete = complete
        self.source = source
        self.rule_matching = rule_matching
        self.hostname = hostname or socket.gethostname()
        self.log = get_logger("worker")
        self.rules, self.positions, self.ruleset = self._build()
        # (evaluated, matched, positions): per rule of this source for the last batch, and each rule's
        # position among all loaded rules (the per-rule counters are indexed by the latter)
        self.last_rule_counts: tuple | None = None

    def _build(self) -> tuple[list, np.ndarray, Ruleset]:
        result = self._load()
        if not result.ok:
            raise RuntimeError("rules failed to load:\n" + "\n".join(m.render_text() for m in result.errors))
        positions = [i for i, r in enumerate(result.rules) if r.source == self.source]
        rules = [result.rules[i] for i in positions]
        return rules, np.array(positions, dtype=np.int64), Ruleset(rules, rule_matching=self.rule_matching)

    def reload(self, load: Callable[[], object] | None = None) -> None:
        """Rebuild from the rule files (or from `load`, a shared load of them)."""
        if load is not None:
            self._load = load
        try:
            self.rules, self.positions, self.ruleset = self._build()
        except RuntimeError as exc:
            self.log.error("reload failed; keeping the rules in force", detail=str(exc))

    def process(self, batch: pa.RecordBatch) -> list[dict]:
        matches = self.ruleset.evaluate(batch)
        self.last_rule_counts = (matches.evaluated, matches.matched, self.positions)
        if not len(matches):
            return []
        if self.complete is not None:
            batch, matches = self._matched_rows_completed(batch, matches)
        times = batch.column(TIME_COLUMN) if TIME_COLUMN in batch.schema.names else None
        alerts: list[tuple[int, int, dict]] = []
        for rule_index, rows in matches:
            rule = self.rules[rule_index]
            row_list = rows.tolist()
            messages = rule.output_format.render(batch, row_list)
            fields = rule.output_format.output_fields(batch, row_list)
            stamps = times.take(pa.array(rows)).to_pylist() if times is not None else [0] * len(row_list)
            for row, message, output_fields, stamp in zip(row_list, messages, fields, stamps):
                alert = Alert(rule=rule.name, priority=rule.priority, source=rule.source, time_ns=int(stamp or 0),
                              message=message, output_fields=output_fields, tags=tuple(rule.tags),
                              hostname=self.hostname)
                alerts.append((row, rule_index, alert.to_record()))
        alerts.sort(key=lambda item: (item[0], item[1]))  # event order, then rule definition order
        return [record for _, _, record in alerts]

    def _matched_rows_completed(self, batch: pa.RecordBatch, matches) -> tuple[pa.RecordBatch, list]:
        """The matched rows only, with every output column; the matches renumbered into them (order kept)."""
        matched = np.unique(np.concatenate([rows for _, rows in matches]))
        rows_batch = self.complete(batch.take(pa.array(matched)), self.required_fields - set(batch.schema.names))
        return rows_batch, [(rule_index, np.searchsorted(matched, rows)) for rule_index, rows in matches]

    @property
    def required_fields(self) -> set[str]:
        return set(self.ruleset.required_fields) | {TIME_COLUMN}

    @property
    def condition_fields(self) -> set[str]:
        return set(self.ruleset.condition_fields) | {TIME_COLUMN}


class SourceProcessors:
    """The rule processors of a stream that carries several sources (the plugin sources): one per source,
    all built from one load of the rule files; each batch goes to the processor of the source it is tagged
    with."""

    def __init__(self, load: Callable[[], object], sources: list[str], *,
                 completers: dict[str, Callable[[pa.RecordBatch, set[str]], pa.RecordBatch]] | None = None,
                 **options) -> None:
        self._load = load
        result = load()
        completers = completers or {}
        self.by_source = {source: RuleProcessor(lambda: result, source=source, complete=completers.get(source),
                                                **options) for source in sources}
        self.last_rule_counts: tuple | None = None

    def process(self, batch: pa.RecordBatch) -> list[dict]:
        processor = self.by_source[batch_source(batch)]
        alerts = processor.process(batch)
        self.last_rule_counts = processor.last_rule_counts
        return alerts

    def reload(self) -> None:
        try:
            result = self._load()
        except Exception as exc:  # a rules file that no longer parses: keep the rules in force
            get_logger("worker").error("reload failed; keeping the rules in force", detail=str(exc))
            return
        for processor in self.by_source.values():
            processor.reload(lambda: result)
