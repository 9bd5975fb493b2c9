"""Reader: YAML items of one rules file to item definitions (Falco's `rule_loader_reader`).

An element's kind is the first of `required_engine_version`, `required_plugin_versions`, `list`, `macro`,
`rule` that it contains. Each kind validates its keys and values with Falco's messages and produces one
or two definitions (`ListDef`, `MacroDef`, `RuleDef`, `RuleUpdate`, `RuleEnable`, `EngineRequirement`,
`PluginRequirement`) for the collector. A broken item raises `LoadError`; `read_items` records it and
goes on with the next item, so one pass reports every error of a file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterator

from rules import errors
from rules.errors import LoadError, LoadMessage, Location
from rules.priority import Priority
from rules.yaml_source import Map, Node, Scalar, Seq, to_bool, to_uint

KIND_KEYS = ("required_engine_version", "required_plugin_versions", "list", "macro", "rule")

LIST_KEYS = frozenset({"list", "items", "append", "override"})
MACRO_KEYS = frozenset({"macro", "condition", "append", "override"})
RULE_KEYS = frozenset({
    "rule", "condition", "output", "desc", "priority", "source", "enabled", "tags", "exceptions",
    "warn_evttypes", "skip-if-unknown-filter", "capture", "capture_duration", "append", "override",
})
EXCEPTION_KEYS = frozenset({"name", "fields", "comps", "values"})

RULE_APPENDABLE = ("condition", "output", "desc", "tags", "exceptions")
RULE_REPLACEABLE = RULE_APPENDABLE + (
    "priority", "enabled", "warn_evttypes", "skip-if-unknown-filter", "capture", "capture_duration")

_LIST_NAME = re.compile(r"[^()\"'\s=,]+")
_MACRO_NAME = re.compile(r"[a-zA-Z]+[a-zA-Z0-9_]*")
_SEMVER = re.compile(r"(\d+)\.(\d+)\.(\d+)")

WARNING_APPEND = ("'append' key is deprecated. Add an 'append' entry (e.g. 'condition: append') under "
                  "'override' instead.")
WARNING_ENABLED = ("The standalone 'enabled' key usage is deprecated. The correct approach requires also a "
                   "'replace' entry under the 'override' key (i.e. 'enabled: replace').")
ERROR_OVERRIDE_APPEND = ("Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry "
                         "(e.g. 'condition: append') under 'override' instead.")


# --- definitions -------------------------------------------------------------------------------------


@dataclass
class ExceptionEntry:
    """An exception's `fields`, `comps` or one `values` element: a scalar or a (nested) list."""

    is_list: bool
    item: Scalar | None = None
    items: list["ExceptionEntry"] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.item.text if self.item is not None else ""


@dataclass
class ExceptionDef:
    name: str
    location: Location
    fields: ExceptionEntry | None = None
    comps: ExceptionEntry | None = None
    values: list[ExceptionEntry] = field(default_factory=list)


@dataclass
class ListDef:
    name: str
    items: list[Scalar]
    location: Location
    append: bool = False


@dataclass
class MacroDef:
    name: str
    condition: Scalar
    location: Location
    append: bool = False


@dataclass
class RuleDef:
    """A full rule definition."""

    name: str
    location: Location
    condition: Scalar
    output: Scalar
    desc: str
    priority: Priority
    source: str = "syscall"
    enabled: bool = True
    tags: set[str] = field(default_factory=set)
    exceptions: list[ExceptionDef] = field(default_factory=list)
    warn_evttypes: bool = True
    skip_if_unknown_filter: bool = False
    capture: bool = False
    capture_duration: int = 0


@dataclass
class RuleUpdate:
    """An append or replace of some keys of an existing rule (`override:` or legacy `append: true`)."""

    name: str
    location: Location
    operation: str  # "append" or "replace"
    values: dict[str, object] = field(default_factory=dict)
    legacy: bool = False


@dataclass
class RuleEnable:
    """The legacy enable-only form: `- rule: X` + `enabled: false`."""

    name: str
    enabled: bool
    location: Location


@dataclass
class EngineRequirement:
    version: tuple[int, int, int]
    text: str
    location: Location


@dataclass
class PluginRequirement:
    """One `required_plugin_versions` entry: any of the alternatives (name, version) satisfies it."""

    alternatives: list[tuple[str, str]]
    location: Location


Definition = (ListDef | MacroDef | RuleDef | RuleUpdate | RuleEnable | EngineRequirement | PluginRequirement)


# --- reading -------------------------------------------------------------------------------------------


