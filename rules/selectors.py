"""Rule selection from the configuration's `rules:` list (spec section 9).

Entries `- enable: {rule: P}`, `- disable: {rule: P}`, `- enable: {tag: T}`, `- disable: {tag: T}` are
applied in order after loading and win over each rule's `enabled` key. `P` matches the whole rule name
with `*` as the only wildcard; a tag selector hits the rules that have the tag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping


@dataclass(frozen=True)
class Selector:
    """One entry: `action` is "enable" or "disable"; exactly one of `rule` (a pattern) and `tag` is set."""

    action: str
    rule: str | None = None
    tag: str | None = None

    def __post_init__(self) -> None:
        if self.action not in ("enable", "disable"):
            raise ValueError(f"selector action must be 'enable' or 'disable', not '{self.action}'")
        if (self.rule is None) == (self.tag is None):
            raise ValueError("a selector names exactly one of 'rule' or 'tag'")

    def matches(self, name: str, tags: Iterable[str]) -> bool:
        if self.rule is not None:
            return pattern_regex(self.rule).fullmatch(name) is not None
        return self.tag in set(tags)


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """A rule-name pattern as a regex: `*` matches any text, everything else is literal."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


def parse_selector(entry: Selector | Mapping[str, Any]) -> Selector:
    """Accept a Selector or a config mapping such as `{"disable": {"rule": "*"}}`."""
    if isinstance(entry, Selector):
        return entry
    if len(entry) != 1:
        raise ValueError(f"a rules selector has one key, 'enable' or 'disable': {dict(entry)!r}")
    action, target = next(iter(entry.items()))
    if not isinstance(target, Mapping) or set(target) - {"rule", "tag"}:
        raise ValueError(f"'{action}' takes a mapping with 'rule' or 'tag': {target!r}")
    return Selector(str(action), _text(target.get("rule")), _text(target.get("tag")))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def selected(name: str, tags: Iterable[str], enabled: bool, selectors: Iterable[Selector]) -> bool:
    """The enabled state after applying the selectors in order, starting from the rule's own flag."""
    tag_set = set(tags)
    for selector in selectors:
        if selector.matches(name, tag_set):
            enabled = selector.action == "enable"
    return enabled
