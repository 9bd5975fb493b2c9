"""Tests for rules.lists: lists inside lists (spec 4.1) and textual substitution with its traps (4.2, 11)."""

from __future__ import annotations

import pytest

from rules.collector import ListInfo
from rules.lists import CompiledList, compile_lists, quote_item, substitute_lists
from rules.loader import load_rules
from rules.yaml_source import MappedText, read_documents


def _lists(**items: list[str]) -> dict[str, CompiledList]:
    """Compiled lists in the given order, without lists-in-lists expansion."""
    return {name: CompiledList(name, values, ListInfo(name, [], None)) for name, values in items.items()}  # type: ignore[arg-type]


def _sub(text: str, **items: list[str]) -> str:
    result, _ = substitute_lists(MappedText.generated(text), _lists(**items))
    return result.text


def _load(tmp_path, text: str):
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    return load_rules([str(path)])


class TestQuoting:
    def test_item_with_space_is_double_quoted(self):
        """An item with a space that does not start with a quote gets double quotes."""
        assert quote_item("a b") == '"a b"'

    def test_item_starting_with_quote_is_verbatim(self):
        """Items that already carry quotes (the stable file's `'"sh -c ..."'`) go in unchanged."""
        assert quote_item('"sh -c uname -p 2> /dev/null"') == '"sh -c uname -p 2> /dev/null"'
        assert quote_item("'a b'") == "'a b'"

    def test_item_with_tab_only_is_not_quoted(self):
        """Only a space triggers quoting, as upstream."""
        assert quote_item("a\tb") == "a\tb"


class TestSubstitution:
    def test_inside_parentheses_with_literals(self):
        """`in (list_a, list_b, literal)` expands both lists in place."""
        assert _sub("proc.name in (list_a, list_b, zsh)", list_a=["bash", "sh"], list_b=["ksh"]) == \
            "proc.name in ( bash, sh , ksh , zsh)"

    def test_bare_list_after_in(self):
        """`in list_a` becomes `in x` (parses only for a one-item list)."""
        assert _sub("proc.name in list_a", list_a=["bash"]) == "proc.name in bash "

    def test_bounded_by_equals(self):
        """`=` bounds a name: `proc.name=list_a` is substituted."""
        assert _sub("proc.name=list_a", list_a=["bash"]) == "proc.name= bash "

    def test_inside_quoted_string_when_blank_bounded(self):
        """A blank-bounded name inside a quoted string is replaced too (a known trap)."""
        assert _sub('proc.cmdline contains "run list_a now"', list_a=["x"]) == 'proc.cmdline contains "run x now"'

    @pytest.mark.parametrize("text", ["proc.name = list_a_x", "proc.name = my.list_a", "fd.name = /tmp/list_a",
                                      "proc.name = xlist_a"])
    def test_not_replaced_inside_words(self, text):
        """A name next to other word characters, dots or slashes is left alone."""
        assert _sub(text, list_a=["bash"]) == text

    def test_quoting_applied(self):
        """Items with spaces are quoted when substituted."""
        assert _sub("proc.cmdline in (cmds)", cmds=["a b", '"c d"', "e"]) == 'proc.cmdline in ( "a b", "c d", e )'

    def test_empty_list_removes_comma_on_left(self):
        """`(a, empty)`: the comma before the empty list goes away."""
        assert _sub("proc.name in (a, empty)", empty=[]) == "proc.name in (a  )"

    def test_empty_list_removes_comma_on_right(self):
        """`(empty, a)`: with no comma on the left, the one on the right goes."""
        assert _sub("proc.name in (empty, a)", empty=[]) == "proc.name in (   a)"

    def test_empty_list_alone(self):
        """`(empty)` becomes an empty list."""
        assert _sub("proc.name in (empty)", empty=[]) == "proc.name in (  )"

    def test_two_empty_lists(self):
        """Each empty list removes one comma."""
        assert _sub("proc.name in (e1, e2, a)", e1=[], e2=[]) == "proc.name in (   a)"

    def test_used_names_reported(self):
        """Only lists actually substituted are reported as used."""
        _, used = substitute_lists(MappedText.generated("proc.name in (a)"), _lists(a=["x"], b=["y"]))
        assert used == {"a"}

    def test_substituted_text_points_at_list_name(self):
        """Characters of the substituted items map to the list name occurrence in the file."""
        docs = read_documents("f.yaml", "- macro: m\n  condition: proc.name in (shells)\n")
        scalar = docs[0].items[0].get("condition")  # type: ignore[union-attr]
        result, _ = substitute_lists(scalar.mapped(), _lists(shells=["bash", "sh"]))
        assert result.text == "proc.name in ( bash, sh )"
        bash = result.mark_at(result.text.index("bash"))
        assert (bash.line, bash.col) == (2, 28)
        close = result.mark_at(result.text.index(")"))
        assert (close.line, close.col) == (2, 34)


