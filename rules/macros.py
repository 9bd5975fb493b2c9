"""Macro expansion: replace each `MacroRef` by the macro's parsed tree (Falco's `filter_macro_resolver`).

A macro keeps its own grouping (the tree is inserted, not the text). Visibility (spec 4.3): inside a
macro, only macros first defined before that macro's last definition or append; rules see every macro.
Each macro is expanded once under its own visibility and reused.

Trees are first `relocate`d: every position becomes a `SourcePos` holding the rules-file mark of that
character and the item (macro or rule) whose text it is. Positions then survive being moved into another
tree, so an error found after expansion still points into the macro's own condition where it was written.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from rules import ast
from rules.collector import MacroInfo
from rules.errors import Location
from rules.yaml_source import MappedText, Mark


@dataclass(frozen=True)
class SourcePos(ast.Pos):
    """A condition position that also knows its place in the rules file and the item it belongs to."""

    mark: Mark | None = None
    owner: Location | None = None


def relocate(node: Any, text: MappedText, owner: Location) -> Any:
    """A copy of `node` (any AST value) whose positions are `SourcePos` marks into `text`."""
    if isinstance(node, ast.Pos):
        return SourcePos(node.offset, node.line, node.col, text.mark_at(node.offset), owner)
    if isinstance(node, tuple):
        return tuple(relocate(child, text, owner) for child in node)
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        changes = {f.name: relocate(getattr(node, f.name), text, owner) for f in dataclasses.fields(node)}
        return dataclasses.replace(node, **changes)
    return node


class MacroError(Exception):
    """An undefined macro or a reference loop, at the position of the offending reference."""

    def __init__(self, message: str, pos: ast.Pos) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


class BrokenMacro(Exception):
    """A reference to a macro that itself failed (already reported): the user is skipped quietly."""


class MacroExpander:
    """Expands macro references; `trees` holds each macro's parsed, relocated tree (None if unparsable)."""

    def __init__(self, macros: dict[str, MacroInfo], trees: dict[str, ast.Node | None]) -> None:
        self._macros = macros
        self._trees = trees
        self._expanded: dict[str, ast.Node | Exception] = {}
        self.used: set[str] = set()

    def expand_macro(self, name: str, stack: tuple[str, ...] = ()) -> ast.Node:
        """The fully expanded tree of macro `name`; raises MacroError or BrokenMacro."""
        done = self._expanded.get(name)
        if isinstance(done, Exception):
            raise BrokenMacro(name) from done
        if done is not None:
            return done
        tree = self._trees.get(name)
        if tree is None:
            raise BrokenMacro(name)
        visibility = self._macros[name].visibility
        try:
            result = self._expand(tree, lambda m: m.index < visibility, stack + (name,))
        except (MacroError, BrokenMacro) as exc:
            if not stack:
                self._expanded[name] = exc
            raise
        self._expanded[name] = result
        return result

    def expand_rule(self, tree: ast.Node) -> ast.Node:
        """Expand a rule condition: every macro is visible."""
        return self._expand(tree, lambda m: True, ())

    def _expand(self, node: ast.Node, visible, stack: tuple[str, ...]) -> ast.Node:
        if isinstance(node, ast.MacroRef):
            return self._resolve(node, visible, stack)
        if isinstance(node, (ast.And, ast.Or)):
            return dataclasses.replace(node, children=tuple(self._expand(c, visible, stack) for c in node.children))
        if isinstance(node, ast.Not):
            return dataclasses.replace(node, child=self._expand(node.child, visible, stack))
        return node

    def _resolve(self, ref: ast.MacroRef, visible, stack: tuple[str, ...]) -> ast.Node:
        info = self._macros.get(ref.name)
        if info is None or not visible(info):
            raise MacroError(f"Undefined macro '{ref.name}' used in filter.", ref.pos)
        if ref.name in stack:
            raise MacroError(f"reference loop in macro '{ref.name}'", ref.pos)
        self.used.add(ref.name)
        return self.expand_macro(ref.name, stack)
