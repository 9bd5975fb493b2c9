"""Tests for rules.collector: redefinition, append and override (spec section 3), through load_rules."""

from __future__ import annotations

from rules.loader import load_rules

BASE = """\
- macro: spawned
  condition: evt.type = execve
- list: names
  items: [a]
- rule: R
  desc: first
  condition: spawned and proc.name = a
  output: out %proc.name
  priority: WARNING
  tags: [t1]
- rule: S
  desc: other
  condition: spawned
  output: s
  priority: INFO
"""


def _load(tmp_path, extra: str, base: str = BASE):
    path = tmp_path / "rules.yaml"
    path.write_text(base + extra)
    return load_rules([str(path)])


def _rule(result, name: str = "R"):
    return next(r for r in result.rules if r.name == name)


def _messages(messages) -> list[tuple[str, str]]:
    return [(m.code, m.message) for m in messages]


class TestRedefinition:
    def test_full_redefinition_replaces_and_keeps_position(self, tmp_path):
        """A second full definition replaces everything but keeps the first one's place."""
        result = _load(tmp_path, "- rule: R\n  desc: new\n  condition: spawned\n  output: o2\n  priority: DEBUG\n")
        assert result.errors == []
        assert [r.name for r in result.rules] == ["R", "S"]
        rule = _rule(result)
        assert (rule.desc, rule.output, rule.priority.canonical, rule.tags) == ("new", "o2", "Debug", ())

    def test_different_source_is_an_error(self, tmp_path):
        """Redefining a rule with another source fails."""
        result = _load(tmp_path, "- rule: R\n  desc: d\n  condition: x\n  output: o\n  priority: INFO\n"
                                 "  source: k8s_audit\n")
        assert ("LOAD_ERR_VALIDATE", "Rule has been re-defined with a different source") in _messages(result.errors)


class TestOverrideAppend:
    def test_condition_output_desc_tags(self, tmp_path):
        """Appended text joins with one blank and no parentheses; tags are united."""
        result = _load(tmp_path, """\
- rule: R
  condition: or proc.name = b
  output: extra=%proc.pid
  desc: more
  tags: [t2]
  override:
    condition: append
    output: append
    desc: append
    tags: append
""")
        assert result.errors == []
        rule = _rule(result)
        assert rule.condition_text == "spawned and proc.name = a or proc.name = b"
        assert rule.condition.text == "((evt.type = execve and proc.name = a) or proc.name = b)"
        assert rule.output == "out %proc.name extra=%proc.pid"
        assert rule.desc == "first more"
        assert rule.tags == ("t1", "t2")

    def test_append_and_replace_in_one_element(self, tmp_path):
        """One element may append some keys and replace others."""
        result = _load(tmp_path, """\
- rule: R
  condition: and proc.pid > 1
  priority: critical
  enabled: false
  override:
    condition: append
    priority: replace
    enabled: replace
""")
        assert result.errors == []
        rule = _rule(result)
        assert rule.condition_text == "spawned and proc.name = a and proc.pid > 1"
        assert (rule.priority.canonical, rule.enabled) == ("Critical", False)

    def test_replace_tags_and_output(self, tmp_path):
        """Replace swaps the value wholesale."""
        result = _load(tmp_path, "- rule: R\n  tags: [x]\n  output: new\n  override:\n    tags: replace\n"
                                 "    output: replace\n")
        assert result.errors == []
        assert (_rule(result).tags, _rule(result).output) == (("x",), "new")

    def test_list_and_macro_append(self, tmp_path):
        """List items are concatenated; macro conditions joined with a blank."""
        result = _load(tmp_path, """\
- list: names
  items: [b]
  override:
    items: append
- macro: spawned
  condition: or evt.type = execveat
  override:
    condition: append
""")
        assert result.errors == []
        assert result.lists["names"].items == ["a", "b"]
        assert result.macros["spawned"].condition_text == "evt.type = execve or evt.type = execveat"
        assert _rule(result).event_types == frozenset({"execve", "execveat"})

    def test_list_and_macro_replace(self, tmp_path):
        """`override: {items: replace}` redefines the list."""
        result = _load(tmp_path, "- list: names\n  items: [z]\n  override:\n    items: replace\n")
        assert result.errors == []
        assert result.lists["names"].items == ["z"]