def read_items(
    docs: list[Node | None], warn: Callable[[LoadMessage], None], fail: Callable[[LoadMessage], None],
) -> Iterator[Definition]:
    """Definitions of every item of every document, in order; errors go to `fail`, warnings to `warn`."""
    for doc in docs:
        if doc is None:
            continue
        if not isinstance(doc, Seq):
            what = "Rules content is not yaml array of objects" if isinstance(doc, Map) else "Rules content is not yaml"
            fail(LoadMessage.make(errors.LOAD_ERR_YAML_VALIDATE, what, Location.at(doc.mark, errors.FILE)))
            continue
        for element in doc.items:
            if isinstance(element, Scalar) and element.is_null:
                continue
            try:
                yield from _read_item(element, warn)
            except LoadError as exc:
                fail(exc.to_message())


def _read_item(element: Node, warn: Callable[[LoadMessage], None]) -> Iterator[Definition]:
    if not isinstance(element, Map):
        raise LoadError(errors.LOAD_ERR_YAML_VALIDATE,
                        "Unexpected element type. Each element should be a yaml associative array.",
                        Location.at(element.mark))
    kind = next((k for k in KIND_KEYS if k in element), None)
    if kind is None:
        warn(LoadMessage.make(errors.LOAD_UNKNOWN_ITEM, "Unknown top level item", Location.at(element.mark)))
        return
    if kind == "required_engine_version":
        yield _read_engine_version(element, warn)
    elif kind == "required_plugin_versions":
        yield from _read_plugin_versions(element, warn)
    elif kind == "list":
        yield _read_list(element, warn)
    elif kind == "macro":
        yield _read_macro(element, warn)
    else:
        yield from _read_rule(element, warn)


def _fail(message: str, location: Location) -> LoadError:
    return LoadError(errors.LOAD_ERR_YAML_VALIDATE, message, location)


def _warn_unknown_keys(item: Map, allowed: frozenset[str], ctx: Location, warn: Callable[[LoadMessage], None]) -> None:
    for key in item.keys():
        if key not in allowed:
            loc = Location.at(item.key_mark(key), errors.VALUE, key, ctx)
            warn(LoadMessage.make(errors.LOAD_UNKNOWN_KEY,
                                  f"Unknown key '{key}'. The key will be ignored.", loc))


def decode_scalar(item: Map, key: str, ctx: Location, optional: bool = False) -> Scalar | None:
    """A required (or optional) non-empty scalar value, with Falco's messages."""
    val = item.get(key)
    if val is None:
        if optional:
            return None
        raise _fail(f"Item has no mapping for key '{key}'", ctx)
    if isinstance(val, Scalar) and val.is_null:
        raise _fail(f"Mapping for key '{key}' is empty", ctx)
    valctx = Location.at(val.mark, errors.VALUE, key, ctx)
    if not isinstance(val, Scalar):
        raise _fail("Value is not a scalar value", valctx)
    if val.text == "":
        raise _fail("Value must be non-empty", valctx)
    return val


def decode_bool(item: Map, key: str, ctx: Location, default: bool) -> bool:
    val = decode_scalar(item, key, ctx, optional=True)
    if val is None:
        return default
    parsed = to_bool(val)
    if parsed is None:
        raise _fail("Can't decode YAML scalar value", Location.at(val.mark, errors.VALUE, key, ctx))
    return parsed


def _decode_uint(item: Map, key: str, ctx: Location, default: int) -> int:
    val = decode_scalar(item, key, ctx, optional=True)
    if val is None:
        return default
    parsed = to_uint(val)
    if parsed is None:
        raise _fail("Can't decode YAML scalar value", Location.at(val.mark, errors.VALUE, key, ctx))
    return parsed


def _decode_seq(item: Map, key: str, ctx: Location, optional: bool) -> list[Scalar] | None:
    val = item.get(key)
    if val is None:
        if optional:
            return None
        raise _fail(f"Item has no mapping for key '{key}'", ctx)
    valctx = Location.at(val.mark, errors.VALUE, key, ctx)
    if not isinstance(val, Seq):
        raise _fail("Value is not a sequence", valctx)
    for entry in val.items:
        if not isinstance(entry, Scalar):
            raise _fail("sequence value is not scalar", Location.at(entry.mark, errors.VALUE, "", valctx))
    return [entry for entry in val.items if isinstance(entry, Scalar)]


