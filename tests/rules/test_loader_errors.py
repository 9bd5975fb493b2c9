"""Tests for load diagnostics: every error kind with its code and exact file:line:col, plus rendering."""

from __future__ import annotations

import json

from rules.errors import ERROR_CODES, WARNING_CODES, describe
from rules.loader import load_rules

SPAWNED = "- macro: spawned\n  condition: evt.type = execve\n"


def _load(tmp_path, text: str, name: str = "rules.yaml", **kwargs):
    path = tmp_path / name
    path.write_text(text)
    return load_rules([str(path)], **kwargs)


def _where(message) -> tuple[str, int, int, str]:
    loc = message.location
    return loc.file.rsplit("/", 1)[-1], loc.line, loc.col, message.code


def _rule(condition: str, name: str = "r", output: str = "o", extra: str = "") -> str:
    return f"- rule: {name}\n  desc: d\n  condition: {condition}\n  output: {output}\n  priority: INFO\n{extra}"


class TestCodes:
    def test_all_codes_have_descriptions(self):
        """The six error codes and all fifteen warning codes of spec section 10 are defined."""
        assert set(ERROR_CODES) == {"LOAD_ERR_FILE_READ", "LOAD_ERR_YAML_PARSE", "LOAD_ERR_YAML_VALIDATE",
                                    "LOAD_ERR_VALIDATE", "LOAD_ERR_COMPILE_CONDITION", "LOAD_ERR_COMPILE_OUTPUT"}
        assert len(WARNING_CODES) == 15
        assert describe("LOAD_UNUSED_MACRO") == "Unused macro"


class TestFileAndYaml:
    def test_unreadable_file(self, tmp_path):
        """A missing file is LOAD_ERR_FILE_READ naming the file."""
        result = load_rules([str(tmp_path / "missing.yaml")])
        assert [_where(m) for m in result.errors] == [("missing.yaml", 0, 0, "LOAD_ERR_FILE_READ")]
        assert not result.ok

    def test_yaml_syntax_error(self, tmp_path):
        """Invalid YAML is LOAD_ERR_YAML_PARSE at the parser's position."""
        result = _load(tmp_path, "- rule: r\n  desc: a: b\n")
        assert [_where(m) for m in result.errors] == [("rules.yaml", 2, 10, "LOAD_ERR_YAML_PARSE")]

    def test_duplicate_key(self, tmp_path):
        """A repeated key is LOAD_ERR_YAML_PARSE at its second occurrence."""
        result = _load(tmp_path, SPAWNED + "- rule: r\n  desc: a\n  desc: b\n")
        assert [_where(m) for m in result.errors] == [("rules.yaml", 5, 3, "LOAD_ERR_YAML_PARSE")]
        assert result.errors[0].message == "duplicate key 'desc' (first defined at line 4)"

    def test_not_a_sequence(self, tmp_path):
        """A document that is a mapping is rejected."""
        result = _load(tmp_path, "rule: r\n")
        assert [(m.code, m.message) for m in result.errors] == [
            ("LOAD_ERR_YAML_VALIDATE", "Rules content is not yaml array of objects")]

    def test_element_not_a_mapping(self, tmp_path):
        """A sequence element that is a scalar is rejected at its position; null elements are skipped."""
        result = _load(tmp_path, "-\n- just text\n")
        assert [_where(m) for m in result.errors] == [("rules.yaml", 2, 3, "LOAD_ERR_YAML_VALIDATE")]
        assert result.errors[0].message == "Unexpected element type. Each element should be a yaml associative array."


