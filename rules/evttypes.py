"""Which event types can a condition hold on? (spec section 8)

Checks on plain `evt.type` / `syscall.type` with `=`, `!=` or `in` name a set (`!=` its complement); `and`
intersects, `or` unites, `not` is pushed down to the leaves by De Morgan so it complements only those leaves.
Checks that `evt.num` can never pass (numbering starts at 1) select nothing. Every other check allows every
type. The result is None for "every type" and a frozenset otherwise (empty: the rule can never match).
"""

from __future__ import annotations

from dataclasses import dataclass

from rules import ast
from rules.fields.evttypes import KNOWN_EVENT_TYPES

TOO_MANY_TYPES = 100
NO_EVTTYPE_MESSAGE = (
    "Rule matches too many evt.type values. This has a significant performance penalty. "
    "Consider adding an evt.type condition to the rule."
)

_TYPE_FIELDS = frozenset({"evt.type", "syscall.type"})


@dataclass(frozen=True)
class _TypeSet:
    """A set of event types, or the complement of one (so `!=` needs no universe until the end)."""

    names: frozenset[str]
    complement: bool = False

    def __and__(self, other: "_TypeSet") -> "_TypeSet":
        if not self.complement and not other.complement:
            return _TypeSet(self.names & other.names)
        if self.complement and other.complement:
            return _TypeSet(self.names | other.names, True)
        positive, negative = (other, self) if self.complement else (self, other)
        return _TypeSet(positive.names - negative.names)

    def __or__(self, other: "_TypeSet") -> "_TypeSet":
        return ~(~self & ~other)

    def __invert__(self) -> "_TypeSet":
        return _TypeSet(self.names, not self.complement)


_ALL = _TypeSet(frozenset(), complement=True)
_NONE = _TypeSet(frozenset())


def event_types(node: ast.Node) -> frozenset[str] | None:
    """Event types a (macro-expanded) condition can match on: None = every type, empty = none."""
    result = _types(node, negated=False)
    if result.complement:
        return None if not result.names else frozenset(KNOWN_EVENT_TYPES - result.names)
    return result.names


def too_many(types: frozenset[str] | None) -> bool:
    """True when a rule would run on more than 100 event types (LOAD_NO_EVTTYPE); empty sets never warn."""
    return types is None or len(types) > TOO_MANY_TYPES


def _types(node: ast.Node, negated: bool) -> _TypeSet:
    if isinstance(node, ast.Not):
        return _types(node.child, not negated)
    if isinstance(node, (ast.And, ast.Or)):
        # De Morgan: under a negation, "and" behaves as "or" over negated children and vice versa.
        intersect = isinstance(node, ast.And) != negated
        result = _ALL if intersect else _NONE
        for child in node.children:
            child_types = _types(child, negated)
            result = result & child_types if intersect else result | child_types
        return result
    if isinstance(node, ast.Check):
        leaf = _check_types(node)
        if leaf is None:
            return _ALL
        return ~leaf if negated else leaf
    return _ALL


def _check_types(check: ast.Check) -> _TypeSet | None:
    """The set one check selects, or None when it does not constrain the type (under negation too)."""
    if not isinstance(check.lhs, ast.FieldRef) or check.lhs.arg is not None:
        return None
    if check.lhs.name in _TYPE_FIELDS and check.modifier is None:
        names = _constant_values(check.rhs)
        if names is None:
            return None
        if check.op in ("=", "in"):
            return _TypeSet(names)
        if check.op == "!=":
            return ~_TypeSet(names)
        return None
    if check.lhs.name == "evt.num" and _evt_num_never(check):
        return _NONE
    return None


def _evt_num_never(check: ast.Check) -> bool:
    """`evt.num` starts at 1, so `=0`, `<1`, `<=0`, `in (0)` can never hold."""
    values = _constant_values(check.rhs)
    if not values:
        return False
    try:
        numbers = [int(v) for v in values]
    except ValueError:
        return False
    if check.op in ("=", "in"):
        return all(n < 1 for n in numbers)
    if check.op == "<":
        return numbers[0] <= 1
    if check.op == "<=":
        return numbers[0] <= 0
    return False


def _constant_values(value: ast.Value | None) -> frozenset[str] | None:
    if isinstance(value, ast.Const):
        return frozenset({value.value})
    if isinstance(value, ast.ValueList):
        return frozenset(value.values)
    return None
