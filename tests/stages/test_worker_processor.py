"""The rule processor a worker starts with (stages.sensor._BuiltBeforeFork): the one built before the fork,
unless rules were reloaded since, when a restarted worker must read the rule files as they are now."""

from __future__ import annotations

import functools
from pathlib import Path

from rules.loader import load_rules
from stages.evaluate import RuleProcessor
from stages.sensor import _BuiltBeforeFork

RULE = """
- rule: {name}
  desc: test
  condition: evt.type = openat
  output: "%proc.name"
  priority: NOTICE
"""


def test_workers_share_the_processor_until_a_reload_then_read_the_rule_files_afresh(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULE.format(name="Before"))
    processors = _BuiltBeforeFork(lambda: RuleProcessor(functools.partial(load_rules, [str(rules)])))
    first = processors(reloaded=False)
    assert processors(reloaded=False) is first  # built once, in the main process
    rules.write_text(RULE.format(name="After"))
    assert [r.name for r in processors(reloaded=False).rules] == ["Before"]  # no reload yet: the start-up rules
    assert [r.name for r in processors(reloaded=True).rules] == ["After"]