class TestItemValidation:
    def test_missing_key(self, tmp_path):
        """A rule without output names the missing key at the item."""
        result = _load(tmp_path, SPAWNED + "- rule: r\n  desc: d\n  condition: spawned\n  priority: INFO\n")
        assert [_where(m) for m in result.errors] == [("rules.yaml", 3, 3, "LOAD_ERR_YAML_VALIDATE")]
        assert result.errors[0].message == "Item has no mapping for key 'output'"

    def test_invalid_priority_points_at_value(self, tmp_path):
        """An unknown priority is reported at the value."""
        result = _load(tmp_path, SPAWNED + "- rule: r\n  desc: d\n  condition: spawned\n  output: o\n"
                                           "  priority: loud\n")
        assert [_where(m) for m in result.errors] == [("rules.yaml", 7, 13, "LOAD_ERR_YAML_VALIDATE")]
        assert result.errors[0].message == "Invalid priority"

    def test_bad_boolean(self, tmp_path):
        """`enabled: maybe` cannot be decoded."""
        result = _load(tmp_path, SPAWNED + _rule("spawned", extra="  enabled: maybe\n"))
        assert [_where(m) for m in result.errors] == [("rules.yaml", 8, 12, "LOAD_ERR_YAML_VALIDATE")]
        assert result.errors[0].message == "Can't decode YAML scalar value"

    def test_items_not_a_sequence(self, tmp_path):
        """List items must be a sequence."""
        result = _load(tmp_path, "- list: l\n  items: a\n")
        assert [_where(m) for m in result.errors] == [("rules.yaml", 2, 10, "LOAD_ERR_YAML_VALIDATE")]
        assert result.errors[0].message == "Value is not a sequence"

    def test_empty_condition(self, tmp_path):
        """An empty condition value is reported."""
        result = _load(tmp_path, "- macro: m\n  condition:\n")
        assert [(m.code, m.message) for m in result.errors] == [
            ("LOAD_ERR_YAML_VALIDATE", "Mapping for key 'condition' is empty")]

    def test_every_error_reported_in_one_pass(self, tmp_path):
        """Errors of several items, and of several files, are all reported."""
        first = tmp_path / "a.yaml"
        first.write_text(SPAWNED + "- rule: x\n  desc: d\n- rule: y\n  desc: d\n  condition: spawned\n"
                                   "  output: o\n  priority: nope\n")
        second = tmp_path / "b.yaml"
        second.write_text(_rule("spawned and proc.nme = x"))
        result = load_rules([str(first), str(second)])
        assert [_where(m) for m in result.errors] == [
            ("a.yaml", 3, 3, "LOAD_ERR_YAML_VALIDATE"),
            ("a.yaml", 9, 13, "LOAD_ERR_YAML_VALIDATE"),
            ("b.yaml", 3, 26, "LOAD_ERR_COMPILE_CONDITION"),
        ]


class TestVersions:
    def test_engine_version_too_new(self, tmp_path):
        """A newer required engine version fails with Falco's message."""
        result = _load(tmp_path, "- required_engine_version: 0.99.0\n")
        assert [(m.code, m.message) for m in result.errors] == [
            ("LOAD_ERR_VALIDATE", "Rules require engine version 0.99.0, but engine version is 0.63.0")]
        assert _where(result.errors[0])[1:3] == (1, 3)

    def test_engine_version_legacy_integer(self, tmp_path):
        """A bare integer N means 0.N.0; the highest requirement is kept."""
        result = _load(tmp_path, "- required_engine_version: 15\n- required_engine_version: 0.31.0\n"
                                 "- required_engine_version: 2\n")
        assert result.errors == [] and result.required_engine_version == "0.31.0"

    def test_engine_version_unparsable(self, tmp_path):
        """A version that is neither an integer nor x.y.z is rejected."""
        result = _load(tmp_path, "- required_engine_version: abc\n")
        assert result.errors[0].message == (
            "Unable to parse engine version 'abc' as a semver string. Expected \"x.y.z\" semver format.")

    def test_plugin_requirements(self, tmp_path):
        """Requirements are recorded; an unknown or too new plugin is LOAD_ERR_VALIDATE at its entry."""
        result = _load(tmp_path, """\
- required_plugin_versions:
  - name: container
    version: 0.4.0
  - name: container
    version: 0.9.0
  - name: k8saudit
    version: 0.99.0
    alternatives:
      - name: k8saudit-eks
        version: 0.1.0
  - name: nomad
    version: 0.1.0
    alternatives:
      - name: k8saudit
        version: 0.12.0
  - name: kafka
    version: 0.1.0
""")
        assert [p.alternatives for p in result.required_plugins] == [
            [("container", "0.4.0")], [("container", "0.9.0")], [("k8saudit", "0.99.0"), ("k8saudit-eks", "0.1.0")],
            [("nomad", "0.1.0"), ("k8saudit", "0.12.0")], [("kafka", "0.1.0")]]
        assert [_where(m) for m in result.errors] == [("rules.yaml", 4, 5, "LOAD_ERR_VALIDATE"),
                                                      ("rules.yaml", 6, 5, "LOAD_ERR_VALIDATE"),
                                                      ("rules.yaml", 16, 5, "LOAD_ERR_VALIDATE")]
        assert result.errors[0].message == (
            "Plugin requirement not satisfied, must load one of: container (>= 0.9.0); Saker provides container 0.7.0")
        assert result.errors[1].message == (
            "Plugin requirement not satisfied, must load one of: k8saudit (>= 0.99.0), k8saudit-eks (>= 0.1.0); "
            "Saker provides k8saudit 0.18.0")
        assert result.errors[2].message == (
            "Plugin requirement not satisfied, must load one of: kafka (>= 0.1.0); Saker provides none of them")

    def test_plugin_major_must_match(self, tmp_path):
        """A requirement with another major version is not satisfied."""
        result = _load(tmp_path, "- required_plugin_versions:\n  - name: json\n    version: 1.0.0\n")
        assert [m.code for m in result.errors] == ["LOAD_ERR_VALIDATE"]

    def test_invalid_plugin_version(self, tmp_path):
        """A requirement whose version is not semver is rejected."""
        result = _load(tmp_path, "- required_plugin_versions:\n  - name: json\n    version: one\n")
        assert result.errors[0].message == "Invalid required version 'one' for plugin 'json'"


