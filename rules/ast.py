"""Condition syntax tree: frozen nodes with positions, structural equality and a canonical text form.

Positions are relative to the condition text that was parsed (after list substitution); the loader maps
them back to the rule file. Equality ignores positions so tests can compare trees built by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union


@dataclass(frozen=True)
class Pos:
    """A place in a condition text: 0-based character offset, 1-based line and column."""

    offset: int = 0
    line: int = 1
    col: int = 1

    def __str__(self) -> str:
        return f"{self.line}:{self.col}"


NOWHERE = Pos()


@dataclass(frozen=True)
class FieldRef:
    """A field as written in a condition or output: `proc.aname[2]`, `evt.arg.flags`, `fd.name`.

    `name` is the catalog field (`evt.arg` for `evt.arg.flags`), `arg` the argument if any (`flags`,
    `2`, `/proc*`), `dotted` whether the argument was written after a dot rather than in brackets.
    """

    name: str
    arg: str | None = None
    dotted: bool = False
    pos: Pos = field(default=NOWHERE, compare=False)

    @property
    def text(self) -> str:
        """The reference as written (canonical): also the column name an event batch uses for it."""
        if self.arg is None:
            return self.name
        return f"{self.name}.{self.arg}" if self.dotted else f"{self.name}[{self.arg}]"

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Transformer:
    """`tolower(x)`, `toupper(x)`, `b64(x)`, `basename(x)`, `len(x)`; nests (`toupper(basename(fd.name))`)."""

    name: str
    arg: "Operand"
    pos: Pos = field(default=NOWHERE, compare=False)

    @property
    def text(self) -> str:
        return f"{self.name}({self.arg.text})"

    def __str__(self) -> str:
        return self.text


Operand = Union[FieldRef, Transformer]


@dataclass(frozen=True)
class Const:
    """One constant right-hand side value, already unquoted and unescaped."""

    value: str
    pos: Pos = field(default=NOWHERE, compare=False)

    @property
    def text(self) -> str:
        return _quote(self.value)


@dataclass(frozen=True)
class ValueList:
    """A parenthesised list of constants: `(a, b, "c d")`."""

    values: tuple[str, ...]
    pos: Pos = field(default=NOWHERE, compare=False)

    @property
    def text(self) -> str:
        return "(" + ", ".join(_quote(v) for v in self.values) + ")"


@dataclass(frozen=True)
class FieldValue:
    """A field on the right-hand side: `val(proc.pname)` or a transformer."""

    operand: Operand
    pos: Pos = field(default=NOWHERE, compare=False)

    @property
    def text(self) -> str:
        if isinstance(self.operand, FieldRef):
            return f"val({self.operand.text})"
        return self.operand.text


Value = Union[Const, ValueList, FieldValue]

# Operators, as the parser normalises them ("==" becomes "=").
UNARY_OPS = frozenset({"exists"})
NUMERIC_OPS = frozenset({"<", "<=", ">", ">="})
STRING_OPS = frozenset(
    {"=", "!=", "glob", "iglob", "contains", "icontains", "bcontains", "startswith", "bstartswith",
     "endswith", "regex"}
)
LIST_OPS = frozenset({"in", "intersects", "pmatch"})
ALL_OPS = UNARY_OPS | NUMERIC_OPS | STRING_OPS | LIST_OPS
MODIFIERS = frozenset({"oneof", "anyof", "allof"})


@dataclass(frozen=True)
class Check:
    """`lhs op rhs`; `rhs` is None for `exists`. `modifier` is oneof/anyof/allof or None."""

    lhs: Operand
    op: str
    rhs: Value | None = None
    modifier: str | None = None
    pos: Pos = field(default=NOWHERE, compare=False)

    @property
    def text(self) -> str:
        if self.rhs is None:
            return f"{self.lhs.text} {self.op}"
        mod = f" {self.modifier}" if self.modifier else ""
        return f"{self.lhs.text} {self.op}{mod} {self.rhs.text}"


@dataclass(frozen=True)
class MacroRef:
    """An identifier in check position: a macro to be expanded."""

    name: str
    pos: Pos = field(default=NOWHERE, compare=False)

    @property
    def text(self) -> str:
        return self.name


@dataclass(frozen=True)
class Not:
    child: "Node"
    pos: Pos = field(default=NOWHERE, compare=False)

    @property
    def text(self) -> str:
        return f"not {self.child.text}"


@dataclass(frozen=True)
class And:
    children: tuple["Node", ...]
    pos: Pos = field(default=NOWHERE, compare=False)

    @property
    def text(self) -> str:
        return "(" + " and ".join(c.text for c in self.children) + ")"


@dataclass(frozen=True)
class Or:
    children: tuple["Node", ...]
    pos: Pos = field(default=NOWHERE, compare=False)

    @property
    def text(self) -> str:
        return "(" + " or ".join(c.text for c in self.children) + ")"


Node = Union[And, Or, Not, Check, MacroRef]


def _quote(value: str) -> str:
    """Render a constant so that the parser reads it back unchanged."""
    if value and all(c not in value for c in ' \t\r\n\b()"\'=,'):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    escaped = escaped.replace("\r", "\\r").replace("\b", "\\b")
    return f'"{escaped}"'


def walk(node: Node):
    """Yield every node of a tree, parents before children."""
    yield node
    if isinstance(node, (And, Or)):
        for child in node.children:
            yield from walk(child)
    elif isinstance(node, Not):
        yield from walk(node.child)


def operand_fields(operand: Operand) -> FieldRef:
    """The field at the bottom of a (possibly nested) transformer."""
    while isinstance(operand, Transformer):
        operand = operand.arg
    return operand
