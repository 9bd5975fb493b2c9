"""Load Falco rules files: read, collect, compile (Falco's `rule_loader` + `falco_engine::load_rules`).

    load_rules(["falco_rules.yaml", "local.yaml"]) -> LoadResult

Files are read in order into one collection; after each file the whole collection is compiled again, as
Falco does, so a rule cannot use a macro that only a later file defines. Unlike Falco, which stops a file
at its first error, every item is tried: the result lists every error that can be found (for `-V`).
Errors of intermediate compilations are kept (once each); warnings and rules come from the final one.

Compilation (spec section 4): lists (4.1), then every macro (list substitution, parse, expansion under
its visibility), then every rule of a known source: exceptions, output (`append_output`,
`%container.info`), list substitution, parse, macro expansion, field checks, event types. Then unused
macros and lists are reported, plugin requirements checked, selectors applied.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from rules import ast, errors
from rules.checker import ConditionCompileError, check_condition
from rules.collector import Collection, Collector, RuleInfo
from rules.errors import LoadError, LoadMessage, Location
from rules.evttypes import event_types, too_many
from rules.exceptions import with_exceptions
from rules.fields import REGISTRY, resolve
from rules.fields.base import FieldRegistry
from rules.lists import CompiledList, compile_lists, substitute_lists
from rules.macros import BrokenMacro, MacroError, MacroExpander, SourcePos, relocate
from rules.output_format import OutputFormat, OutputFormatError, parse_output
from rules.parser import ConditionSyntaxError, parse_condition, parse_field_ref
from rules.priority import Priority
from rules.reader import PluginRequirement, read_items
from rules.selectors import Selector, parse_selector, selected
from rules.yaml_source import MappedText, YamlSourceError, read_documents

ENGINE_VERSION = "0.63.0"
"""The Falco engine version whose rule language Saker implements (`required_engine_version` checks)."""

BUILTIN_PLUGINS: dict[str, str] = {
    "container": "0.7.0",  # the state engine's container.* and k8s.* fields
    "json": "0.7.4",  # json.* / jevt.* on every plugin source
    "k8saudit": "0.18.0",
    "cloudtrail": "0.17.1",
    "github": "0.10.1",
    "okta": "0.12.0",
}
"""Plugins whose fields and sources Saker provides built in, with the upstream plugin version each matches
(stages/plugins/*: a test checks the two agree). Only what is built is listed."""

CONTAINER_INFO = "%container.info"
CONTAINER_INFO_WARNING = ("%container.info is deprecated and no more useful, and will be dropped by Falco 1.0.0. "
                          "The container plugin will automatically add required fields to the output message.")
DEPRECATED_OUTPUT_FIELDS = ("evt.dir", "evt.latency", "evt.latency.s", "evt.latency.ns", "evt.latency.human",
                            "evt.wait_latency")
_UNKNOWN_FILTER_MARKERS = ("nonexistent field", "unknown event type", "invalid formatting token", "unknown filter:")


def _version_tuple(text: str) -> tuple[int, int, int]:
    major, minor, patch = (int(p) for p in text.split(".")[:3])
    return major, minor, patch


# --- results ---------------------------------------------------------------------------------------------


@dataclass
class LoadedRule:
    """A compiled rule, ready for the rule engine."""

    name: str
    desc: str
    condition: ast.Node
    condition_text: str
    output: str
    output_format: OutputFormat
    priority: Priority
    source: str
    tags: tuple[str, ...]
    enabled: bool
    event_types: frozenset[str] | None
    skip_if_unknown_filter: bool
    capture: bool
    capture_duration: int
    location: Location
    warn_evttypes: bool


@dataclass
class LoadedMacro:
    name: str
    condition_text: str
    condition: ast.Node | None
    location: Location
    used: bool = False


@dataclass
class LoadedList:
    name: str
    items: list[str]
    location: Location
    used: bool = False


@dataclass
class LoadResult:
    rules: list[LoadedRule] = field(default_factory=list)
    errors: list[LoadMessage] = field(default_factory=list)
    warnings: list[LoadMessage] = field(default_factory=list)
    macros: dict[str, LoadedMacro] = field(default_factory=dict)
    lists: dict[str, LoadedList] = field(default_factory=dict)
    required_engine_version: str | None = None
    required_plugins: list[PluginRequirement] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _Compiled:
    rules: list[LoadedRule] = field(default_factory=list)
    errors: list[LoadMessage] = field(default_factory=list)
    warnings: list[LoadMessage] = field(default_factory=list)
    macros: dict[str, LoadedMacro] = field(default_factory=dict)
    lists: dict[str, LoadedList] = field(default_factory=dict)


# --- entry point -------------------------------------------------------------------------------------------


def load_rules(
    paths: Iterable[str], *, registry: FieldRegistry = REGISTRY,
    selectors: Iterable[Selector | Mapping[str, Any]] = (), min_priority: str = "debug",
    append_output: Iterable[str] = (),
) -> LoadResult:
    """Load rules files in order into one rule set; see the module docstring."""
    result = LoadResult()
    sink = _Sink(result)
    minimum = Priority.parse(min_priority)
    extras = tuple(append_output)
    collector = Collector(_version_tuple(ENGINE_VERSION), set(registry.sources()),
                          lambda source, name: _field_exists(registry, source, name), sink.warn)
    compiled = _Compiled()
    paths = list(paths)
    for number, path in enumerate(paths):
        _read_file(path, collector, sink)
        compiled = _compile(collector.collection, registry, minimum, extras)
        for message in compiled.errors:
            sink.fail(message)
        if number == len(paths) - 1:
            for message in compiled.warnings:
                sink.warn(message)
    collection = collector.collection
    result.rules = compiled.rules
    result.macros, result.lists = compiled.macros, compiled.lists
    result.required_engine_version = collection.engine_version.text if collection.engine_version else None
    result.required_plugins = list(collection.plugin_requirements)
    for message in check_plugin_requirements(collection.plugin_requirements):
        sink.fail(message)
    chosen = [parse_selector(s) for s in selectors]
    for rule in result.rules:
        rule.enabled = selected(rule.name, rule.tags, rule.enabled, chosen)
    return result


class _Sink:
    """Collects messages into a result, each distinct message once."""

    def __init__(self, result: LoadResult) -> None:
        self._result = result
        self._seen: set[str] = set()

    def _add(self, target: list[LoadMessage], message: LoadMessage) -> None:
        key = message.to_json_text()
        if key not in self._seen:
            self._seen.add(key)
            target.append(message)

    def warn(self, message: LoadMessage) -> None:
        self._add(self._result.warnings, message)

    def fail(self, message: LoadMessage) -> None:
        self._add(self._result.errors, message)


def _read_file(path: str, collector: Collector, sink: _Sink) -> None:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        sink.fail(LoadMessage.make(errors.LOAD_ERR_FILE_READ, f"Could not read rules file: {exc}",
                                   Location.of_file(path)))
        return
    try:
        docs = read_documents(path, text)
    except YamlSourceError as exc:
        sink.fail(LoadMessage.make(errors.LOAD_ERR_YAML_PARSE, exc.message, Location.at(exc.mark, errors.FILE)))
        return
    for definition in read_items(docs, sink.warn, sink.fail):
        try:
            collector.add(definition)
        except LoadError as exc:
            sink.fail(exc.to_message())


def _field_exists(registry: FieldRegistry, source: str, name: str) -> bool:
    try:
        ref = parse_field_ref(name)
        if isinstance(ref, ast.Transformer):
            return False
        resolve(registry, source, ref)
    except (ConditionSyntaxError, ConditionCompileError, LookupError, ValueError):
        return False
    return True


def check_plugin_requirements(requirements: list[PluginRequirement]) -> list[LoadMessage]:
    """One error per requirement that no built-in plugin satisfies (same major, version >= requested)."""
    messages = []
    for req in requirements:
        if any(_plugin_satisfies(name, version) for name, version in req.alternatives):
            continue
        wanted = ", ".join(f"{name} (>= {version})" for name, version in req.alternatives)
        have = ", ".join(f"{name} {BUILTIN_PLUGINS[name]}" for name, _ in req.alternatives if name in BUILTIN_PLUGINS)
        detail = f"Saker provides {have}" if have else "Saker provides none of them"
        messages.append(LoadMessage.make(
            errors.LOAD_ERR_VALIDATE, f"Plugin requirement not satisfied, must load one of: {wanted}; {detail}",
            req.location))
    return messages


def _plugin_satisfies(name: str, version: str) -> bool:
    have = BUILTIN_PLUGINS.get(name)
    if have is None:
        return False
    mine, wanted = _version_tuple(have), _version_tuple(version)
    return mine[0] == wanted[0] and mine >= wanted


# --- compilation -------------------------------------------------------------------------------------------


class _RuleSkipped(Exception):
    """The rule is dropped; the reason, if any, has been reported."""


class _Compiler:
    def __init__(self, collection: Collection, registry: FieldRegistry, minimum: Priority,
                 extras: tuple[str, ...]) -> None:
        self.collection = collection
        self.registry = registry
        self.minimum = minimum
        self.extras = extras
        self.out = _Compiled()
        self.lists: dict[str, CompiledList] = {}
        self.expander = MacroExpander({}, {})
        self.macro_texts: dict[str, MappedText] = {}

    def run(self) -> _Compiled:
        self.lists = compile_lists(self.collection.lists)
        self._compile_macros()
        for rule in self.collection.rules.values():
            if rule.unknown_source:
                continue
            try:
                self._compile_rule(rule)
            except _RuleSkipped:
                continue
            except LoadError as exc:
                self.out.errors.append(exc.to_message())
        self._report_unused()
        return self.out

    # --- macros ---

    def _compile_macros(self) -> None:
        macros = self.collection.macros
        trees: dict[str, ast.Node | None] = {}
        for macro in macros.values():
            text = self._substitute(macro.condition)
            self.macro_texts[macro.name] = text
            trees[macro.name] = self._parse(text, macro.location)
        self.expander = MacroExpander(macros, trees)
        for macro in macros.values():
            expanded = None
            try:
                expanded = self.expander.expand_macro(macro.name)
            except MacroError as exc:
                self.out.errors.append(_macro_error(exc, macro.location))
            except BrokenMacro:
                pass  # it uses a macro whose own error is already reported
            self.out.macros[macro.name] = LoadedMacro(macro.name, self.macro_texts[macro.name].text, expanded,
                                                      macro.location)

    def _substitute(self, text: MappedText) -> MappedText:
        text, used = substitute_lists(text, self.lists)
        for name in used:
            self.lists[name].used = True
        return text

    def _parse(self, text: MappedText, owner: Location) -> ast.Node | None:
        try:
            tree = parse_condition(text.text)
        except ConditionSyntaxError as exc:
            mark = text.mark_at(exc.pos.offset)
            where = Location.at(mark, errors.CONDITION, "", owner) if mark else owner
            self.out.errors.append(LoadMessage.make(errors.LOAD_ERR_COMPILE_CONDITION, exc.message, where))
            return None
        return relocate(tree, text, owner)

    # --- rules ---

    def _compile_rule(self, rule: RuleInfo) -> None:
        condition = rule.condition
        if rule.exceptions:
            condition = with_exceptions(condition, rule.exceptions)
        output_text, output_format = self._compile_output(rule)
        text = self._substitute(condition)
        tree = self._parse(text, rule.location)
        if tree is None:
            raise _RuleSkipped
        tree = self._expand(tree, rule)
        self._check(tree, text, rule)
        types = event_types(tree) if rule.source == "syscall" else None
        if rule.source == "syscall" and rule.warn_evttypes and too_many(types):
            self.out.warnings.append(LoadMessage.make(
                errors.LOAD_NO_EVTTYPE,
                "Rule matches too many evt.type values. This has a significant performance penalty.", rule.location))
        if not rule.priority.allowed_by(self.minimum):
            return
        self.out.rules.append(LoadedRule(
            rule.name, rule.desc, tree, text.text, output_text, output_format, rule.priority, rule.source,
            tuple(sorted(rule.tags)), rule.enabled, types, rule.skip_if_unknown_filter, rule.capture,
            rule.capture_duration, rule.location, rule.warn_evttypes))

    def _expand(self, tree: ast.Node, rule: RuleInfo) -> ast.Node:
        try:
            return self.expander.expand_rule(tree)
        except MacroError as exc:
            raise LoadError(errors.LOAD_ERR_VALIDATE, exc.message, _location_of(exc.pos, rule.location)) from None
        except BrokenMacro:
            raise _RuleSkipped from None

    def _check(self, tree: ast.Node, text: MappedText, rule: RuleInfo) -> None:
        try:
            found = check_condition(tree, source=rule.source, registry=self.registry)
        except ConditionCompileError as exc:
            where = _location_of(exc.pos, rule.location, text)
            if rule.skip_if_unknown_filter and _is_unknown_filter(exc.message):
                self.out.warnings.append(LoadMessage.make(errors.LOAD_UNKNOWN_FILTER, exc.message, where))
                raise _RuleSkipped from None
            raise LoadError(errors.LOAD_ERR_COMPILE_CONDITION, exc.message, where) from None
        for warning in found:
            where = _location_of(warning.pos, rule.location, text)
            self.out.warnings.append(LoadMessage.make(warning.code, warning.message, where))

    def _compile_output(self, rule: RuleInfo) -> tuple[str, OutputFormat]:
        output = rule.output
        for extra in self.extras:
            output = output + " " + extra
        if CONTAINER_INFO in output.text:
            self.out.warnings.append(LoadMessage.make(errors.LOAD_DEPRECATED_ITEM, CONTAINER_INFO_WARNING,
                                                      rule.location))
            output = _remove_all(output, CONTAINER_INFO)
        output_location = Location.at(output.mark_at(0), errors.OUTPUT, "", rule.location) \
            if output.mark_at(0) else rule.location
        try:
            parsed = parse_output(output.text, source=rule.source, registry=self.registry)
        except OutputFormatError as exc:
            mark = output.mark_at(exc.pos.offset)
            where = Location.at(mark, errors.OUTPUT, "", rule.location) if mark else output_location
            if rule.skip_if_unknown_filter and _is_unknown_filter(exc.message):
                self.out.warnings.append(LoadMessage.make(errors.LOAD_UNKNOWN_FILTER, exc.message, where))
                raise _RuleSkipped from None
            raise LoadError(errors.LOAD_ERR_COMPILE_OUTPUT, exc.message, where) from None
        for name in DEPRECATED_OUTPUT_FIELDS:
            if name in output.text:
                self.out.warnings.append(LoadMessage.make(
                    errors.LOAD_DEPRECATED_ITEM, f"usage of deprecated field '{name}' has been detected in the rule "
                    "output", output_location))
        return output.text, parsed

    # --- unused ---

    def _report_unused(self) -> None:
        used_macros = self.expander.used
        for name, macro in self.out.macros.items():
            macro.used = name in used_macros
            if not macro.used:
                self.out.warnings.append(LoadMessage.make(
                    errors.LOAD_UNUSED_MACRO, "Macro not referred to by any other rule/macro", macro.location))
        for name, compiled in self.lists.items():
            info = compiled.info
            self.out.lists[name] = LoadedList(name, compiled.items, info.location, compiled.used)
            if not compiled.used:
                self.out.warnings.append(LoadMessage.make(
                    errors.LOAD_UNUSED_LIST, "List not referred to by any other rule/macro", info.location))


def _compile(collection: Collection, registry: FieldRegistry, minimum: Priority,
             extras: tuple[str, ...]) -> _Compiled:
    return _Compiler(collection, registry, minimum, extras).run()


def _is_unknown_filter(message: str) -> bool:
    return any(marker in message for marker in _UNKNOWN_FILTER_MARKERS)


def _location_of(pos: ast.Pos, rule_location: Location, text: MappedText | None = None) -> Location:
    """Where a condition position is in the rules file, chained to its macro (if any) and the rule."""
    if isinstance(pos, SourcePos) and pos.mark is not None:
        owner = pos.owner or rule_location
        if owner is not rule_location:
            owner = dataclasses.replace(owner, parent=rule_location)
        return Location.at(pos.mark, errors.CONDITION, "", owner)
    mark = text.mark_at(pos.offset) if text is not None else None
    return Location.at(mark, errors.CONDITION, "", rule_location) if mark else rule_location


def _macro_error(exc: MacroError, macro_location: Location) -> LoadMessage:
    pos = exc.pos
    if isinstance(pos, SourcePos) and pos.mark is not None:
        owner = pos.owner or macro_location
        if owner is not macro_location:
            owner = dataclasses.replace(owner, parent=macro_location)
        return LoadMessage.make(errors.LOAD_ERR_VALIDATE, exc.message,
                                Location.at(pos.mark, errors.CONDITION, "", owner))
    return LoadMessage.make(errors.LOAD_ERR_VALIDATE, exc.message, macro_location)


def _remove_all(text: MappedText, token: str) -> MappedText:
    """`text` without any occurrence of `token` (marks of the rest kept)."""
    while (at := text.text.find(token)) >= 0:
        text = text[0:at] + text[at + len(token):]
    return text
