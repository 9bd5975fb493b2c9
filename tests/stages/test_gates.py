"""Field gates: rule conditions relaxed to the cheap fields, and fields computed only where a rule may match."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.load import load_config
from config.logs import get_logger
from rules import ast
from rules.compiler import compile_condition, condition_fields
from rules.parser import parse_condition
from stages import gates
from stages.commands import load_ruleset
from stages.evaluate import RuleProcessor
from stages.gates import AnswerMemo, relax
from stages.sensor import rule_plan
from stages.sources import SyscallReplay
from tests.conftest import ROOT, SHARED, STABLE_RULES

CAPTURES = SHARED / "peer" / "scap" / "captures"

# Rules that match often and mix cheap checks (type, open mode, path, process name) with costly ones (users,
# ancestors, command lines, fd numbers), under `not`, `or` and exceptions, printing fields of both kinds.
MIXED = """
- rule: writes opened by a named program
  desc: how the file was opened (cheap) and who opened it (costly)
  condition: >
    evt.type in (open, openat) and evt.is_open_write = true
    and not fd.name startswith /proc and not user.name = nobody
  output: "write %fd.name %user.name %proc.cmdline %evt.arg.name"
  priority: NOTICE
- rule: reads by path as given
  desc: the path as the program gave it (cheap) and a costly check
  condition: evt.type in (open, openat) and evt.is_open_read = true and evt.arg.name contains "/" and proc.pname exists
  output: "read %evt.arg.name %proc.pname %user.uid"
  priority: INFO
- rule: etc opens by non-root
  desc: a cheap check and a costly one
  condition: evt.type in (open, openat) and fd.name startswith /etc and not user.name = root
  output: "open %fd.name by %user.name %proc.cmdline parent %proc.pname gp %proc.aname[2]"
  priority: WARNING
- rule: any open with a parent
  desc: nothing cheap narrows it besides its type
  condition: evt.type in (open, openat) and proc.pname exists and fd.typechar = f
  output: "open %fd.name %proc.pcmdline %evt.is_open_read %user.uid"
  priority: NOTICE
- rule: exec below a shell
  desc: a costly check under a not
  condition: evt.type = execve and evt.dir = < and not proc.aname[1] in (systemd, init) and proc.name != foo
  output: "exec %proc.cmdline %proc.aname[1] %proc.aname[3] %proc.exepath %container.image.repository"
  priority: NOTICE
  exceptions:
    - name: by_parent
      fields: [proc.pname]
      values: [[sshd]]
- rule: network by uid
  desc: an or of cheap and costly checks
  condition: evt.type in (connect, accept, accept4, sendto, recvfrom) and (fd.name contains ":80" or user.uid = 0 or fd.l4proto = udp)
  output: "net %fd.name %user.uid %proc.name %fd.sport %fd.cip"
  priority: NOTICE
- rule: loopback peers
  desc: fd.ip gives the column fd.cip too, here under another rule's gate
  condition: evt.type = connect and fd.name contains "127.0.0.1" and fd.ip = "127.0.0.1"
  output: "loopback %fd.ip"
  priority: NOTICE
- rule: reads and writes
  desc: many rows
  condition: evt.type in (read, write) and evt.dir = < and (fd.num > 2 or proc.cmdline contains nginx) and not fd.name startswith /dev
  output: "rw %fd.num %fd.name %proc.cmdline %evt.rawres"
  priority: INFO
- rule: close by named process
  desc: a not of an and with costly parts
  condition: evt.type = close and not (proc.name = bash and user.name = root) and not proc.duration < 0
  output: "close %fd.name %proc.name %proc.duration %user.loginuid"
  priority: DEBUG
