"""Read a YAML config file, apply `-o key.path=value` overrides and validate it against the schema.

Every value remembers where it was written (file:line:col, or the `-o` flag that set it), so an unknown key,
a wrong type or a bad value is reported at its place. `${VAR}` in a string is replaced by the environment
variable VAR (for secrets); a missing variable is an error, not an empty string, unless a default is written
as `${VAR:-default}` (the shell's form).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from config.schema import Config

Path_ = tuple[str | int, ...]
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")  # ${VAR} or ${VAR:-default}


class ConfigError(Exception):
    """A config that cannot be used; the message names the key and where it was written."""


@dataclass(frozen=True)
class Place:
    """Where a config value came from."""

    where: str  # "config/default.yaml:12:3" or "-o json_output=maybe"

    def __str__(self) -> str:
        return self.where


def load_config(path: str | os.PathLike[str], overrides: list[str] = (), env: dict[str, str] | None = None) -> Config:
    """Load, override and validate; raise ConfigError naming every problem found."""
    env = dict(os.environ) if env is None else env
    data, places = _read_yaml(Path(path))
    for text in overrides:
        _apply_override(data, places, text)
    errors: list[str] = []
    data = _substitute_env(data, (), places, env, errors)
    if errors:
        raise ConfigError("\n".join(errors))
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError("\n".join(_describe(err, places) for err in exc.errors())) from None


def _read_yaml(path: Path) -> tuple[dict[str, Any], dict[Path_, Place]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    places: dict[Path_, Place] = {}
    if node is None:
        return {}, places
    data = _construct(node, (), path, places)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1:1: a config file is a mapping of keys to values")
    return data, places


def _construct(node: yaml.Node, at: Path_, path: Path, places: dict[Path_, Place]) -> Any:
    """Build plain Python values from a YAML node tree, noting each value's position."""
    places[at] = Place(f"{path}:{node.start_mark.line + 1}:{node.start_mark.column + 1}")
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if key in result:
                mark = key_node.start_mark
                raise ConfigError(f"{path}:{mark.line + 1}:{mark.column + 1}: duplicate key '{_dotted(at + (key,))}'")
            result[key] = _construct(value_node, at + (key,), path, places)
            places[at + (key,)] = Place(f"{path}:{key_node.start_mark.line + 1}:{key_node.start_mark.column + 1}")
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, at + (i,), path, places) for i, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.ScalarNode) -> Any:
    """A scalar typed by YAML's core rules (true, 12, 0.5, null) unless it was quoted."""
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def _apply_override(data: dict[str, Any], places: dict[Path_, Place], text: str) -> None:
    """`-o a.b.c=value` sets a key; `-o rules[].disable.rule=x` appends an element to a list."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise ConfigError(f"-o {text}: expected key.path=value")
    value = yaml.safe_load(raw) if raw.strip()[:1] in ("[", "{") else _override_scalar(raw)
    parts = [p.replace("\0", ".") for p in key.replace("\\.", "\0").split(".")]
    target: Any = data
    at: Path_ = ()
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        append = part.endswith("[]")
        name = part[:-2] if append else part
        if not isinstance(target, dict):
            raise ConfigError(f"-o {text}: '{_dotted(at)}' is not a section")
        at = at + (name,)
        if append:
            items = target.setdefault(name, [])
            if not isinstance(items, list):
                raise ConfigError(f"-o {text}: '{_dotted(at)}' is not a list")
            at = at + (len(items),)
            items.append(value if last else {})
            places[at] = Place(f"-o {text}")
            target = items[-1]
        elif last:
            target[name] = value
        else:
            target = target.setdefault(name, {})
        places[at] = Place(f"-o {text}")


def _override_scalar(raw: str) -> Any:
    """Leave the text to the schema to type (so `-o priority=12` stays a string for a string key)."""
    return None if raw in ("null", "~") else raw


def _substitute_env(value: Any, at: Path_, places: dict[Path_, Place], env: dict[str, str], errors: list[str]) -> Any:
    if isinstance(value, dict):
        return {k: _substitute_env(v, at + (k,), places, env, errors) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute_env(v, at + (i,), places, env, errors) for i, v in enumerate(value)]
    if isinstance(value, str) and "${" in value:
        def replace(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name not in env and default is not None:
                return default
            if name not in env:
                errors.append(f"{_place(at, places)}: '{_dotted(at)}' uses ${{{name}}}, which is not set in the environment")
                return ""
            return env[name]
        return _ENV.sub(replace, value)
    return value


def _describe(err: dict[str, Any], places: dict[Path_, Place]) -> str:
    loc: Path_ = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    # pydantic appends the union member or validator name to the path; keep the config keys only.
    known = loc
    while known and known not in places:
        known = known[:-1]
    where = _place(known, places)
    key = _dotted(loc)
    if err["type"] == "extra_forbidden":
        return f"{where}: unknown config key '{key}'"
    msg = err["msg"].removeprefix("Value error, ")
    if not key:  # a check across keys (load_plugins against plugins): the message names them
        return f"{where}: {msg}"
    given = err.get("input")
    shown = "" if isinstance(given, (dict, list)) or given is None else f" (got {given!r})"
    return f"{where}: bad value for '{key}': {msg}{shown}"


def _place(at: Path_, places: dict[Path_, Place]) -> str:
    while at and at not in places:
        at = at[:-1]
    return str(places.get(at, Place("config")))


def _dotted(at: Path_) -> str:
    out = ""
    for part in at:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
