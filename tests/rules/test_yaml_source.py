"""Tests for rules.yaml_source: scalars as text, positions, duplicate keys, per-character marks."""

from __future__ import annotations

import pytest

from rules.yaml_source import (FALSE_SPELLINGS, TRUE_SPELLINGS, MappedText, Map, Scalar, Seq, YamlSourceError,
                               read_documents, to_bool, to_uint)


def _first_item(text: str) -> Map:
    docs = read_documents("f.yaml", text)
    assert isinstance(docs[0], Seq)
    item = docs[0].items[0]
    assert isinstance(item, Map)
    return item


def _char_at(text: str, line: int, col: int) -> str:
    row = text.split("\n")[line - 1]
    return row[col - 1] if col - 1 < len(row) else "\n"


class TestScalarsAsText:
    def test_numbers_stay_text(self):
        """`[80, 443]` and `0755` are kept as the strings written, as yaml-cpp does."""
        item = _first_item("- list: ports\n  items: [80, 443, 0755, 1e3, 0x10]\n")
        items = item.get("items")
        assert isinstance(items, Seq)
        assert [s.text for s in items.items] == ["80", "443", "0755", "1e3", "0x10"]

    def test_booleans_stay_text_until_converted(self):
        """`enabled: yes` reads as the text `yes`; to_bool converts it."""
        item = _first_item("- rule: r\n  enabled: yes\n")
        value = item.get("enabled")
        assert isinstance(value, Scalar) and value.text == "yes"
        assert to_bool(value) is True

    @pytest.mark.parametrize("word", ["true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y"])
    def test_true_spellings(self, word):
        """Every yaml-cpp spelling of true converts to True."""
        assert word in TRUE_SPELLINGS
        assert to_bool(Scalar(word, None, "plain")) is True  # type: ignore[arg-type]

    @pytest.mark.parametrize("word", ["false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N"])
    def test_false_spellings(self, word):
        """Every yaml-cpp spelling of false converts to False."""
        assert word in FALSE_SPELLINGS
        assert to_bool(Scalar(word, None, "plain")) is False  # type: ignore[arg-type]

    @pytest.mark.parametrize("word", ["tRue", "1", "0", "enabled", ""])
    def test_not_booleans(self, word):
        """Mixed case and numbers are not booleans for yaml-cpp."""
        assert to_bool(Scalar(word, None, "plain")) is None  # type: ignore[arg-type]

    def test_uint(self):
        """capture_duration-style values: decimal digits only."""
        assert to_uint(Scalar("2000", None, "plain")) == 2000  # type: ignore[arg-type]
        assert to_uint(Scalar("-1", None, "plain")) is None  # type: ignore[arg-type]
        assert to_uint(Scalar("1.5", None, "plain")) is None  # type: ignore[arg-type]

    def test_null_values(self):
        """An empty plain value and `~` are null; a quoted empty string is not."""
        item = _first_item("- a:\n  b: ~\n  c: ''\n")
        assert item.get("a").is_null and item.get("b").is_null  # type: ignore[union-attr]
        assert not item.get("c").is_null  # type: ignore[union-attr]


class TestStructure:
    def test_several_documents(self):
        """Every document is returned; an empty one is None."""
        docs = read_documents("f.yaml", "- list: a\n  items: []\n---\n---\n- list: b\n  items: []\n")
        assert [type(d).__name__ if d is not None else None for d in docs] == ["Seq", None, "Seq"]

    def test_positions_of_items_keys_values(self):
        """Items, keys and values carry 1-based file:line:col marks."""
        text = "- rule: r\n  desc: >\n    hello\n- list: l\n  items: [a, 'b']\n"
        docs = read_documents("f.yaml", text)
        first, second = docs[0].items  # type: ignore[union-attr]
        assert (first.mark.line, first.mark.col) == (1, 3)
        assert (first.key_mark("desc").line, first.key_mark("desc").col) == (2, 3)
        assert (first.get("desc").mark.line, first.get("desc").mark.col) == (2, 9)
        b = second.get("items").items[1]
        assert (b.mark.file, b.mark.line, b.mark.col, b.text) == ("f.yaml", 5, 14, "b")

    def test_duplicate_key_rejected_with_position(self):
        """A repeated key is an error at the second occurrence, naming the first."""
        with pytest.raises(YamlSourceError) as info:
            read_documents("f.yaml", "- rule: r\n  desc: a\n  desc: b\n")
        assert info.value.message == "duplicate key 'desc' (first defined at line 2)"
        assert (info.value.mark.line, info.value.mark.col) == (3, 3)

    def test_syntax_error_position(self):
        """A YAML syntax error carries the parser's position."""
        with pytest.raises(YamlSourceError) as info:
            read_documents("f.yaml", "- rule: r\n  desc: a: b\n")
        assert info.value.message == "mapping values are not allowed in this context"
        assert (info.value.mark.file, info.value.mark.line, info.value.mark.col) == ("f.yaml", 2, 10)