class TestConditionPositions:
    def test_parse_error_in_folded_block(self, tmp_path):
        """A syntax error in a `>` block points at the exact line and column in the file."""
        text = SPAWNED + "- rule: r\n  desc: d\n  condition: >\n    spawned and\n    proc.name ===\n" \
                         "  output: o\n  priority: INFO\n"
        result = _load(tmp_path, text)
        assert [_where(m) for m in result.errors] == [("rules.yaml", 7, 17, "LOAD_ERR_COMPILE_CONDITION")]

    def test_nonexistent_field_in_plain_multiline(self, tmp_path):
        """A bad field on the third line of a plain multi-line scalar is found there."""
        text = SPAWNED + "- rule: r\n  desc: d\n  condition: spawned\n    and proc.pid > 0\n" \
                         "      and proc.nmae = x\n  output: o\n  priority: INFO\n"
        result = _load(tmp_path, text)
        assert [_where(m) for m in result.errors] == [("rules.yaml", 7, 11, "LOAD_ERR_COMPILE_CONDITION")]
        assert result.errors[0].message == "filter_check called with nonexistent field proc.nmae"

    def test_error_inside_macro_points_into_macro(self, tmp_path):
        """A bad field in a macro used by a rule points into the macro's text, naming both."""
        text = SPAWNED + "- macro: bad\n  condition: >-\n    spawned and\n    fd.nam = x\n" + _rule("bad")
        result = _load(tmp_path, text)
        assert [_where(m) for m in result.errors] == [("rules.yaml", 6, 5, "LOAD_ERR_COMPILE_CONDITION")]
        assert result.errors[0].location.described_items() == "macro 'bad', in rule 'r'"

    def test_undefined_macro_in_rule(self, tmp_path):
        """An undefined macro is reported at the reference."""
        result = _load(tmp_path, SPAWNED + _rule("spawned and nothere"))
        assert [(m.code, m.message) for m in result.errors] == [
            ("LOAD_ERR_VALIDATE", "Undefined macro 'nothere' used in filter.")]
        assert _where(result.errors[0])[1:3] == (5, 26)

    def test_undefined_macro_in_macro(self, tmp_path):
        """Inside a macro, a later macro is invisible; the error points into the first macro."""
        text = "- macro: a\n  condition: b and evt.type = open\n- macro: b\n  condition: proc.pid > 0\n" + _rule("a")
        result = _load(tmp_path, text)
        assert [(m.code, m.message) for m in result.errors] == [
            ("LOAD_ERR_VALIDATE", "Undefined macro 'b' used in filter.")]
        assert _where(result.errors[0])[1:3] == (2, 14)
        assert result.errors[0].location.described_items() == "macro 'a'"

    def test_macro_reference_loop(self, tmp_path):
        """Macros made visible to each other by redefinition loop: reported, not recursed forever."""
        text = ("- macro: a\n  condition: evt.type = open\n- macro: b\n  condition: a\n"
                "- macro: a\n  condition: b\n" + _rule("a"))
        result = _load(tmp_path, text)
        assert ("LOAD_ERR_VALIDATE", "reference loop in macro 'a'") in [(m.code, m.message) for m in result.errors]

    def test_error_after_list_substitution(self, tmp_path):
        """An error in substituted list text points at the list name in the condition."""
        text = "- list: nums\n  items: [a, b]\n" + SPAWNED + _rule("spawned and proc.pid > nums")
        result = _load(tmp_path, text)
        assert [_where(m) for m in result.errors] == [("rules.yaml", 7, 37, "LOAD_ERR_COMPILE_CONDITION")]

    def test_error_in_exception_value(self, tmp_path):
        """A bad exception value is reported at the value's own position."""
        text = SPAWNED + _rule("spawned", extra=(
            "  exceptions:\n    - name: e\n      fields: [proc.pid]\n      comps: ['>']\n      values: [[abc]]\n"))
        result = _load(tmp_path, text)
        assert [_where(m) for m in result.errors] == [("rules.yaml", 12, 17, "LOAD_ERR_COMPILE_CONDITION")]

    def test_exception_shape_errors(self, tmp_path):
        """Exception shapes are validated with Falco's messages at the exception entry."""
        text = SPAWNED + _rule("spawned", name="a", extra=(
            "  exceptions:\n    - name: e\n      fields: [proc.pid, proc.name]\n      comps: ['=']\n"
            "      values: []\n")) + _rule("spawned", name="b", extra=(
                "  exceptions:\n    - name: e\n      fields: [proc.nope]\n      values: []\n")) + _rule(
            "spawned", name="c", extra="  exceptions:\n    - name: e\n      fields: proc.name\n"
                                       "      comps: '='\n      values: [x]\n")
        result = _load(tmp_path, text)
        assert [(m.code, m.message, m.location.line) for m in result.errors] == [
            ("LOAD_ERR_VALIDATE", "Fields and comps lists must have equal length", 9),
            ("LOAD_ERR_VALIDATE", "'proc.nope' is not a supported filter field", 19),
            ("LOAD_ERR_VALIDATE", "When fields is a single value, comps must be one of (in, pmatch, intersects)",
             28),
        ]

    def test_bad_output_token(self, tmp_path):
        """An unknown output field is LOAD_ERR_COMPILE_OUTPUT at the `%` token."""
        result = _load(tmp_path, SPAWNED + _rule("spawned", output="'  bad %proc.nam here'"))
        assert [_where(m) for m in result.errors] == [("rules.yaml", 6, 18, "LOAD_ERR_COMPILE_OUTPUT")]


