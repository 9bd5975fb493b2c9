"""YAML reading that keeps every scalar as its source text, with a file position for every node.

Falco reads rules with yaml-cpp, which never types scalars: `items: [80, 443]` are the strings `80`
and `443`, `0755` stays `0755`. We compose PyYAML nodes with the base (untyped) resolver and wrap them in
`Scalar`, `Seq` and `Map`, each carrying a `Mark` (file, 1-based line and column). Mapping keys may not
repeat. Booleans and unsigned integers are converted on request, with yaml-cpp's spellings.

A `Scalar` also maps every character of its decoded value back to the file (`Scalar.marks()`), through
folding (`>`), literal blocks (`|`), multi-line plain scalars, quotes and escapes; `MappedText` carries
such per-character marks through the text edits the loader makes (append, exceptions, list substitution)
so that a parser position in the final condition still names the exact place in the rule file.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Iterator, Union

import yaml

_Loader = getattr(yaml, "CBaseLoader", yaml.BaseLoader)

# yaml-cpp's boolean spellings: lower, Capitalised and UPPER case of each word.
_TRUE_WORDS = ("y", "yes", "true", "on")
_FALSE_WORDS = ("n", "no", "false", "off")
TRUE_SPELLINGS = frozenset(s for w in _TRUE_WORDS for s in (w, w.capitalize(), w.upper()))
FALSE_SPELLINGS = frozenset(s for w in _FALSE_WORDS for s in (w, w.capitalize(), w.upper()))
NULL_SPELLINGS = frozenset({"", "~", "null", "Null", "NULL"})


class SourceFile:
    """The text of one rules file, with its line table (for positions and caret snippets)."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text
        self._line_starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]

    def index_of(self, line0: int, col0: int) -> int:
        """Character offset of a 0-based (line, column) pair."""
        line0 = min(line0, len(self._line_starts) - 1)
        return self._line_starts[line0] + col0

    def mark_at(self, index: int) -> "Mark":
        """The mark of a character offset."""
        index = max(0, min(index, len(self.text)))
        line0 = bisect.bisect_right(self._line_starts, index) - 1
        return Mark(self.name, line0 + 1, index - self._line_starts[line0] + 1, self)

    def line_text(self, line: int) -> str:
        """Source line `line` (1-based) without its line break; empty when out of range."""
        if not 1 <= line <= len(self._line_starts):
            return ""
        start = self._line_starts[line - 1]
        end = self.text.find("\n", start)
        return self.text[start:] if end < 0 else self.text[start:end].rstrip("\r")


@dataclass(frozen=True)
class Mark:
    """A place in a rules file: file name, 1-based line and 1-based column."""

    file: str
    line: int
    col: int
    source: SourceFile | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class YamlSourceError(ValueError):
    """Input that is not (acceptable) YAML: syntax errors and repeated mapping keys."""

    def __init__(self, message: str, mark: Mark) -> None:
        super().__init__(f"{mark}: {message}")
        self.message = message
        self.mark = mark


@dataclass(eq=False)
class Scalar:
    """A scalar as source text (never typed), with its style and position."""

    text: str
    mark: Mark
    style: str  # "plain", "'", '"', "|" or ">"
    end_index: int = 0
    _marks: list[Mark] | None = field(default=None, repr=False)

    @property
    def is_null(self) -> bool:
        """True for a plain `~`, `null` or empty value (yaml-cpp's IsNull)."""
        return self.style == "plain" and self.text in NULL_SPELLINGS

    def marks(self) -> list[Mark]:
        """One mark per character of `text`, plus one for the end of the value."""
        if self._marks is None:
            source = self.mark.source
            self._marks = ([self.mark] * (len(self.text) + 1) if source is None else
                           [source.mark_at(i) for i in _scalar_offsets(self)])
        return self._marks

    def mapped(self) -> "MappedText":
        """The value as a `MappedText`, each character's mark made when first read (a rules file's conditions
        hold tens of thousands of characters; errors and the parsed conditions' nodes point at a few)."""
        source = self.mark.source
        if source is None:
            return MappedText(self.text, (self.mark,) * len(self.text), self.mark)
        offsets = _scalar_offsets(self)
        return MappedText(self.text, LazyMarks(((source, offsets[:-1]),)), source.mark_at(offsets[-1]))


@dataclass(eq=False)
class Seq:
    """A YAML sequence."""

    items: list["Node"]
    mark: Mark


@dataclass(eq=False)
class Map:
    """A YAML mapping with unique scalar keys, in source order."""

    entries: dict[str, tuple[Scalar, "Node"]]
    mark: Mark

    def __contains__(self, key: str) -> bool:
        return key in self.entries

    def get(self, key: str) -> "Node | None":
        entry = self.entries.get(key)
        return entry[1] if entry else None

    def key_mark(self, key: str) -> Mark:
        return self.entries[key][0].mark

    def keys(self) -> list[str]:
        return list(self.entries)


Node = Union[Scalar, Seq, Map]


