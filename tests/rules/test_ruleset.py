"""Ruleset: event-type index, first versus all matching, counters, required fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from rules import ast
from rules.evttypes import event_types
from rules.fields import REGISTRY
from rules.columns import arrow_type_of
from rules.parser import parse_condition, parse_field_ref
from rules.ruleset import Ruleset

STABLE_RULES = Path("/work/shared/peer/falco-rules/falco_rules.yaml")


@dataclass
class FakeOutput:
    fields: list[ast.FieldRef] = field(default_factory=list)


@dataclass
class FakeRule:
    """The attributes a Ruleset reads from a loaded rule."""

    name: str
    condition: ast.Node
    event_types: frozenset[str] | None
    enabled: bool = True
    priority: str = "WARNING"
    source: str = "syscall"
    output_format: FakeOutput = field(default_factory=FakeOutput)


def rule(name: str, condition: str, *, enabled: bool = True, outputs: tuple[str, ...] = ()) -> FakeRule:
    node = parse_condition(condition)
    return FakeRule(name, node, event_types(node), enabled,
                    output_format=FakeOutput([ast.FieldRef(text) for text in outputs]))


def batch(dictionary: bool = True) -> pa.RecordBatch:
    types = pa.array(["openat", "execve", "openat", "read", "execve", None])
    return pa.record_batch({
        "evt.type": types.dictionary_encode() if dictionary else types,
        "proc.name": pa.array(["cat", "bash", "bash", "bash", "sh", "bash"]),
        "fd.name": pa.array(["/etc/shadow", None, "/tmp/a", "/etc/x", None, "/etc/y"]),
    })


RULES = [
    rule("shadow read", "evt.type = openat and fd.name startswith /etc/"),
    rule("bash anything", "proc.name = bash"),
    rule("shell spawned", "evt.type in (execve, execveat) and proc.name in (bash, sh)"),
    rule("never", "evt.num = 0 and proc.name = bash"),
    rule("disabled", "proc.name exists", enabled=False),
]


@pytest.mark.parametrize("dictionary", [True, False])
def test_first_match_per_row(dictionary: bool) -> None:
    """With "first", each row reports only the earliest matching rule in definition order."""
    matches = Ruleset(RULES, rule_matching="first", registry=REGISTRY).evaluate(batch(dictionary))
    assert [(hit.rule_index, hit.rows.tolist()) for hit in matches] == [(0, [0]), (1, [1, 2, 3, 5]), (2, [4])]
    assert len(matches) == 6


@pytest.mark.parametrize("dictionary", [True, False])
def test_all_matches_per_row(dictionary: bool) -> None:
    """With "all", every matching rule is reported for every row."""
    matches = Ruleset(RULES, rule_matching="all", registry=REGISTRY).evaluate(batch(dictionary))
    assert [(hit.rule_index, hit.rows.tolist()) for hit in matches] == [
        (0, [0]), (1, [1, 2, 3, 5]), (2, [1, 4])]
    rows, rules = matches.by_event()
    assert rows.tolist() == [0, 1, 1, 2, 3, 4, 5]
    assert rules.tolist() == [0, 1, 2, 1, 1, 2, 1]


def test_rules_run_only_on_their_event_types() -> None:
    """Counters show each rule evaluated on its candidate rows only; an empty type set never runs."""
    ruleset = Ruleset(RULES, rule_matching="all", registry=REGISTRY)
    matches = ruleset.evaluate(batch())
    assert matches.evaluated.tolist() == [2, 6, 2, 0, 0]
    assert matches.matched.tolist() == [1, 4, 2, 0, 0]
    ruleset.evaluate(batch())
    assert ruleset.total_evaluated.tolist() == [4, 12, 4, 0, 0]


def test_first_skips_rows_already_matched() -> None:
    """Under "first", later rules are evaluated only on rows no earlier rule matched."""
    matches = Ruleset(RULES, rule_matching="first", registry=REGISTRY).evaluate(batch())
    assert matches.evaluated.tolist() == [2, 5, 1, 0, 0]


def test_disabled_rules_are_inactive() -> None:
    """A rule with enabled=False is compiled but never evaluated."""
    ruleset = Ruleset(RULES, registry=REGISTRY)
    assert [r.name for r in ruleset.active_rules] == ["shadow read", "bash anything", "shell spawned", "never"]
    assert ruleset.evaluate(batch()).rows_of(4).tolist() == []


def test_required_fields_cover_conditions_and_outputs() -> None:
    """Fields of every active condition and output, plus evt.type for the index."""
    rules = [rule("a", "proc.aname[2] = x and fd.name exists", outputs=("user.name", "proc.aname[3]")),
             rule("b", "fd.num > 1", enabled=False)]
    assert Ruleset(rules, registry=REGISTRY).required_fields == {
        "evt.type", "proc.aname[2]", "fd.name", "user.name", "proc.aname[3]"}


def test_batch_without_event_type_column() -> None:
    """Without evt.type only rules for every event type can match."""
    plain = pa.record_batch({"proc.name": pa.array(["bash", "zsh"])})
    matches = Ruleset(RULES, registry=REGISTRY).evaluate(plain)
    assert [(hit.rule_index, hit.rows.tolist()) for hit in matches] == [(1, [0])]


def test_empty_batch() -> None:
    """An empty batch gives no matches and zero counters."""
    matches = Ruleset(RULES, registry=REGISTRY).evaluate(batch().slice(0, 0))
    assert list(matches) == [] and matches.evaluated.sum() == 0


def test_unknown_rule_matching_rejected() -> None:
    """Only "first" and "all" are accepted."""
    with pytest.raises(ValueError, match="rule_matching"):
        Ruleset(RULES, rule_matching="some")


@pytest.mark.skipif(not STABLE_RULES.exists(), reason="stable rules not available")
def test_stable_rules_match_known_events() -> None:
    """The 25 upstream rules compile; a symlink over /etc/shadow and a shell run from /dev/shm match."""
    from rules.loader import load_rules

    loaded = load_rules([str(STABLE_RULES)])
    assert loaded.ok and len(loaded.rules) == 25
    ruleset = Ruleset(loaded.rules)
    columns = {}
    for name in sorted(ruleset.required_fields):
        ref = parse_field_ref(name)
        columns[name] = pa.nulls(3, arrow_type_of(ref, REGISTRY.get("syscall", ref.name)))
    columns["evt.type"] = pa.array(["symlinkat", "execve", "read"]).dictionary_encode()
    columns["evt.arg.target"] = pa.array(["/etc/shadow", None, None])
    columns["proc.exe"] = pa.array([None, "/dev/shm/x", None])
    columns["proc.name"] = pa.array(["ln", "x", "cat"])
    hits = {loaded.rules[hit.rule_index].name: hit.rows.tolist() for hit in ruleset.evaluate(
        pa.record_batch(columns))}
    assert hits == {"Create Symlink Over Sensitive Files": [0], "Execution from /dev/shm": [1]}
    assert isinstance(ruleset.evaluate(pa.record_batch(columns)).evaluated, np.ndarray)