CONDITION_FILE = """\
- rule: x
  condition: >
    evt.type = open and
      proc.name = foo

    and bar
  plain: a and
     b  and
    c
  sq: 'it''s a
     b'
  dq: "a\\tb \\
     c\\x41 d"
  lit: |
    line1
      more
    end
"""


class TestCharacterMarks:
    @pytest.mark.parametrize("key,value", [
        ("condition", "evt.type = open and\n  proc.name = foo\n\nand bar\n"),
        ("plain", "a and b  and c"),
        ("sq", "it's a b"),
        ("lit", "line1\n  more\nend\n"),
    ])
    def test_every_visible_character_maps_to_itself(self, key, value):
        """Each non-blank decoded character's mark points at that same character in the file."""
        scalar = _first_item(CONDITION_FILE).get(key)
        assert isinstance(scalar, Scalar) and scalar.text == value
        marks = scalar.marks()
        for i, char in enumerate(scalar.text):
            if char not in " \n":
                assert _char_at(CONDITION_FILE, marks[i].line, marks[i].col) == char, (key, i)

    def test_folded_positions(self):
        """In a `>` block, `proc.name` on the 4th line maps to line 4 column 7."""
        scalar = _first_item(CONDITION_FILE).get("condition")
        offset = scalar.text.index("proc.name")
        mark = scalar.marks()[offset]
        assert (mark.line, mark.col) == (4, 7)
        bar = scalar.marks()[scalar.text.index("bar")]
        assert (bar.line, bar.col) == (6, 9)

    def test_double_quoted_escapes_map_to_backslash(self):
        """A decoded escape maps to its backslash; text after an escaped line break stays aligned."""
        scalar = _first_item(CONDITION_FILE).get("dq")
        assert scalar.text == "a\tb cA d"
        marks = scalar.marks()
        assert (marks[1].line, marks[1].col) == (12, 9)
        assert (marks[5].line, marks[5].col) == (13, 7)
        assert (marks[7].line, marks[7].col) == (13, 12)


class TestMappedText:
    def test_concatenation_and_slices_keep_marks(self):
        """Appending generated text keeps the original marks; slices keep theirs."""
        scalar = _first_item("- macro: m\n  condition: a and b\n").get("condition")
        text = scalar.mapped() + " " + scalar.mapped()
        assert text.text == "a and b a and b"
        assert text.mark_at(8).col == 14 and text.mark_at(6).col == 20
        assert text.mark_at(7).col == 21  # the joining blank sits at the end of the first text
        tail = text[8:]
        assert tail.text == "a and b" and tail.mark_at(0).col == 14

    @pytest.mark.parametrize("key", ["condition", "plain", "sq", "dq", "lit"])
    def test_marks_made_when_read_are_the_scalars_marks_through_edits(self, key):
        """A scalar's mapped text makes its marks when read (LazyMarks); through concatenation with generated
        text and slices they are the marks the scalar gives, in the same places."""
        scalar = _first_item(CONDITION_FILE).get(key)
        eager, mark = scalar.marks()[:-1], scalar.mark
        text = MappedText.generated("(", mark) + scalar.mapped() + ") or " + scalar.mapped()
        expected = [mark, *eager, *[scalar.marks()[-1]] * 5, *eager]
        assert list(text.marks) == expected and len(text.marks) == len(text.text)
        for start, stop in ((0, 3), (1, len(eager) + 1), (4, len(text.text)), (len(eager), len(eager) + 7)):
            assert list(text[start:stop].marks) == expected[start:stop]
            assert list(reversed(text[start:stop].marks)) == expected[start:stop][::-1]
        assert [text.mark_at(i) for i in range(len(text.text))] == expected

    def test_strip(self):
        """strip() drops surrounding blanks and keeps marks aligned."""
        scalar = _first_item("- rule: r\n  output: '  hi there  '\n").get("output")
        stripped = scalar.mapped().strip()
        assert stripped.text == "hi there"
        assert stripped.mark_at(0).col == 14

    def test_generated_text(self):
        """Generated text is attributed to the given mark."""
        gen = MappedText.generated("xyz")
        assert gen.mark_at(1) is None and len(gen) == 3