def to_bool(scalar: Scalar) -> bool | None:
    """yaml-cpp's boolean conversion; None when the text is no boolean spelling."""
    if scalar.text in TRUE_SPELLINGS:
        return True
    if scalar.text in FALSE_SPELLINGS:
        return False
    return None


def to_uint(scalar: Scalar) -> int | None:
    """An unsigned decimal integer, or None."""
    text = scalar.text.strip()
    return int(text) if text.isdigit() and text.isascii() else None


def read_documents(name: str, text: str) -> list[Node | None]:
    """Every document of `text` (None for an empty or null document); raises YamlSourceError."""
    source = SourceFile(name, text)
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = source.mark_at(source.index_of(mark.line, mark.column)) if mark else Mark(name, 1, 1, source)
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise YamlSourceError(problem or "invalid YAML", where) from None
    except yaml.YAMLError as exc:
        raise YamlSourceError(str(exc), Mark(name, 1, 1, source)) from None
    docs: list[Node | None] = []
    for node in nodes:
        converted = _convert(node, source) if node is not None else None
        docs.append(None if isinstance(converted, Scalar) and converted.is_null else converted)
    return docs


def _node_mark(node: yaml.Node, source: SourceFile) -> Mark:
    return source.mark_at(source.index_of(node.start_mark.line, node.start_mark.column))


def _convert(node: yaml.Node, source: SourceFile) -> Node:
    mark = _node_mark(node, source)
    if isinstance(node, yaml.ScalarNode):
        style = node.style or "plain"
        end = source.index_of(node.end_mark.line, node.end_mark.column)
        return Scalar(node.value, mark, style, end)
    if isinstance(node, yaml.SequenceNode):
        return Seq([_convert(child, source) for child in node.value], mark)
    entries: dict[str, tuple[Scalar, Node]] = {}
    for key_node, value_node in node.value:
        key = _convert(key_node, source)
        key_scalar = key if isinstance(key, Scalar) else Scalar(str(key_node.value), key.mark, "plain")
        if key_scalar.text in entries:
            first = entries[key_scalar.text][0].mark
            raise YamlSourceError(
                f"duplicate key '{key_scalar.text}' (first defined at line {first.line})", key_scalar.mark
            )
        entries[key_scalar.text] = (key_scalar, _convert(value_node, source))
    return Map(entries, mark)


# --- per-character positions of a scalar ----------------------------------------------------------

_ESCAPE_LENGTHS = {"x": 4, "u": 6, "U": 10}


def _scalar_offsets(scalar: Scalar) -> list[int]:
    """The file offset of each character of the scalar's value, and of its end. The decoded value is aligned
    with its raw text; characters dropped by YAML are skipped.

    The raw text is walked forward once. A decoded character matches the same raw character; a blank
    or line break produced by folding matches a raw line break; indentation, the quotes, the block
    header and the second quote of `''` are skipped; a double-quoted escape maps to its backslash.
    """
    source = scalar.mark.source
    raw = source.text
    start = source.index_of(scalar.mark.line - 1, scalar.mark.col - 1)
    end = max(scalar.end_index, start)
    pos = _content_start(raw, start, end, scalar.style)
    indent = _block_indent(raw, pos, end) if scalar.style in ("|", ">") else None
    # Outside quotes, a line's text is the same in the value and in the file: it is mapped in one step (the
    # walk character by character would match each of its characters at once, in turn).
    whole_runs = scalar.style in ("plain", "|", ">")
    text = scalar.text
    result: list[int] = []
    i = 0
    while i < len(text):
        char = text[i]
        pos = _skip_indent(raw, pos, end, indent)
        if whole_runs:
            line_end = raw.find("\n", pos, end)
            run = raw[pos: end if line_end < 0 else line_end].rstrip(" \t\r")
            if run and text.startswith(run, i):
                result.extend(range(pos, pos + len(run)))
                i += len(run)
                pos += len(run)
                continue
        i += 1
        if scalar.style == '"' and pos < end and raw[pos] == "\\":
            pos = _skip_escaped_breaks(raw, pos, end)
            if pos < end and raw[pos] == "\\":
                result.append(pos)
                pos += _ESCAPE_LENGTHS.get(raw[pos + 1] if pos + 1 < end else "", 2)
                continue
        while pos < end and not _matches(char, raw[pos]):
            pos += 1
            pos = _skip_indent(raw, pos, end, indent)
        result.append(min(pos, max(end - 1, start)))
        if pos < end and scalar.style == "'" and char == "'" and raw[pos : pos + 2] == "''":
            pos += 1
        pos += 1
    result.append(min(pos, end))
    return result


def _matches(char: str, raw_char: str) -> bool:
    return raw_char == char or (char in " \n" and raw_char == "\n")


def _content_start(raw: str, start: int, end: int, style: str) -> int:
    if style in ("'", '"'):
        return start + 1
    if style in ("|", ">"):
        newline = raw.find("\n", start, end)
        return end if newline < 0 else newline + 1
    return start


def _block_indent(raw: str, pos: int, end: int) -> int:
    """Indentation of a block scalar: that of its first non-blank line."""
    line_start = pos
    while line_start < end:
        i = line_start
        while i < end and raw[i] == " ":
            i += 1
        if i < end and raw[i] not in "\r\n":
            return i - line_start
        newline = raw.find("\n", line_start, end)
        if newline < 0:
            break
        line_start = newline + 1
    return 0


