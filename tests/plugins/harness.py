"""Run a plugin source's rules over events in-process: extraction + vectorized evaluation, no pipeline.

The same steps the sensor's capture and worker stages take for a plugin batch (stages/plugins/base.py,
stages/plugins/stream.py, stages/evaluate.py), for unit tests of field extraction and rule behaviour.
"""

from __future__ import annotations


from rules.loader import load_rules
from stages.evaluate import RuleProcessor
from stages.plugins.base import FieldExtractor, PluginEvent, raw_batch


def events(payloads: list[bytes], times: list[int] | None = None) -> list[PluginEvent]:
    times = times or [1_700_000_000_000_000_000 + i for i in range(len(payloads))]
    return [PluginEvent(i + 1, t, p) for i, (t, p) in enumerate(zip(times, payloads))]


def alerts(extractor: FieldExtractor, rule_files: list[str], batch_events: list[PluginEvent],
           rule_matching: str = "first") -> list[dict]:
    """Alert records (Falco's JSON shape) the rules give for these events, in event order."""
    result = load_rules(rule_files)
    assert result.ok, "\n".join(m.render_text() for m in result.errors)
    processor = RuleProcessor(lambda: result, source=extractor.source, rule_matching=rule_matching,
                              hostname="test-host", complete=extractor.complete)
    raw = raw_batch(extractor.source, batch_events)
    # As the sensor splits the work: the capture stage extracts what conditions (and stateful outputs) read,
    # a worker adds the output fields for the matched events only.
    wanted = processor.condition_fields | {f for f in processor.required_fields if extractor.is_stateful(f)}
    return processor.process(extractor.columns(raw, wanted, keep_payload=True))


def fired(extractor: FieldExtractor, rule_files: list[str], batch_events: list[PluginEvent]) -> list[str]:
    """Names of the rules that fired, one per alert, in event order."""
    return [a["rule"] for a in alerts(extractor, rule_files, batch_events)]