def _decode_overrides(item: Map, appendable: tuple[str, ...], replaceable: tuple[str, ...],
                      ctx: Location) -> tuple[list[str], list[str]]:
    """Keys named under `override:`, split into (append, replace)."""
    val = item.get("override")
    if val is None:
        return [], []
    octx = Location.at(val.mark, errors.VALUE, "override", ctx)
    if not isinstance(val, Map):
        raise _fail("Value of 'override' must be a mapping", octx)
    to_append: list[str] = []
    to_replace: list[str] = []
    for key, (key_scalar, op_node) in val.entries.items():
        keyctx = Location.at(key_scalar.mark, errors.VALUE, key, octx)
        operation = op_node.text if isinstance(op_node, Scalar) else ""
        if operation == "append":
            if key not in appendable:
                raise _fail(f"Key '{key}' cannot be appended to, use 'replace' instead", keyctx)
            to_append.append(key)
        elif operation == "replace":
            if key not in replaceable:
                raise _fail(f"Key '{key}' cannot be replaced", keyctx)
            to_replace.append(key)
        else:
            allowed = "".join(op + " " for op, ok in (("append", key in appendable), ("replace", key in replaceable)) if ok)
            raise _fail(f"Invalid override operation for key '{key}': '{operation}'. Allowed values are: {allowed}",
                        Location.at(op_node.mark, errors.VALUE, key, octx))
    return to_append, to_replace


def _read_engine_version(item: Map, warn: Callable[[LoadMessage], None]) -> EngineRequirement:
    ctx = Location.at(item.mark, errors.REQUIRED_ENGINE_VERSION)
    _warn_unknown_keys(item, frozenset({"required_engine_version"}), ctx, warn)
    val = decode_scalar(item, "required_engine_version", ctx)
    assert val is not None
    number = to_uint(val)
    if number is not None:
        return EngineRequirement((0, number, 0), f"0.{number}.0", ctx)
    match = _SEMVER.match(val.text)
    if match is None:
        raise _fail(f"Unable to parse engine version '{val.text}' as a semver string. Expected \"x.y.z\" "
                    "semver format.", ctx)
    version = (int(match[1]), int(match[2]), int(match[3]))
    return EngineRequirement(version, ".".join(map(str, version)), ctx)


def _read_plugin_versions(item: Map, warn: Callable[[LoadMessage], None]) -> Iterator[PluginRequirement]:
    node = item.get("required_plugin_versions")
    assert node is not None
    ctx = Location.at(node.mark, errors.REQUIRED_PLUGIN_VERSIONS)
    _warn_unknown_keys(item, frozenset({"required_plugin_versions"}), ctx, warn)
    if not isinstance(node, Seq):
        raise _fail("Value of required_plugin_versions must be a sequence", ctx)
    for plugin in node.items:
        tmp = Location.at(plugin.mark, errors.REQUIRED_PLUGIN_VERSIONS, "", ctx)
        if not isinstance(plugin, Map):
            raise _fail("Plugin version must be a mapping", tmp)
        name = decode_scalar(plugin, "name", tmp)
        pctx = Location.at(plugin.mark, errors.REQUIRED_PLUGIN_VERSIONS, name.text, ctx)
        version = decode_scalar(plugin, "version", pctx)
        alternatives = [(name.text, version.text)]
        alt_node = plugin.get("alternatives")
        if alt_node is not None:
            if not isinstance(alt_node, Seq):
                raise _fail("Value of plugin version alternatives must be a sequence", pctx)
            for alt in alt_node.items:
                actx = Location.at(alt.mark, errors.REQUIRED_PLUGIN_VERSIONS, "", pctx)
                if not isinstance(alt, Map):
                    raise _fail("Plugin version alternative must be a mapping", actx)
                alt_name = decode_scalar(alt, "name", actx)
                actx = Location.at(alt.mark, errors.REQUIRED_PLUGIN_VERSIONS, alt_name.text, pctx)
                alternatives.append((alt_name.text, decode_scalar(alt, "version", actx).text))
        yield PluginRequirement(alternatives, pctx)


def _read_list(item: Map, warn: Callable[[LoadMessage], None]) -> ListDef:
    tmp = Location.at(item.mark, errors.LIST)
    name = decode_scalar(item, "list", tmp).text
    ctx = Location.at(item.mark, errors.LIST, name)
    if not _LIST_NAME.fullmatch(name):
        warn(LoadMessage.make(errors.LOAD_INVALID_LIST_NAME, "List has an invalid name. List names should "
                              "match a regular expression: ([^()\"'[:space:]=,]+)", ctx))
    _warn_unknown_keys(item, LIST_KEYS, ctx, warn)
    items = _decode_seq(item, "items", ctx, optional=False)
    append = _legacy_append(item, ctx, warn)
    to_append, to_replace = _decode_overrides(item, ("items",), ("items",), ctx)
    if append and (to_append or to_replace):
        raise _fail(ERROR_OVERRIDE_APPEND, ctx)
    return ListDef(name, items or [], ctx, append or bool(to_append))