def _skip_indent(raw: str, pos: int, end: int, indent: int | None) -> int:
    """At a line start, skip block indentation (block scalars) or leading blanks (flow scalars)."""
    if pos >= end or (pos > 0 and raw[pos - 1] != "\n"):
        return pos
    limit = end if indent is None else min(end, pos + indent)
    while pos < limit and raw[pos] in " \t":
        pos += 1
    return pos


def _skip_escaped_breaks(raw: str, pos: int, end: int) -> int:
    """A backslash before a line break joins lines in a double-quoted scalar: skip it."""
    while pos + 1 < end and raw[pos] == "\\" and raw[pos + 1] in "\r\n":
        pos += 2
        while pos < end and raw[pos] in " \t\r\n":
            pos += 1
    return pos


# --- text with per-character marks ----------------------------------------------------------------


class LazyMarks(Sequence):
    """Per-character marks made when read: pieces that are either ready marks (a tuple) or the characters'
    offsets into a source file. Concatenation and slices keep the pieces, so text edits cost no marks."""

    __slots__ = ("_len", "_pieces")

    def __init__(self, pieces: tuple[tuple[SourceFile | None, Sequence], ...]) -> None:
        self._pieces = tuple(piece for piece in pieces if len(piece[1]))
        self._len = sum(len(items) for _, items in self._pieces)

    @staticmethod
    def of(marks: Sequence[Mark | None]) -> "LazyMarks":
        return marks if isinstance(marks, LazyMarks) else LazyMarks(((None, tuple(marks)),))

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[Mark | None]:
        for source, items in self._pieces:
            if source is None:
                yield from items
            else:
                for offset in items:
                    yield source.mark_at(offset)

    def __reversed__(self) -> Iterator[Mark | None]:
        for source, items in reversed(self._pieces):
            for item in reversed(items):
                yield item if source is None else source.mark_at(item)

    def __getitem__(self, key):
        if isinstance(key, slice):
            start, stop, step = key.indices(self._len)
            if step != 1:
                return tuple(self)[key]
            pieces, at = [], 0
            for source, items in self._pieces:
                low, high = max(start - at, 0), min(stop - at, len(items))
                if low < high:
                    pieces.append((source, items[low:high]))
                at += len(items)
            return LazyMarks(tuple(pieces))
        index = key + self._len if key < 0 else key
        if not 0 <= index < self._len:
            raise IndexError(key)
        for source, items in self._pieces:
            if index < len(items):
                return items[index] if source is None else source.mark_at(items[index])
            index -= len(items)

    def __add__(self, other: Sequence[Mark | None]) -> "LazyMarks":
        return LazyMarks(self._pieces + LazyMarks.of(other)._pieces)

    def __radd__(self, other: Sequence[Mark | None]) -> "LazyMarks":
        return LazyMarks(LazyMarks.of(other)._pieces + self._pieces)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (tuple, LazyMarks)):
            return NotImplemented
        return len(self) == len(other) and tuple(self) == tuple(other)

    def __hash__(self) -> int:
        return hash(tuple(self))


@dataclass(frozen=True)
class MappedText:
    """A string whose characters each remember where they came from (None: generated text).

    `end` is the mark used for positions at or past the end of the text.
    """

    text: str
    marks: Sequence[Mark | None]  # a tuple, or LazyMarks (made per character when read)
    end: Mark | None = None

    @staticmethod
    def generated(text: str, mark: Mark | None = None) -> "MappedText":
        """Text the loader made up, every character attributed to `mark`."""
        return MappedText(text, (mark,) * len(text), mark)

    def __add__(self, other: "MappedText | str") -> "MappedText":
        if isinstance(other, str):
            other = MappedText.generated(other, self.end)
        return MappedText(self.text + other.text, self.marks + other.marks, other.end or self.end)

    def __len__(self) -> int:
        return len(self.text)

    def __getitem__(self, key: slice) -> "MappedText":
        if not isinstance(key, slice):
            raise TypeError("MappedText supports slices only")
        start, stop, _ = key.indices(len(self.text))
        end = self.marks[stop] if stop < len(self.marks) else self.end
        return MappedText(self.text[key], self.marks[key], end)

    def mark_at(self, offset: int) -> Mark | None:
        """The file position of character `offset` (the nearest known one for generated text)."""
        if offset >= len(self.marks):
            return self.end or next((m for m in reversed(self.marks) if m is not None), None)
        offset = max(offset, 0)
        for mark in self.marks[offset:]:
            if mark is not None:
                return mark
        return next((m for m in reversed(self.marks[:offset]) if m is not None), self.end)

    def strip(self) -> "MappedText":
        """Without leading and trailing whitespace (as Falco trims rule outputs)."""
        left = len(self.text) - len(self.text.lstrip())
        right = len(self.text.rstrip())
        return self[left:right] if right > left else self[0:0]

    def iter_marks(self) -> Iterator[Mark | None]:
        return iter(self.marks)