class TestRendering:
    def test_text_rendering_with_caret(self, tmp_path):
        """render_text gives file:line:col, severity, code, message, items, source line and caret."""
        result = _load(tmp_path, SPAWNED + _rule("spawned and proc.nme = x", name="My rule"))
        text = result.errors[0].render_text()
        lines = text.split("\n")
        assert lines[0] == (f"{tmp_path}/rules.yaml:5:26: error LOAD_ERR_COMPILE_CONDITION: "
                            "filter_check called with nonexistent field proc.nme (rule 'My rule')")
        assert lines[1] == "      condition: spawned and proc.nme = x"
        assert lines[2] == " " * (4 + 25) + "^"

    def test_json_rendering(self, tmp_path):
        """to_json carries the code, description, message, location chain and snippet."""
        result = _load(tmp_path, SPAWNED + _rule("spawned and proc.nme = x"))
        data = json.loads(json.dumps(result.errors[0].to_json()))
        assert data["code"] == "LOAD_ERR_COMPILE_CONDITION"
        assert data["codedesc"] == "Error compiling condition"
        assert data["severity"] == "error"
        assert [(loc["item_type"], loc["item_name"], loc["position"]["line"], loc["position"]["column"])
                for loc in data["context"]["locations"]] == [("rule", "r", 3, 3), ("condition", "", 5, 26)]
        assert data["context"]["snippet"].endswith("^")