class TestOverrideErrors:
    def _error(self, tmp_path, extra: str) -> tuple[str, str]:
        result = _load(tmp_path, extra)
        assert len(result.errors) == 1, [m.render_text() for m in result.errors]
        return result.errors[0].code, result.errors[0].message

    def test_unknown_operation(self, tmp_path):
        """An operation other than append/replace lists the allowed ones."""
        assert self._error(tmp_path, "- rule: R\n  condition: x\n  override:\n    condition: merge\n") == (
            "LOAD_ERR_YAML_VALIDATE",
            "Invalid override operation for key 'condition': 'merge'. Allowed values are: append replace ")

    def test_append_replace_only_key(self, tmp_path):
        """priority can only be replaced."""
        assert self._error(tmp_path, "- rule: R\n  priority: INFO\n  override:\n    priority: append\n") == (
            "LOAD_ERR_YAML_VALIDATE", "Key 'priority' cannot be appended to, use 'replace' instead")

    def test_named_but_absent(self, tmp_path):
        """A key named in override must be present."""
        assert self._error(tmp_path, "- rule: R\n  desc: x\n  override:\n    desc: append\n    output: append\n") == (
            "LOAD_ERR_YAML_VALIDATE", "An append override for 'output' was specified but 'output' is not defined")

    def test_present_but_not_named(self, tmp_path):
        """An overridable key present but not named under override is an error."""
        assert self._error(tmp_path, "- rule: R\n  desc: x\n  output: y\n  override:\n    desc: append\n") == (
            "LOAD_ERR_YAML_VALIDATE", "Unexpected key 'output': no corresponding entry under 'override' is defined.")

    def test_override_with_append_true(self, tmp_path):
        """override and append: true cannot be combined."""
        code, message = self._error(tmp_path, "- rule: R\n  desc: x\n  append: true\n  override:\n    desc: append\n")
        assert code == "LOAD_ERR_YAML_VALIDATE"
        assert message.startswith("Keys 'override' and 'append: true' cannot be used together.")

    def test_missing_target_append(self, tmp_path):
        """Appending to an unknown rule fails."""
        assert self._error(tmp_path, "- rule: Nope\n  desc: x\n  override:\n    desc: append\n") == (
            "LOAD_ERR_VALIDATE",
            "Rule uses 'append' or 'override.<key>: append' but no rule by that name already exists")

    def test_missing_target_replace(self, tmp_path):
        """Replacing in an unknown rule fails."""
        assert self._error(tmp_path, "- rule: Nope\n  desc: x\n  override:\n    desc: replace\n") == (
            "LOAD_ERR_VALIDATE",
            "An 'override.<key>: replace' to a rule was requested but no rule by that name already exists")

    def test_missing_list_and_macro(self, tmp_path):
        """Appending to an unknown list or macro fails with its own message."""
        result = _load(tmp_path, "- list: nol\n  items: [x]\n  override:\n    items: append\n"
                                 "- macro: nom\n  condition: x\n  append: true\n")
        assert _messages(result.errors) == [
            ("LOAD_ERR_VALIDATE", "List uses 'append' or 'override.items: append' but no list by that name already exists"),
            ("LOAD_ERR_VALIDATE",
             "Macro uses 'append' or 'override.condition: append' but no macro by that name already exists"),
        ]