def _read_macro(item: Map, warn: Callable[[LoadMessage], None]) -> MacroDef:
    tmp = Location.at(item.mark, errors.MACRO)
    name = decode_scalar(item, "macro", tmp).text
    ctx = Location.at(item.mark, errors.MACRO, name)
    if not _MACRO_NAME.fullmatch(name):
        warn(LoadMessage.make(errors.LOAD_INVALID_MACRO_NAME, "Macro has an invalid name. Macro names should "
                              "match a regular expression: ([a-zA-Z]+[a-zA-Z0-9_]*)", ctx))
    _warn_unknown_keys(item, MACRO_KEYS, ctx, warn)
    condition = decode_scalar(item, "condition", ctx)
    append = _legacy_append(item, ctx, warn)
    to_append, to_replace = _decode_overrides(item, ("condition",), ("condition",), ctx)
    if append and (to_append or to_replace):
        raise _fail(ERROR_OVERRIDE_APPEND, ctx)
    return MacroDef(name, condition, ctx, append or bool(to_append))


def _legacy_append(item: Map, ctx: Location, warn: Callable[[LoadMessage], None]) -> bool:
    append = decode_bool(item, "append", ctx, default=False)
    if append:
        warn(LoadMessage.make(errors.LOAD_DEPRECATED_ITEM, WARNING_APPEND, ctx))
    return append


def _read_rule(item: Map, warn: Callable[[LoadMessage], None]) -> Iterator[Definition]:
    tmp = Location.at(item.mark, errors.RULE)
    name = decode_scalar(item, "rule", tmp).text
    ctx = Location.at(item.mark, errors.RULE, name)
    _warn_unknown_keys(item, RULE_KEYS, ctx, warn)
    append = _legacy_append(item, ctx, warn)
    to_append, to_replace = _decode_overrides(item, RULE_APPENDABLE, RULE_REPLACEABLE, ctx)
    if append and (to_append or to_replace):
        raise _fail(ERROR_OVERRIDE_APPEND, ctx)
    if to_append or to_replace:
        yield from _read_rule_overrides(item, name, ctx, to_append, to_replace, warn)
    elif append:
        yield _read_legacy_rule_append(item, name, ctx, warn)
    elif not any(key in item for key in ("condition", "output", "desc", "priority")):
        enabled = decode_bool(item, "enabled", ctx, default=True) if "enabled" in item else None
        if enabled is None:
            raise _fail("Item has no mapping for key 'enabled'", ctx)
        warn(LoadMessage.make(errors.LOAD_DEPRECATED_ITEM, WARNING_ENABLED, ctx))
        yield RuleEnable(name, enabled, ctx)
    else:
        yield _read_full_rule(item, name, ctx, warn)


def _read_full_rule(item: Map, name: str, ctx: Location, warn: Callable[[LoadMessage], None]) -> RuleDef:
    condition = decode_scalar(item, "condition", ctx)
    output = decode_scalar(item, "output", ctx)
    desc = decode_scalar(item, "desc", ctx)
    rule = RuleDef(name, ctx, condition, output, desc.text, _decode_priority(item, ctx))
    source = decode_scalar(item, "source", ctx, optional=True)
    rule.source = source.text if source is not None else "syscall"
    rule.enabled = decode_bool(item, "enabled", ctx, True)
    rule.warn_evttypes = decode_bool(item, "warn_evttypes", ctx, True)
    rule.skip_if_unknown_filter = decode_bool(item, "skip-if-unknown-filter", ctx, False)
    rule.capture = decode_bool(item, "capture", ctx, False)
    rule.capture_duration = _decode_uint(item, "capture_duration", ctx, 0)
    rule.tags = {tag.text for tag in _decode_seq(item, "tags", ctx, optional=True) or []}
    rule.exceptions = _read_exceptions(item, ctx, warn, append=False)
    return rule


def _decode_priority(item: Map, ctx: Location) -> Priority:
    text = decode_scalar(item, "priority", ctx)
    try:
        return Priority.parse(text.text)
    except ValueError:
        raise _fail("Invalid priority", Location.at(text.mark, errors.VALUE, "priority", ctx)) from None


