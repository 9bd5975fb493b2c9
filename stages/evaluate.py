"""What a rule worker does with a batch: evaluate the loaded rules and turn matches into alerts.

The rules are loaded inside the worker (at start and on RELOAD), so a worker restarted after a crash, or
reloaded on SIGHUP, reads the rule files afresh. A reload that fails keeps the rules in force and says so.
Per batch the work is vectorized (`rules.ruleset.Ruleset`); Python touches only matched rows, to format
their outputs.
"""

from __future__ import annotations

import socket
from typing import Callable

import pyarrow as pa

from config.logs import get_logger
from rules.ruleset import Ruleset
from stages.alert import Alert

TIME_COLUMN = "evt.rawtime"


class RuleProcessor:
    """Evaluates one source's rules on enriched batches; see `stages.worker.Processor`."""

    def __init__(self, load: Callable[[], object], *, source: str = "syscall", rule_matching: str = "first",
                 hostname: str | None = None) -> None:
        self._load = load
        self.source = source
        self.rule_matching = rule_matching
        self.hostname = hostname or socket.gethostname()
        self.log = get_logger("worker")
        self.rules, self.ruleset = self._build()
        self.last_rule_counts: tuple | None = None  # (evaluated, matched) per rule for the last batch

    def _build(self) -> tuple[list, Ruleset]:
        result = self._load()
        if not result.ok:
            raise RuntimeError("rules failed to load:\n" + "\n".join(m.render_text() for m in result.errors))
        rules = [r for r in result.rules if r.source == self.source]
        return rules, Ruleset(rules, rule_matching=self.rule_matching)

    def reload(self) -> None:
        try:
            self.rules, self.ruleset = self._build()
        except RuntimeError as exc:
            self.log.error("reload failed; keeping the rules in force", detail=str(exc))

    def process(self, batch: pa.RecordBatch) -> list[dict]:
        matches = self.ruleset.evaluate(batch)
        self.last_rule_counts = (matches.evaluated, matches.matched)
        if not len(matches):
            return []
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

    @property
    def required_fields(self) -> set[str]:
        return set(self.ruleset.required_fields) | {TIME_COLUMN}
