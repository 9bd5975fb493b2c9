"""Lists: one-level expansion of lists inside lists (spec 4.1) and textual substitution in conditions (4.2).

Falco substitutes lists in the condition *text* before parsing, not in the tree, and the traps that
follow are part of the language: a name is replaced wherever it is bounded by text start/end, a blank,
`(`, `)`, `,` or `=` (also inside quoted strings); items are joined with `, `; an item with a space that
does not start with a quote gets double quotes; an empty list also removes one neighbouring comma. The
algorithm below is libsinsp's, step for step (including where it resumes searching after a
substitution), carrying per-character marks so parse errors still point into the rules file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rules.collector import ListInfo
from rules.yaml_source import MappedText

_BLANKS = " \t\n\r"
_DELIMS = _BLANKS + "(),="


@dataclass
class CompiledList:
    """A list after 4.1 expansion: its items as text, in order."""

    name: str
    items: list[str]
    info: ListInfo
    used: bool = False
    referenced: list[str] = field(default_factory=list)


def quote_item(item: str) -> str:
    """Double-quote an item that has a space and does not start with a quote."""
    if " " in item and item[:1] not in ('"', "'"):
        return f'"{item}"'
    return item


def compile_lists(lists: dict[str, ListInfo]) -> dict[str, CompiledList]:
    """Expand each item naming a list defined before this list's last definition/append (one level)."""
    compiled: dict[str, CompiledList] = {}
    used: list[str] = []
    for info in lists.values():
        items: list[str] = []
        for scalar in info.items:
            ref = lists.get(scalar.text)
            if ref is not None and ref.index < info.visibility:
                used.append(ref.name)
                items.extend(s.text for s in ref.items)
            else:
                items.append(scalar.text)
        compiled[info.name] = CompiledList(info.name, items, info)
    for name in used:
        compiled[name].used = True
    return compiled


def substitute_lists(condition: MappedText, lists: dict[str, CompiledList]) -> tuple[MappedText, set[str]]:
    """Replace every list name in the text, lists in definition order; also return the names used."""
    used: set[str] = set()
    for compiled in lists.values():
        condition, hit = _substitute_one(condition, compiled)
        if hit:
            used.add(compiled.name)
    return condition, used


def _substitute_one(cnd: MappedText, lst: CompiledList) -> tuple[MappedText, bool]:
    name = lst.name
    sub_text = ", ".join(quote_item(item) for item in lst.items)
    used = False
    text = cnd.text
    start = text.find(name)
    while start >= 0:
        end = start + len(name)
        if (start == 0 or text[start - 1] in _DELIMS) and (end >= len(text) or text[end] in _DELIMS):
            origin = cnd.mark_at(start)
            while start > 0 and text[start - 1] in _BLANKS:
                start -= 1
            while end < len(text) and text[end] in _BLANKS:
                end += 1
            if not sub_text:
                if start > 0 and text[start - 1] == ",":
                    start -= 1
                elif end < len(text) and text[end] == ",":
                    end += 1
            replacement = MappedText.generated(sub_text + " ", origin)
            prefix = cnd[0:start] + MappedText.generated(" ", origin) if start > 0 else MappedText("", (), origin)
            cnd = prefix + replacement + cnd[end:]
            text = cnd.text
            start += len(sub_text) + 1
            used = True
        start = text.find(name, start + 1)
    return cnd, used