class TestWarnings:
    def _codes(self, result) -> list[str]:
        return [m.code for m in result.warnings]

    def test_unknown_item_and_key(self, tmp_path):
        """An element of no known kind and an unknown key warn and are ignored."""
        result = _load(tmp_path, "- something: x\n" + SPAWNED + _rule("spawned", extra="  prority: INFO\n"))
        assert result.errors == []
        assert [_where(m) for m in result.warnings] == [
            ("rules.yaml", 1, 3, "LOAD_UNKNOWN_ITEM"), ("rules.yaml", 9, 3, "LOAD_UNKNOWN_KEY")]
        assert result.warnings[1].message == "Unknown key 'prority'. The key will be ignored."

    def test_invalid_names(self, tmp_path):
        """Macro and list names outside their grammar warn."""
        result = _load(tmp_path, "- macro: 'my-macro'\n  condition: evt.type = open\n"
                                 "- list: 'a list'\n  items: []\n")
        assert self._codes(result)[:2] == ["LOAD_INVALID_MACRO_NAME", "LOAD_INVALID_LIST_NAME"]

    def test_unused_macro_and_list(self, tmp_path):
        """Unreferenced macros and lists warn at their definitions."""
        result = _load(tmp_path, "- list: l\n  items: [a]\n" + SPAWNED)
        assert [_where(m) for m in result.warnings] == [
            ("rules.yaml", 3, 3, "LOAD_UNUSED_MACRO"), ("rules.yaml", 1, 3, "LOAD_UNUSED_LIST")]

    def test_no_event_type(self, tmp_path):
        """A syscall rule without an event-type restriction warns unless warn_evttypes is false."""
        result = _load(tmp_path, _rule("proc.name = x") + _rule("proc.name = y", name="q",
                                                                extra="  warn_evttypes: false\n"))
        assert [(m.code, m.location.name) for m in result.warnings] == [("LOAD_NO_EVTTYPE", "r")]

    def test_skip_if_unknown_filter(self, tmp_path):
        """An unknown field with skip-if-unknown-filter drops the rule with a warning."""
        result = _load(tmp_path, SPAWNED + _rule("spawned and proc.future = 1",
                                                 extra="  skip-if-unknown-filter: true\n"))
        assert result.errors == [] and result.rules == []
        assert [_where(m) for m in result.warnings] == [("rules.yaml", 5, 26, "LOAD_UNKNOWN_FILTER")]

    def test_skip_if_unknown_filter_in_output(self, tmp_path):
        """An unknown output token with skip-if-unknown-filter also drops the rule."""
        result = _load(tmp_path, SPAWNED + _rule("spawned", output="x %proc.future",
                                                 extra="  skip-if-unknown-filter: true\n"))
        assert result.errors == [] and result.rules == []
        # The output is checked before the condition (as upstream), so the macro is never used.
        assert self._codes(result) == ["LOAD_UNKNOWN_FILTER", "LOAD_UNUSED_MACRO"]

    def test_container_info_removed(self, tmp_path):
        """`%container.info` is deleted from the output with a deprecation warning."""
        result = _load(tmp_path, SPAWNED + _rule("spawned", output="x %container.info y"))
        assert result.rules[0].output == "x  y"
        assert self._codes(result) == ["LOAD_DEPRECATED_ITEM"]

    def test_unknown_source(self, tmp_path):
        """A rule of an unregistered source is skipped with a warning."""
        result = _load(tmp_path, _rule("kafka.topic = x", extra="  source: kafka\n"))
        assert result.errors == [] and result.rules == []
        assert [(m.code, m.message) for m in result.warnings] == [
            ("LOAD_UNKNOWN_SOURCE", "Unknown source kafka, skipping")]


class TestMacroAndCheckerMessages:
    def test_syntax_error_in_macro_block(self, tmp_path):
        """A syntax error in a `|` macro is reported in the macro even if unused; its users are skipped."""
        text = "- macro: m\n  condition: |\n    evt.type = open and\n    (proc.name = x\n" + \
               "- rule: r\n  desc: d\n  condition: m\n  output: o\n  priority: INFO\n"
        result = _load(tmp_path, text)
        assert [_where(m) for m in result.errors] == [("rules.yaml", 5, 1, "LOAD_ERR_COMPILE_CONDITION")]
        assert result.errors[0].location.described_items() == "macro 'm'"
        assert result.rules == []

    def test_checker_warning_forwarded_with_position(self, tmp_path):
        """A constant that names a field draws LOAD_COMPILE_CONDITION at the constant."""
        result = _load(tmp_path, SPAWNED + _rule("spawned and proc.name = proc.pname"))
        assert result.errors == []
        assert [_where(m) for m in result.warnings] == [("rules.yaml", 5, 38, "LOAD_COMPILE_CONDITION")]