class TestLegacy:
    def test_legacy_rule_append_ignores_other_keys(self, tmp_path):
        """append: true appends the condition only; output and enabled are silently ignored."""
        result = _load(tmp_path, "- rule: R\n  condition: or proc.name = b\n  output: ignored\n  enabled: false\n"
                                 "  append: true\n")
        assert result.errors == []
        rule = _rule(result)
        assert (rule.condition_text, rule.output, rule.enabled) == (
            "spawned and proc.name = a or proc.name = b", "out %proc.name", True)
        assert [w.code for w in result.warnings if w.code == "LOAD_DEPRECATED_ITEM"] == ["LOAD_DEPRECATED_ITEM"]

    def test_legacy_rule_append_needs_condition_or_exceptions(self, tmp_path):
        """A legacy append with neither condition nor exceptions is an error."""
        result = _load(tmp_path, "- rule: R\n  output: x\n  append: true\n")
        assert _messages(result.errors) == [
            ("LOAD_ERR_VALIDATE", "Appended rule must have exceptions or condition property")]

    def test_legacy_list_append(self, tmp_path):
        """append: true on a list concatenates items, with a deprecation warning."""
        result = _load(tmp_path, "- list: names\n  items: [c]\n  append: true\n")
        assert result.lists["names"].items == ["a", "c"]
        assert ("LOAD_DEPRECATED_ITEM",
                "'append' key is deprecated. Add an 'append' entry (e.g. 'condition: append') under 'override' "
                "instead.") in _messages(result.warnings)

    def test_enable_only_form(self, tmp_path):
        """`- rule: R` + `enabled: false` disables the earlier rule and warns."""
        result = _load(tmp_path, "- rule: R\n  enabled: false\n")
        assert result.errors == []
        assert _rule(result).enabled is False
        assert [w.code for w in result.warnings if w.code != "LOAD_UNUSED_LIST"] == ["LOAD_DEPRECATED_ITEM"]

    def test_enable_only_unknown_rule(self, tmp_path):
        """The enable-only form needs an existing rule."""
        result = _load(tmp_path, "- rule: Nope\n  enabled: false\n")
        assert _messages(result.errors) == [
            ("LOAD_ERR_VALIDATE", "Rule has 'enabled' key but no rule by that name already exists")]


EXC_BASE = BASE + """\
- rule: E
  desc: d
  condition: spawned
  output: o
  priority: INFO
  exceptions:
    - name: by_name
      fields: proc.name
      values: [a]
"""


class TestExceptionAppend:
    def test_values_appended_to_existing_exception(self, tmp_path):
        """An appended exception with an existing name adds values."""
        result = _load(tmp_path, "- rule: E\n  exceptions:\n    - name: by_name\n      values: [b]\n"
                                 "  override:\n    exceptions: append\n", base=EXC_BASE)
        assert result.errors == []
        assert _rule(result, "E").condition_text == "(spawned) and not (proc.name in (a, b))"

    def test_new_exception_needs_values(self, tmp_path):
        """A new appended exception needs fields and values."""
        result = _load(tmp_path, "- rule: E\n  exceptions:\n    - name: other\n      fields: proc.pid\n"
                                 "  override:\n    exceptions: append\n", base=EXC_BASE)
        assert ("LOAD_APPEND_NO_VALUES", "Overriding/appending exception with no values") in _messages(result.warnings)
        assert _messages(result.errors) == [
            ("LOAD_ERR_VALIDATE", "Rule exception must have values property with a list of values")]

    def test_fields_again_is_an_error(self, tmp_path):
        """Giving fields again for an existing exception fails."""
        result = _load(tmp_path, "- rule: E\n  exceptions:\n    - name: by_name\n      fields: proc.name\n"
                                 "      values: [b]\n  override:\n    exceptions: append\n", base=EXC_BASE)
        assert _messages(result.errors) == [
            ("LOAD_ERR_VALIDATE", "Can not append exception fields to existing exception, only values")]

    def test_replace_exceptions(self, tmp_path):
        """Replace swaps the whole exception list."""
        result = _load(tmp_path, "- rule: E\n  exceptions:\n    - name: n2\n      fields: [proc.pid]\n"
                                 "      comps: ['>=']\n      values: [[5]]\n  override:\n    exceptions: replace\n",
                       base=EXC_BASE)
        assert result.errors == []
        assert _rule(result, "E").condition_text == "(spawned) and not (( proc.pid >= 5))"