def _read_rule_overrides(item: Map, name: str, ctx: Location, to_append: list[str], to_replace: list[str],
                         warn: Callable[[LoadMessage], None]) -> Iterator[RuleUpdate]:
    expected = {key for key in RULE_REPLACEABLE if key in item}
    for operation, keys in (("append", to_append), ("replace", to_replace)):
        if not keys:
            continue
        update = RuleUpdate(name, ctx, operation)
        for key in RULE_REPLACEABLE:
            if key not in keys:
                continue
            if key not in expected:
                raise _fail(f"An {operation} override for '{key}' was specified but '{key}' is not defined", ctx)
            expected.discard(key)
            update.values[key] = _decode_rule_value(item, key, ctx, warn, operation == "append")
        yield update
    for key in sorted(expected):
        keyctx = Location.at(item.key_mark(key), errors.VALUE, key, ctx)
        raise _fail(f"Unexpected key '{key}': no corresponding entry under 'override' is defined.", keyctx)


def _decode_rule_value(item: Map, key: str, ctx: Location, warn: Callable[[LoadMessage], None],
                       append: bool) -> object:
    if key in ("condition", "output"):
        return decode_scalar(item, key, ctx)
    if key == "desc":
        return decode_scalar(item, key, ctx).text
    if key == "tags":
        return {tag.text for tag in _decode_seq(item, "tags", ctx, optional=False) or []}
    if key == "exceptions":
        return _read_exceptions(item, ctx, warn, append=append)
    if key == "priority":
        return _decode_priority(item, ctx)
    if key == "capture_duration":
        return _decode_uint(item, key, ctx, 0)
    decode_scalar(item, key, ctx)  # present and non-empty, as for every overridden key
    return decode_bool(item, key, ctx, False)


def _read_legacy_rule_append(item: Map, name: str, ctx: Location, warn: Callable[[LoadMessage], None]) -> RuleUpdate:
    """`append: true` on a rule: only `condition` and `exceptions` are appended; other keys are ignored."""
    update = RuleUpdate(name, ctx, "append", legacy=True)
    if "condition" in item:
        update.values["condition"] = decode_scalar(item, "condition", ctx)
    if "exceptions" in item:
        update.values["exceptions"] = _read_exceptions(item, ctx, warn, append=True)
    return update


# --- exceptions ----------------------------------------------------------------------------------------


def _read_exceptions(item: Map, ctx: Location, warn: Callable[[LoadMessage], None], append: bool) -> list[ExceptionDef]:
    node = item.get("exceptions")
    if node is None or (isinstance(node, Scalar) and node.is_null):
        return []
    exctx = Location.at(node.mark, errors.VALUE, "exceptions", ctx)
    if not isinstance(node, Seq):
        raise _fail("Rule exceptions must be a sequence", exctx)
    result: list[ExceptionDef] = []
    for entry in node.items:
        tmp = Location.at(entry.mark, errors.EXCEPTION, "", exctx)
        if not isinstance(entry, Map):
            raise _fail("Rule exception must be a mapping", tmp)
        name = decode_scalar(entry, "name", tmp).text
        ex_ctx = Location.at(entry.mark, errors.EXCEPTION, name, ctx)
        _warn_unknown_keys(entry, EXCEPTION_KEYS, ex_ctx, warn)
        if any(previous.name == name for previous in result):
            warn(LoadMessage.make(errors.LOAD_EXCEPTION_NAME_NOT_UNIQUE,
                                  "Exceptions names in the same object must be unique", ex_ctx))
        ex = ExceptionDef(name, ex_ctx)
        ex.fields = _decode_entry(entry.get("fields"), "fields", ex_ctx, optional=append)
        ex.comps = _decode_entry(entry.get("comps"), "comps", ex_ctx, optional=True)
        values = entry.get("values")
        if values is not None:
            vctx = Location.at(values.mark, errors.VALUE, "values", ex_ctx)
            if not isinstance(values, Seq):
                raise _fail("Rule exception values must be a sequence", vctx)
            ex.values = [_decode_entry(v, "", vctx, optional=False) for v in values.items]
        elif append:
            warn(LoadMessage.make(errors.LOAD_APPEND_NO_VALUES, "Overriding/appending exception with no values",
                                  ex_ctx))
        result.append(ex)
    return result


def _decode_entry(node: Node | None, key: str, ctx: Location, optional: bool) -> ExceptionEntry | None:
    if node is None:
        if optional:
            return None
        raise _fail(f"Item has no mapping for key '{key}'", ctx)
    valctx = Location.at(node.mark, errors.VALUE, key, ctx)
    if isinstance(node, Scalar):
        if node.text == "":
            raise _fail("Value must be non-empty", valctx)
        return ExceptionEntry(False, item=node)
    if isinstance(node, Seq):
        return ExceptionEntry(True, items=[_decode_entry(v, "", valctx, optional=False) for v in node.items])
    raise _fail("Value is not a scalar value", valctx)

