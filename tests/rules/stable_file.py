"""The stable Falco rules file as test data: crude list substitution and macro expansion for parser tests.

The loader owns the real passes; these few lines only let parser, checker and event-type tests run over
upstream conditions without depending on it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

from rules import ast
from rules.parser import parse_condition

STABLE_RULES = Path("/work/shared/peer/falco-rules/falco_rules.yaml")


@lru_cache(maxsize=1)
def items() -> tuple[dict, ...]:
    loaded = yaml.load(STABLE_RULES.read_text(), Loader=yaml.BaseLoader)
    return tuple(item for item in loaded if isinstance(item, dict))


def substitute_lists(text: str) -> str:
    """Textual list substitution of spec 4.2, enough for the stable file."""
    for item in items():
        if "list" not in item:
            continue
        name, values = item["list"], item["items"]
        joined = ", ".join(f'"{v}"' if " " in v and v[0] not in "\"'" else v for v in values)
        bounded = r"(?:(?<=^)|(?<=[\s(),=]))" + re.escape(name) + r"(?=$|[\s(),=])"
        if not values:
            text = re.sub(r",\s*" + bounded + "|" + bounded + r"\s*,?", "", text)
        else:
            text = re.sub(bounded, lambda _: joined, text)
    return text


@lru_cache(maxsize=1)
def macros() -> dict[str, ast.Node]:
    return {item["macro"]: parse_condition(substitute_lists(item["condition"]))
            for item in items() if "macro" in item}


def expand(node: ast.Node) -> ast.Node:
    """Replace macro references by their trees, recursively."""
    if isinstance(node, ast.MacroRef):
        return expand(macros()[node.name])
    if isinstance(node, ast.Not):
        return ast.Not(expand(node.child), node.pos)
    if isinstance(node, ast.And):
        return ast.And(tuple(expand(c) for c in node.children), node.pos)
    if isinstance(node, ast.Or):
        return ast.Or(tuple(expand(c) for c in node.children), node.pos)
    return node


def rules() -> list[dict]:
    return [item for item in items() if "rule" in item]


def rule_condition(rule: dict) -> ast.Node:
    return expand(parse_condition(substitute_lists(rule["condition"])))
