"""Tests for rules.evttypes: event-type sets of conditions (spec section 8)."""

from __future__ import annotations

import pytest

from rules.evttypes import event_types, too_many
from rules.fields.evttypes import KNOWN_EVENT_TYPES
from rules.parser import parse_condition
from tests.rules import stable_file


def types(text: str):
    return event_types(parse_condition(text))


@pytest.mark.parametrize("text,expected", [
    ("evt.type = open", {"open"}),
    ("evt.type in (open, openat)", {"open", "openat"}),
    ("syscall.type = connect", {"connect"}),
    ("evt.type = open or evt.type = close", {"open", "close"}),
    ("evt.type in (open, close) and evt.type in (close, read)", {"close"}),
    ("evt.type = open and proc.name = x", {"open"}),
    ("evt.type = open and evt.type = close", set()),
    ("not (evt.type != open)", {"open"}),
    ("not (evt.type != open or evt.type != close)", set()),
    ("not (evt.type != open and evt.type != close)", {"open", "close"}),
    ("evt.num = 0", set()),
    ("evt.num < 1", set()),
    ("evt.num <= 0", set()),
    ("evt.num in (0)", set()),
    ("(evt.num=0) or evt.type = open", {"open"}),
    ("evt.type = open and not evt.num = 0", {"open"}),
])
def test_restricted_sets(text: str, expected: set[str]) -> None:
    """Conditions that name types give exactly those types."""
    assert types(text) == frozenset(expected)


@pytest.mark.parametrize("text", [
    "proc.name = x", "evt.type exists", "evt.num != 0", "evt.num > 0", "evt.num >= 0", "evt.num >= 1",
    "evt.type = open or proc.name = x", "not evt.num = 0", "evt.type startswith open",
    "not proc.name = x",
])
def test_unrestricted(text: str) -> None:
    """Checks that do not constrain the type allow every type (None)."""
    assert types(text) is None


def test_not_equal_is_complement() -> None:
    """`!=` gives every known type but the named ones."""
    result = types("evt.type != open")
    assert result == KNOWN_EVENT_TYPES - {"open"}
    assert types("not evt.type = open") == result


def test_too_many() -> None:
    """More than 100 types, or all types, warn; empty sets and small sets do not."""
    assert too_many(None) and too_many(types("evt.type != open"))
    assert not too_many(frozenset()) and not too_many(frozenset({"open"}))


def test_stable_rules_are_all_restricted() -> None:
    """Every stable rule has a small type set; together they use the 19 documented types."""
    union: set[str] = set()
    for rule in stable_file.rules():
        result = event_types(stable_file.rule_condition(rule))
        assert result is not None and 0 < len(result) <= 3, rule["rule"]
        union |= result
    assert sorted(union) == ["connect", "dup", "dup2", "dup3", "execve", "execveat", "finit_module",
                             "init_module", "link", "linkat", "open", "openat", "openat2", "ptrace", "sendmsg",
                             "sendto", "socket", "symlink", "symlinkat"]


def test_stable_macros() -> None:
    """`spawned_process`, `open_read` and `never_true` resolve as the spec says."""
    macros = stable_file.macros()
    assert event_types(stable_file.expand(macros["spawned_process"])) == {"execve", "execveat"}
    assert event_types(stable_file.expand(macros["open_read"])) == {"open", "openat", "openat2"}
    assert event_types(macros["never_true"]) == frozenset()
