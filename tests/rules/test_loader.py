"""Tests for rules.loader: loaded rules, ordering, visibility, selection and the syntax traps of spec 11."""

from __future__ import annotations

import pytest

from rules import ast
from rules.loader import BUILTIN_PLUGINS, ENGINE_VERSION, load_rules
from rules.priority import Priority
from rules.selectors import Selector

SPAWNED = "- macro: spawned\n  condition: evt.type in (execve, execveat)\n"


def _write(tmp_path, text: str, name: str = "rules.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _load(tmp_path, text: str, **kwargs):
    return load_rules([_write(tmp_path, text)], **kwargs)


def _rule(condition: str, name: str = "r", priority: str = "INFO", extra: str = "", output: str = "o") -> str:
    return (f"- rule: {name}\n  desc: d\n  condition: {condition}\n  output: {output}\n"
            f"  priority: {priority}\n{extra}")


class TestLoadedRule:
    def test_fields(self, tmp_path):
        """Every LoadedRule field is filled from the rule item."""
        result = _load(tmp_path, SPAWNED + _rule(
            "spawned and proc.name = bash", name="Shell", priority="warning", output="'  shell %proc.name  '",
            extra="  tags: [b, a, b]\n  enabled: no\n  capture: true\n  capture_duration: 2000\n"))
        assert result.ok and result.warnings == []
        rule = result.rules[0]
        assert (rule.name, rule.desc, rule.output, rule.source) == ("Shell", "d", "shell %proc.name", "syscall")
        assert rule.priority is Priority.WARNING and rule.priority.canonical == "Warning"
        assert rule.tags == ("a", "b")
        assert (rule.enabled, rule.capture, rule.capture_duration) == (False, True, 2000)
        assert (rule.skip_if_unknown_filter, rule.warn_evttypes) == (False, True)
        assert rule.event_types == frozenset({"execve", "execveat"})
        assert rule.condition.text == "(evt.type in (execve, execveat) and proc.name = bash)"
        assert rule.condition_text == "spawned and proc.name = bash"
        assert [f.text for f in rule.output_format.fields] == ["proc.name"]
        assert (rule.location.line, rule.location.col, rule.location.kind) == (3, 3, "rule")

    def test_constants(self):
        """The declared engine version and built-in plugins."""
        assert ENGINE_VERSION == "0.63.0"
        assert BUILTIN_PLUGINS == {"container": "0.7.0", "json": "0.7.4", "k8saudit": "0.18.0",
                                   "cloudtrail": "0.17.1", "github": "0.10.1", "okta": "0.12.0"}

    def test_macro_keeps_its_grouping(self, tmp_path):
        """A macro is inserted as a tree: `a or b` stays grouped under `and`."""
        result = _load(tmp_path, "- macro: m\n  condition: proc.name = a or proc.name = b\n"
                       + _rule("evt.type = open and m"))
        assert result.rules[0].condition == ast.And((
            ast.Check(ast.FieldRef("evt.type"), "=", ast.Const("open")),
            ast.Or((ast.Check(ast.FieldRef("proc.name"), "=", ast.Const("a")),
                    ast.Check(ast.FieldRef("proc.name"), "=", ast.Const("b"))))))

    def test_rules_see_later_macros_and_lists(self, tmp_path):
        """A rule may use macros and lists defined after it in the same file."""
        result = _load(tmp_path, _rule("spawned and proc.name in (shells)") + SPAWNED
                       + "- list: shells\n  items: [bash]\n")
        assert result.ok and result.warnings == []

    def test_macro_sees_later_list(self, tmp_path):
        """Lists have no visibility order for conditions."""
        result = _load(tmp_path, "- macro: m\n  condition: proc.name in (later)\n- list: later\n  items: [x]\n"
                       + _rule("evt.type = open and m"))
        assert result.ok and result.macros["m"].condition_text == "proc.name in ( x )"

    def test_macro_redefinition_extends_visibility(self, tmp_path):
        """Redefining a macro after another makes that other visible to it."""
        text = ("- macro: a\n  condition: evt.type = open\n- macro: b\n  condition: evt.type = close\n"
                "- macro: a\n  condition: b or evt.type = read\n" + _rule("a"))
        result = _load(tmp_path, text)
        assert result.ok
        assert result.rules[0].event_types == frozenset({"close", "read"})
        assert [m for m in result.macros] == ["a", "b"]

    def test_files_in_order_and_later_file_macro_invisible(self, tmp_path):
        """Files load in order; a rule cannot use a macro that only a later file defines."""
        first = _write(tmp_path, _rule("later_macro"), "a.yaml")
        second = _write(tmp_path, "- macro: later_macro\n  condition: evt.type = open\n", "b.yaml")
        result = load_rules([first, second])
        assert [(m.code, m.message) for m in result.errors] == [
            ("LOAD_ERR_VALIDATE", "Undefined macro 'later_macro' used in filter.")]
        assert load_rules([second, first]).ok

    def test_second_file_overrides_first(self, tmp_path):
        """An override in a later file applies to a rule of an earlier file."""
        first = _write(tmp_path, SPAWNED + _rule("spawned"), "a.yaml")
        second = _write(tmp_path, "- rule: r\n  priority: DEBUG\n  override:\n    priority: replace\n", "b.yaml")
        result = load_rules([first, second])
        assert result.ok and result.rules[0].priority is Priority.DEBUG

    def test_macros_and_lists_listed(self, tmp_path):
        """LoadResult lists macros and lists with their use."""
        result = _load(tmp_path, SPAWNED + "- list: l\n  items: [a, b]\n" + _rule("spawned"))
        assert result.macros["spawned"].used and result.macros["spawned"].condition is not None
        assert result.lists["l"].items == ["a", "b"] and not result.lists["l"].used

    def test_exception_text(self, tmp_path):
        """Exceptions become `(cond) and not (...)` clauses with quoting and parentheses (spec 6)."""
        result = _load(tmp_path, SPAWNED + "- list: users\n  items: [root]\n" + _rule("spawned", extra="""\
  exceptions:
    - name: pair
      fields: [proc.name, user.name]
      comps: [=, in]
      values:
        - [my app, users]
        - [sh, [a, b c]]
    - name: single
      fields: proc.pname
      values: [bash, my shell]
    - name: empty
      fields: [proc.pid]
"""))
        assert result.ok, [m.render_text() for m in result.errors]
        assert result.rules[0].condition_text == (
            '(spawned) and not (( proc.name = "my app" and  user.name in ( root )) or '
            '( proc.name = sh and  user.name in (a, "b c"))) and not (proc.pname in (bash, "my shell"))')


class TestSelectionAndPriority:
    TEXT = SPAWNED + _rule("spawned", name="Shell in container", extra="  tags: [shell]\n") + _rule(
        "spawned", name="Other", priority="DEBUG", extra="  tags: [misc]\n")

    def test_disable_all_then_enable_tag(self, tmp_path):
        """Selectors apply in order and win over `enabled`."""
        result = _load(tmp_path, self.TEXT, selectors=[{"disable": {"rule": "*"}}, {"enable": {"tag": "shell"}}])
        assert [(r.name, r.enabled) for r in result.rules] == [("Shell in container", True), ("Other", False)]

    def test_rule_pattern_with_wildcard(self, tmp_path):
        """`*` is the only wildcard and the pattern matches the whole name."""
        result = _load(tmp_path, self.TEXT, selectors=[Selector("disable", rule="Shell*")])
        assert [r.enabled for r in result.rules] == [False, True]
        result = _load(tmp_path, self.TEXT, selectors=[Selector("disable", rule="Shell")])
        assert [r.enabled for r in result.rules] == [True, True]

    def test_selector_shapes(self):
        """Config entries parse into selectors; malformed ones are rejected."""
        from rules.selectors import parse_selector
        assert parse_selector({"enable": {"tag": "shell"}}) == Selector("enable", tag="shell")
        for bad in ({"enable": {"rule": "a", "tag": "b"}}, {"toggle": {"rule": "a"}}, {"enable": "a"},
                    {"enable": {"rule": "a"}, "disable": {"rule": "b"}}):
            with pytest.raises(ValueError):
                parse_selector(bad)

    def test_min_priority(self, tmp_path):
        """Rules less severe than the minimum priority are not loaded."""
        result = _load(tmp_path, self.TEXT, min_priority="info")
        assert [r.name for r in result.rules] == ["Shell in container"]
        assert result.warnings == []

    def test_append_output(self, tmp_path):
        """Each append_output format is added after one blank."""
        result = _load(tmp_path, self.TEXT, append_output=["pid=%proc.pid", "x"])
        assert result.rules[0].output == "o pid=%proc.pid x"
        assert [f.text for f in result.rules[0].output_format.fields] == ["proc.pid"]

    @pytest.mark.parametrize("text,expected", [("INFO", "Informational"), ("info", "Informational"),
                                               ("Informational", "Informational"), ("eMeRgEnCy", "Emergency"),
                                               ("DEBUG", "Debug"), ("critical", "Critical")])
    def test_priority_spellings(self, text, expected):
        """Priorities parse case-insensitively with the single alias Info."""
        assert Priority.parse(text).canonical == expected

    def test_priority_numbers(self):
        """Emergency is 0 and Debug 7."""
        assert [p.value for p in Priority] == list(range(8))
        with pytest.raises(ValueError, match="Invalid priority"):
            Priority.parse("warn")


class TestSyntaxTraps:
    """The checklist of spec section 11."""

    def _ok(self, tmp_path, condition: str, extra_items: str = ""):
        result = _load(tmp_path, SPAWNED + extra_items + _rule(condition))
        assert result.errors == [], [m.render_text() for m in result.errors]
        return result.rules[0]

    def test_kind_by_key_presence_any_order(self, tmp_path):
        """`condition:` before `macro:` still makes a macro."""
        result = _load(tmp_path, "- condition: evt.type = open\n  macro: m\n" + _rule("m"))
        assert result.ok and "m" in result.macros

    def test_scalars_as_text_in_conditions(self, tmp_path):
        """Numeric-looking list items stay text (`0755`)."""
        rule = self._ok(tmp_path, "spawned and proc.name in (modes)", "- list: modes\n  items: [0755, 1e3]\n")
        assert "0755" in rule.condition.text and "1e3" in rule.condition.text

    def test_block_newlines_are_blanks(self, tmp_path):
        """Newlines from `|` blocks separate tokens like blanks."""
        result = _load(tmp_path, SPAWNED + "- rule: r\n  desc: d\n  condition: |\n    spawned\n    and\n"
                                           "    proc.name = x\n  output: o\n  priority: INFO\n")
        assert result.ok and result.rules[0].condition.text == "(evt.type in (execve, execveat) and proc.name = x)"

    def test_bare_values_with_punctuation(self, tmp_path):
        """Bare values may contain dots, slashes, brackets and colons."""
        rule = self._ok(tmp_path, "spawned and proc.pname in (runc:[0:PARENT], reload.sh) and fd.name = /etc/x")
        assert rule.condition.text == (
            "(evt.type in (execve, execveat) and proc.pname in (runc:[0:PARENT], reload.sh) and fd.name = /etc/x)")

    def test_quotes_carried_by_list_items(self, tmp_path):
        """A list item carrying its own quotes is pasted as a quoted string."""
        rule = self._ok(tmp_path, "spawned and proc.cmdline in (cmds)",
                        "- list: cmds\n  items: ['\"sh -c uname -p 2> /dev/null\"', 'a b']\n")
        assert rule.condition.text == ('(evt.type in (execve, execveat) and proc.cmdline in '
                                       '("sh -c uname -p 2> /dev/null", "a b"))')

    def test_backslash_space_and_bare_backslash(self, tmp_path):
        """`contains "\\ "` is one backslash; a bare `\\` ends before `)`."""
        rule = self._ok(tmp_path, '(spawned and proc.args contains "\\ " and (proc.args endswith \\))')
        checks = [n for n in ast.walk(rule.condition) if isinstance(n, ast.Check) and n.lhs.text == "proc.args"]
        assert [c.rhs.value for c in checks] == ["\\", "\\"]

    def test_not_exists(self, tmp_path):
        """`not X exists` negates the exists check."""
        rule = self._ok(tmp_path, "spawned and not proc.pname exists")
        assert rule.condition.text == "(evt.type in (execve, execveat) and not proc.pname exists)"

    def test_empty_and_nested_lists(self, tmp_path):
        """Empty lists vanish from `in (...)`; a list naming an earlier list is expanded one level."""
        rule = self._ok(tmp_path, "spawned and proc.name in (outer, none)",
                        "- list: none\n  items: []\n- list: inner\n  items: [a]\n- list: outer\n  items: [inner, b]\n")
        assert rule.condition.text == "(evt.type in (execve, execveat) and proc.name in (a, b))"