class TestListsInLists:
    def _compiled(self, text: str) -> dict[str, list[str]]:
        from rules.collector import Collector
        from rules.reader import read_items
        docs = read_documents("f.yaml", text)
        collector = Collector((0, 63, 0), {"syscall"}, lambda s, f: True, lambda m: None)
        for definition in read_items(docs, lambda m: None, lambda m: None):
            collector.add(definition)
        return {name: c.items for name, c in compile_lists(collector.collection.lists).items()}

    def test_one_level_expansion(self):
        """A list naming an earlier list takes its raw items; deeper names stay literal."""
        lists = self._compiled(
            "- list: a\n  items: [x]\n- list: b\n  items: [a, y]\n- list: c\n  items: [b, z]\n")
        assert lists == {"a": ["x"], "b": ["x", "y"], "c": ["a", "y", "z"]}

    def test_later_list_not_expanded(self):
        """A name of a list defined after this list is a literal string."""
        lists = self._compiled("- list: b\n  items: [a, y]\n- list: a\n  items: [x]\n")
        assert lists["b"] == ["a", "y"]

    def test_append_makes_later_list_visible(self):
        """An append after the other list's definition makes it visible (visibility = last append)."""
        lists = self._compiled(
            "- list: b\n  items: [y]\n- list: a\n  items: [x]\n"
            "- list: b\n  items: [a]\n  override:\n    items: append\n")
        assert lists["b"] == ["y", "x"]


class TestThroughLoader:
    BASE = """\
- list: shells
  items: [bash, sh]
- list: one
  items: [zsh]
- list: empty
  items: []
- macro: spawned
  condition: evt.type = execve
"""

    def _rule(self, condition: str) -> str:
        return self.BASE + f"- rule: r\n  desc: d\n  condition: {condition}\n  output: o\n  priority: INFO\n"

    def test_in_with_lists_and_literals(self, tmp_path):
        """A rule mixing lists and literals in one list compiles."""
        result = _load(tmp_path, self._rule("spawned and proc.name in (shells, one, empty, fish)"))
        assert result.errors == []
        assert result.rules[0].condition_text == "spawned and proc.name in ( bash, sh , zsh   , fish)"

    def test_in_bare_one_item_list(self, tmp_path):
        """`in one` works for a one-item list."""
        result = _load(tmp_path, self._rule("spawned and proc.name in one"))
        assert result.errors == []

    def test_in_bare_multi_item_list_fails(self, tmp_path):
        """`in shells` with two items becomes `in bash, sh` and fails to parse."""
        result = _load(tmp_path, self._rule("spawned and proc.name in shells"))
        assert [e.code for e in result.errors] == ["LOAD_ERR_COMPILE_CONDITION"]

    def test_list_as_bare_value(self, tmp_path):
        """`proc.name = one` compares with the item of the one-item list."""
        result = _load(tmp_path, self._rule("spawned and proc.name = one"))
        assert result.errors == []
        assert result.rules[0].condition.text == "(evt.type = execve and proc.name = zsh)"

    def test_list_used_only_in_a_list_is_used(self, tmp_path):
        """A list referenced only by another list is not reported unused."""
        text = ("- list: inner\n  items: [a]\n- list: outer\n  items: [inner]\n"
                "- rule: r\n  desc: d\n  condition: evt.type = execve and proc.name in (outer)\n"
                "  output: o\n  priority: INFO\n")
        result = _load(tmp_path, text)
        assert result.errors == [] and result.warnings == []
        assert result.lists["outer"].items == ["a"]
