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


GATED = """
- rule: Prints args
  desc: test
  condition: evt.type = socket and evt.arg.domain contains AF_PACKET
  output: "socket %evt.args"
  priority: WARNING
- rule: Tests args
  desc: test
  condition: evt.type = connect and evt.args contains 443
  output: "connect %evt.args"
  priority: WARNING
"""


def test_the_plan_gates_a_row_by_row_field_only_where_rules_print_it(tmp_path: Path) -> None:
    """A row-by-row field the rules only print is built where one of their conditions holds; one a rule
    tests in its condition is built for every row of the rules' event types (no gate)."""
    import functools

    import pyarrow as pa

    from config.logs import get_logger
    from stages.sensor import rule_plan

    rules = tmp_path / "rules.yaml"
    rules.write_text(GATED.split("- rule: Tests args")[0])
    plan = rule_plan(functools.partial(load_ruleset, _config(rules)), get_logger("test"))
    assert plan.only_for == {"evt.args": frozenset({"socket"})} and set(plan.gates) == {"evt.args"}
    batch = pa.RecordBatch.from_pydict({"evt.type": ["socket", "socket", "open"],
                                        "evt.arg.domain": ["AF_PACKET", "AF_INET", "AF_PACKET"]})
    assert plan.gates["evt.args"](batch).tolist() == [True, False, False]
    rules.write_text(GATED)
    plan = rule_plan(functools.partial(load_ruleset, _config(rules)), get_logger("test"))
    assert plan.only_for == {"evt.args": frozenset({"socket", "connect"})} and plan.gates == {}
