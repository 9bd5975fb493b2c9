"""Collector: gathers definitions of all files into one collection (Falco's `rule_loader_collector`).

Redefinition keeps the original position; append and override follow spec section 3. Every definition
or append takes the next number of a counter shared by lists, macros and rules: `index` is the number of
the first definition (the position), `visibility` that of the latest definition or append. Lists and
macros only see lists/macros whose `index` is below their own `visibility` (spec 4.1, 4.3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from rules import errors
from rules.errors import LoadError, LoadMessage, Location
from rules.exceptions import validate_exception
from rules.priority import Priority
from rules.reader import (EngineRequirement, ExceptionDef, ListDef, MacroDef, PluginRequirement, RuleDef,
                          RuleEnable, RuleUpdate, Definition)
from rules.yaml_source import MappedText, Scalar

ERROR_NO_PREVIOUS_MACRO = ("Macro uses 'append' or 'override.condition: append' but no macro by that name "
                           "already exists")
ERROR_NO_PREVIOUS_LIST = ("List uses 'append' or 'override.items: append' but no list by that name already "
                          "exists")
ERROR_NO_PREVIOUS_RULE_APPEND = ("Rule uses 'append' or 'override.<key>: append' but no rule by that name "
                                 "already exists")
ERROR_NO_PREVIOUS_RULE_REPLACE = ("An 'override.<key>: replace' to a rule was requested but no rule by that "
                                  "name already exists")

FieldExists = Callable[[str, str], bool]
"""(source, field text) -> whether the source defines that field."""


@dataclass
class ListInfo:
    name: str
    items: list[Scalar]
    location: Location
    index: int = 0
    visibility: int = 0


@dataclass
class MacroInfo:
    name: str
    condition: MappedText
    location: Location
    index: int = 0
    visibility: int = 0


@dataclass
class RuleInfo:
    """A rule as collected: the definition with appends and replacements applied."""

    name: str
    location: Location
    condition: MappedText
    output: MappedText
    desc: str
    priority: Priority
    source: str
    enabled: bool
    tags: set[str]
    exceptions: list[ExceptionDef]
    warn_evttypes: bool
    skip_if_unknown_filter: bool
    capture: bool
    capture_duration: int
    unknown_source: bool = False
    index: int = 0
    visibility: int = 0


@dataclass
class Collection:
    """Everything read so far, in definition order (dicts keep insertion order)."""

    lists: dict[str, ListInfo] = field(default_factory=dict)
    macros: dict[str, MacroInfo] = field(default_factory=dict)
    rules: dict[str, RuleInfo] = field(default_factory=dict)
    engine_version: EngineRequirement | None = None
    plugin_requirements: list[PluginRequirement] = field(default_factory=list)


def _semver(text: str) -> tuple[int, int, int] | None:
    parts = text.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1]), int(parts[2])


class Collector:
    """Applies definitions in order; `add` raises LoadError (LOAD_ERR_VALIDATE) for a bad one."""

    def __init__(self, engine_version: tuple[int, int, int], known_sources: set[str], field_exists: FieldExists,
                 warn: Callable[[LoadMessage], None]) -> None:
        self.collection = Collection()
        self._engine_version = engine_version
        self._known_sources = known_sources
        self._field_exists = field_exists
        self._warn = warn
        self._counter = 0

    def _next_id(self) -> int:
        number = self._counter
        self._counter += 1
        return number

    def add(self, definition: Definition) -> None:
        handler = {
            EngineRequirement: self._engine, PluginRequirement: self._plugins, ListDef: self._list,
            MacroDef: self._macro, RuleDef: self._rule, RuleUpdate: self._rule_update, RuleEnable: self._enable,
        }[type(definition)]
        handler(definition)  # type: ignore[operator]

    # --- requirements ---

    def _engine(self, req: EngineRequirement) -> None:
        mine = self._engine_version
        if req.version[0] != mine[0] or req.version > mine:
            have = ".".join(map(str, mine))
            raise _validate_error(f"Rules require engine version {req.text}, but engine version is {have}",
                                  req.location)
        current = self.collection.engine_version
        if current is None or current.version < req.version:
            self.collection.engine_version = req

    def _plugins(self, req: PluginRequirement) -> None:
        names: set[str] = set()
        for name, version in req.alternatives:
            if _semver(version) is None:
                raise _validate_error(f"Invalid required version '{version}' for plugin '{name}'", req.location)
            if name in names:
                raise _validate_error(f"Defined multiple alternative version requirements for plugin '{name}'",
                                      req.location)
            names.add(name)
        self.collection.plugin_requirements.append(req)

    # --- lists and macros ---

    def _list(self, d: ListDef) -> None:
        lists = self.collection.lists
        if d.append:
            prev = lists.get(d.name)
            if prev is None:
                raise _validate_error(ERROR_NO_PREVIOUS_LIST, d.location)
            prev.items = prev.items + d.items
            prev.visibility = self._next_id()
            return
        self._define(lists, ListInfo(d.name, list(d.items), d.location))

    def _macro(self, d: MacroDef) -> None:
        macros = self.collection.macros
        if d.append:
            prev = macros.get(d.name)
            if prev is None:
                raise _validate_error(ERROR_NO_PREVIOUS_MACRO, d.location)
            prev.condition = prev.condition + " " + d.condition.mapped()
            prev.visibility = self._next_id()
            return
        self._define(macros, MacroInfo(d.name, d.condition.mapped(), d.location))

    def _define(self, table: dict, info: ListInfo | MacroInfo | RuleInfo) -> None:
        number = self._next_id()
        prev = table.get(info.name)
        info.index = prev.index if prev is not None else number
        info.visibility = number
        table[info.name] = info  # same key: keeps its position in the dict

    # --- rules ---

    def _rule(self, d: RuleDef) -> None:
        prev = self.collection.rules.get(d.name)
        if prev is not None and prev.source != d.source:
            raise _validate_error("Rule has been re-defined with a different source", d.location)
        unknown = d.source not in self._known_sources
        if unknown:
            self._warn(LoadMessage.make(errors.LOAD_UNKNOWN_SOURCE, f"Unknown source {d.source}, skipping",
                                        d.location))
        for ex in d.exceptions:
            self._check_new_exception(ex, d.source, unknown, need_values=False)
        info = RuleInfo(
            d.name, d.location, d.condition.mapped(), d.output.mapped().strip(), d.desc, d.priority, d.source,
            d.enabled, set(d.tags), list(d.exceptions), d.warn_evttypes, d.skip_if_unknown_filter, d.capture,
            d.capture_duration, unknown_source=unknown)
        self._define(self.collection.rules, info)

    def _check_new_exception(self, ex: ExceptionDef, source: str, unknown: bool, need_values: bool) -> None:
        if ex.fields is None:
            raise _validate_error("Rule exception item must have fields property with a list of fields",
                                  ex.location)
        if need_values and not ex.values:
            raise _validate_error("Rule exception must have values property with a list of values", ex.location)
        validate_exception(ex, None if unknown else source, self._field_exists)

    def _rule_update(self, u: RuleUpdate) -> None:
        prev = self.collection.rules.get(u.name)
        if prev is None:
            message = ERROR_NO_PREVIOUS_RULE_APPEND if u.operation == "append" else ERROR_NO_PREVIOUS_RULE_REPLACE
            raise _validate_error(message, u.location)
        if not u.values:
            message = ("Appended rule must have exceptions or condition property" if u.operation == "append"
                       else "The rule must have at least one field that can be replaced")
            raise _validate_error(message, u.location)
        if u.operation == "append":
            self._append_rule(prev, u)
        else:
            self._replace_rule(prev, u)
        prev.visibility = self._next_id()

    def _append_rule(self, prev: RuleInfo, u: RuleUpdate) -> None:
        for key in ("condition", "output"):
            value = u.values.get(key)
            if isinstance(value, Scalar) and value.text:
                mapped = value.mapped().strip() if key == "output" else value.mapped()
                setattr(prev, key, getattr(prev, key) + " " + mapped)
        if u.values.get("desc"):
            prev.desc = f"{prev.desc} {u.values['desc']}"
        if "tags" in u.values:
            prev.tags |= set(u.values["tags"])  # type: ignore[arg-type]
        for ex in u.values.get("exceptions", []):  # type: ignore[union-attr]
            self._append_exception(prev, ex)

    def _append_exception(self, prev: RuleInfo, ex: ExceptionDef) -> None:
        existing = next((e for e in prev.exceptions if e.name == ex.name), None)
        if existing is None:
            self._check_new_exception(ex, prev.source, prev.unknown_source, need_values=True)
            prev.exceptions.append(ex)
            return
        if ex.fields is not None:
            raise _validate_error("Can not append exception fields to existing exception, only values",
                                  ex.location)
        if ex.comps is not None:
            raise _validate_error("Can not append exception comps to existing exception, only values",
                                  ex.location)
        existing.values = existing.values + ex.values

    def _replace_rule(self, prev: RuleInfo, u: RuleUpdate) -> None:
        for key, value in u.values.items():
            if key == "condition":
                prev.condition = value.mapped()  # type: ignore[union-attr]
            elif key == "output":
                prev.output = value.mapped().strip()  # type: ignore[union-attr]
            elif key == "exceptions":
                for ex in value:  # type: ignore[union-attr]
                    self._check_new_exception(ex, prev.source, prev.unknown_source, need_values=False)
                prev.exceptions = list(value)  # type: ignore[arg-type]
            elif key == "tags":
                prev.tags = set(value)  # type: ignore[arg-type]
            else:
                setattr(prev, key.replace("-", "_"), value)

    def _enable(self, e: RuleEnable) -> None:
        prev = self.collection.rules.get(e.name)
        if prev is None:
            raise _validate_error("Rule has 'enabled' key but no rule by that name already exists", e.location)
        prev.enabled = e.enabled


def _validate_error(message: str, location: Location) -> LoadError:
    return LoadError(errors.LOAD_ERR_VALIDATE, message, location)