"""


def _relaxed(text: str) -> str | bool:
    bound = relax(parse_condition(text))
    return bound if isinstance(bound, bool) else bound.text


def test_checks_on_costly_fields_become_the_constant_that_favours_a_match() -> None:
    assert _relaxed("evt.type = open and user.name = root") == "evt.type = open"
    assert _relaxed("evt.type = open and not user.name = root") == "evt.type = open"
    assert _relaxed("evt.type = open or user.name = root") is True
    assert _relaxed("not (fd.name = /a or proc.cmdline contains x)") == "not fd.name = /a"
    assert _relaxed("not (fd.name = /a and proc.cmdline contains x)") is True
    assert _relaxed("evt.type = open and not (fd.name = /a and proc.cmdline contains x)") == "evt.type = open"
    assert _relaxed("evt.type = open and (fd.name = /a and not proc.name = sh) and fd.num < 0") == \
        "(evt.type = open and (fd.name = /a and not proc.name = sh))"
    assert _relaxed("user.uid = 0") is True
    assert _relaxed("fd.name startswith /etc and (fd.directory = /etc/pam.d or fd.num > 2)") == \
        "fd.name startswith /etc"


CHEAP_CHECKS = [parse_condition(text) for text in ("evt.type = open", "fd.name = /a", "proc.name = sh")]
COSTLY_CHECKS = [parse_condition(text) for text in ("user.uid = 0", "proc.aname[2] = bash", "fd.num > 2")]
CHECKS = CHEAP_CHECKS + COSTLY_CHECKS


def _conditions():
    leaves = st.sampled_from(CHECKS)
    return st.recursive(leaves, lambda children: st.one_of(
        children.map(ast.Not),
        st.lists(children, min_size=2, max_size=3).map(lambda c: ast.And(tuple(c))),
        st.lists(children, min_size=2, max_size=3).map(lambda c: ast.Or(tuple(c)))), max_leaves=12)


def _truth(node: ast.Node | bool, values: dict) -> bool:
    if isinstance(node, bool):
        return node
    if isinstance(node, ast.Check):
        return values[node]
    if isinstance(node, ast.Not):
        return not _truth(node.child, values)
    results = [_truth(child, values) for child in node.children]
    return all(results) if isinstance(node, ast.And) else any(results)


@settings(max_examples=300, deadline=None)
@given(_conditions(), st.lists(st.booleans(), min_size=len(CHECKS), max_size=len(CHECKS)))
def test_a_relaxed_condition_holds_wherever_the_condition_does(condition, truths) -> None:
    """Whatever the checks on the costly fields say, a row the condition accepts passes its relaxed form,
    which reads the cheap checks only."""
    values = dict(zip(CHECKS, truths))
    relaxed = relax(condition)
    if _truth(condition, values):
        assert _truth(relaxed, values)
    if not isinstance(relaxed, bool):
        assert {ref.text for ref in condition_fields(relaxed)} <= {"evt.type", "fd.name", "proc.name"}


def _alerts(capture: Path, rules: Path, gated: bool) -> list[dict]:
    config = load_config(ROOT / "config" / "replay.yaml", [f"rules_files=[{STABLE_RULES},{rules}]", "priority=debug"])
    load = functools.partial(load_ruleset, config)
    plan = rule_plan(load, get_logger("test"))
    if not gated:
        plan = dataclasses.replace(plan, field_gates=None)
    source = SyscallReplay(str(capture), plan=lambda: plan, batch_size=64)  # small: gates differ by batch
    processor = RuleProcessor(load, hostname="test")
    alerts = []
    for raw in source.batches():
        batch = source.prepare(raw)
        if batch is not None:
            alerts += processor.process(batch)
    return alerts


@pytest.mark.parametrize("capture", ["libs__test_libsinsp_e2e_resources_captures_curl_google__26c88ba9.scap",
                                     "sysdig-opensource-examples__example0_nginx__e3a0456e.scap",
                                     "falco__test_trace_files_psp_run_as_user_0_container__641c4c5f.scap"])
def test_gated_fields_give_the_same_alerts_as_fields_computed_on_every_candidate_row(capture, tmp_path) -> None:
    rules = tmp_path / "mixed.yaml"
    rules.write_text(MIXED)
    gated = _alerts(CAPTURES / capture, rules, gated=True)
    assert len(gated) > 50
    assert gated == _alerts(CAPTURES / capture, rules, gated=False)


UNNARROWED = """
- rule: nothing cheap
  desc: no check on a cheap field, so its fields are needed on every candidate row
  condition: proc.pname exists and user.uid = 0
  output: "%proc.pcmdline"
  priority: NOTICE
