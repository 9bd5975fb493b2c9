"""Rule loading for the sensor's processes: one parse per content of the rules files."""

from __future__ import annotations

from pathlib import Path

from config.load import load_config
from stages.commands import load_ruleset
from tests.conftest import ROOT

RULE = """
- rule: Probe {n}
  desc: test
  condition: evt.type = openat
  output: "probe {n}"
  priority: {priority}
"""


def _config(rules: Path, *overrides: str):
    return load_config(ROOT / "config" / "replay.yaml", [f"rules_files=[{rules}]", *overrides])


def test_an_unchanged_rules_file_is_parsed_once(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULE.format(n=1, priority="WARNING"))
    first = load_ruleset(_config(rules))
    assert load_ruleset(_config(rules)) is first
    assert [r.name for r in first.rules] == ["Probe 1"]


def test_a_changed_file_or_setting_is_loaded_afresh(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULE.format(n=1, priority="WARNING"))
    first = load_ruleset(_config(rules))
    rules.write_text(RULE.format(n=2, priority="WARNING"))  # same size, maybe the same mtime: content counts
    second = load_ruleset(_config(rules))
    assert [r.name for r in second.rules] == ["Probe 2"]
    assert [r.name for r in load_ruleset(_config(rules, "priority=error")).rules] == []
    assert load_ruleset(_config(rules)) is not first