"""


def test_the_plan_gates_costly_fields_and_leaves_cheap_and_unnarrowed_ones(tmp_path) -> None:
    rules = tmp_path / "mixed.yaml"
    rules.write_text(MIXED + UNNARROWED)
    config = load_config(ROOT / "config" / "replay.yaml", [f"rules_files=[{rules}]"])
    gates = rule_plan(functools.partial(load_ruleset, config), get_logger("test")).field_gates
    assert {"user.name", "proc.aname[2]", "proc.cmdline", "proc.duration", "fd.cip", "fd.ip"} <= gates.fields
    assert not {"fd.name", "proc.name", "evt.type"} & gates.fields  # cheap: computed first, for the gates
    assert not {"proc.pname", "proc.pcmdline", "user.uid"} & gates.fields  # read by the rule nothing narrows
    # fd.ip gives the columns fd.cip and fd.sip: one gate for the three, or one could null another's column
    assert gates.readers["fd.ip"] == gates.readers["fd.cip"] and len(gates.readers["fd.cip"]) == 2


# --- answers remembered per combination of cheap values ----------------------------------------------

MEMO_RULES = [compile_condition(parse_condition(text)) for text in (
    "evt.type in (open, openat) and fd.name startswith /etc and not proc.name = bash",
    "fd.name = /tmp/x or proc.name in (cat, sh)",
    "not evt.type = close and fd.directory = /etc",
    "evt.type = openat and evt.is_open_write = true and not fd.name = /tmp/x")]
MEMO_FIELDS = sorted({ref.text for rule in MEMO_RULES for ref in rule.fields})
CHEAP_VALUES = {"evt.type": ["open", "openat", "close"], "fd.name": ["/etc/passwd", "/etc/shadow", "/tmp/x", None],
                "proc.name": ["bash", "cat", "sh", None], "fd.directory": ["/etc", "/tmp", None],
                "evt.is_open_write": [True, False, None]}


def _cheap_batch(rows: list[tuple], encode: bool) -> pa.RecordBatch:
    """A batch of cheap fields; with `encode`, some columns dictionary-encoded as the capture gives them."""
    columns = {}
    for i, name in enumerate(CHEAP_VALUES):
        kind = pa.bool_() if name.startswith("evt.is_") else pa.string()
        column = pa.array([row[i] for row in rows], type=kind)
        columns[name] = column.dictionary_encode() if encode and name in ("proc.name", "fd.directory") else column
    return pa.RecordBatch.from_pydict(columns)


_ROWS = st.lists(st.tuples(*(st.sampled_from(values) for values in CHEAP_VALUES.values())), max_size=12)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_ROWS, st.booleans()), min_size=1, max_size=6))
def test_remembered_answers_equal_the_conditions_on_every_batch(batches) -> None:
    """One memo across a stream of batches (repeating combinations, columns plain or dictionary-encoded)
    answers each rule as its condition evaluated on every row of the batch would."""
    memo = AnswerMemo(MEMO_FIELDS)
    for rows, encode in batches:
        batch = _cheap_batch(rows, encode)
        seen = memo.combinations(batch)
        for index, rule in enumerate(MEMO_RULES):
            assert memo.any_match(index, rule, batch, seen) == bool(np.any(rule(batch)))


class _Counted:
    """A compiled condition that records how many rows it was evaluated on."""

    def __init__(self, rule) -> None:
        self.rule, self.rows = rule, []

    def __call__(self, batch, selection=None):
        result = self.rule(batch, selection)
        self.rows.append(len(result))
        return result

    def evaluate(self, rows):
        result = self.rule.evaluate(rows)
        self.rows.append(len(result))
        return result


def test_a_combination_seen_before_is_not_evaluated_again() -> None:
    memo = AnswerMemo(MEMO_FIELDS)
    rule = _Counted(MEMO_RULES[0])
    rows = [("openat", "/etc/passwd", "bash", "/etc", False), ("close", "/tmp/x", "cat", "/tmp", None)] * 50
    batch = _cheap_batch(rows, encode=True)
    assert memo.any_match(0, rule, batch, memo.combinations(batch)) is False
    assert rule.rows == [2]  # one row of each combination, not the 100 rows
    again = _cheap_batch(rows[:7], encode=False)  # the same values, encoded otherwise
    assert memo.any_match(0, rule, again, memo.combinations(again)) is False
    assert rule.rows == [2]
    new = _cheap_batch(rows + [("openat", "/etc/shadow", "cat", "/etc", True)], encode=True)
    assert memo.any_match(0, rule, new, memo.combinations(new)) is True
    assert rule.rows == [2, 1]


def test_the_memo_is_bounded_and_skips_batches_of_too_many_combinations(monkeypatch) -> None:
    monkeypatch.setattr(gates, "MEMO_COMBINATIONS", 5)
    memo = AnswerMemo(MEMO_FIELDS)
    for first in range(20):
        rows = [("open", f"/etc/{first}/{i}", "cat", "/etc", None) for i in range(3)]
        batch = _cheap_batch(rows, encode=True)
        assert memo.any_match(0, MEMO_RULES[0], batch, memo.combinations(batch)) is True
        assert len(memo) <= 5
    monkeypatch.setattr(gates, "MEMO_MAX_DISTINCT", 2)
    batch = _cheap_batch([("open", f"/tmp/{i}", "bash", None, False) for i in range(3)], encode=False)
    assert memo.combinations(batch) is None
    assert memo.any_match(1, MEMO_RULES[1], batch, None) is False
