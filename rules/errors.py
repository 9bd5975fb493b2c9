"""Load diagnostics: stable codes, a location chain, and messages rendered as text or JSON.

Codes and their short descriptions follow Falco's `falco_load_result` so that users can search for them.
A `Location` is a chain from the innermost place (a character of a condition) out to the item that holds
it (a macro, a rule) and, for errors inside macros, the rule that was being compiled. A `LoadMessage`
renders as

    file:line:col: error LOAD_ERR_...: message (rule 'X')
        <source line>
        ^

and as a JSON object with the same content.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rules.yaml_source import Mark

# --- codes ------------------------------------------------------------------------------------------

LOAD_ERR_FILE_READ = "LOAD_ERR_FILE_READ"
LOAD_ERR_YAML_PARSE = "LOAD_ERR_YAML_PARSE"
LOAD_ERR_YAML_VALIDATE = "LOAD_ERR_YAML_VALIDATE"
LOAD_ERR_VALIDATE = "LOAD_ERR_VALIDATE"
LOAD_ERR_COMPILE_CONDITION = "LOAD_ERR_COMPILE_CONDITION"
LOAD_ERR_COMPILE_OUTPUT = "LOAD_ERR_COMPILE_OUTPUT"

LOAD_UNKNOWN_SOURCE = "LOAD_UNKNOWN_SOURCE"
LOAD_UNSAFE_NA_CHECK = "LOAD_UNSAFE_NA_CHECK"
LOAD_NO_EVTTYPE = "LOAD_NO_EVTTYPE"
LOAD_UNKNOWN_FILTER = "LOAD_UNKNOWN_FILTER"
LOAD_UNUSED_MACRO = "LOAD_UNUSED_MACRO"
LOAD_UNUSED_LIST = "LOAD_UNUSED_LIST"
LOAD_UNKNOWN_ITEM = "LOAD_UNKNOWN_ITEM"
LOAD_DEPRECATED_ITEM = "LOAD_DEPRECATED_ITEM"
LOAD_WARNING_EXTENSION = "LOAD_WARNING_EXTENSION"
LOAD_APPEND_NO_VALUES = "LOAD_APPEND_NO_VALUES"
LOAD_EXCEPTION_NAME_NOT_UNIQUE = "LOAD_EXCEPTION_NAME_NOT_UNIQUE"
LOAD_INVALID_MACRO_NAME = "LOAD_INVALID_MACRO_NAME"
LOAD_INVALID_LIST_NAME = "LOAD_INVALID_LIST_NAME"
LOAD_COMPILE_CONDITION = "LOAD_COMPILE_CONDITION"
LOAD_UNKNOWN_KEY = "LOAD_UNKNOWN_KEY"

ERROR_CODES: dict[str, str] = {
    LOAD_ERR_FILE_READ: "File read error",
    LOAD_ERR_YAML_PARSE: "YAML parse error",
    LOAD_ERR_YAML_VALIDATE: "Error validating internal structure of YAML file",
    LOAD_ERR_VALIDATE: "Error validating rule/macro/list/exception objects",
    LOAD_ERR_COMPILE_CONDITION: "Error compiling condition",
    LOAD_ERR_COMPILE_OUTPUT: "Error compiling output",
}

WARNING_CODES: dict[str, str] = {
    LOAD_UNKNOWN_SOURCE: "Unknown event source",
    LOAD_UNSAFE_NA_CHECK: "Unsafe <NA> comparison in condition",
    LOAD_NO_EVTTYPE: "Condition has no event-type restriction",
    LOAD_UNKNOWN_FILTER: "Unknown field or event-type in condition or output",
    LOAD_UNUSED_MACRO: "Unused macro",
    LOAD_UNUSED_LIST: "Unused list",
    LOAD_UNKNOWN_ITEM: "Unknown rules file item",
    LOAD_DEPRECATED_ITEM: "Used deprecated item",
    LOAD_WARNING_EXTENSION: "Warning in extension item",
    LOAD_APPEND_NO_VALUES: "Overriding/appending with no values",
    LOAD_EXCEPTION_NAME_NOT_UNIQUE: "Multiple exceptions defined with the same name",
    LOAD_INVALID_MACRO_NAME: "Invalid macro name",
    LOAD_INVALID_LIST_NAME: "Invalid list name",
    LOAD_COMPILE_CONDITION: "Warning in rule condition",
    LOAD_UNKNOWN_KEY: "Unknown key in item definition",
}


def describe(code: str) -> str:
    """The short description of a code."""
    return ERROR_CODES.get(code) or WARNING_CODES[code]


def is_error(code: str) -> bool:
    return code in ERROR_CODES


# --- locations --------------------------------------------------------------------------------------

# Item kinds, as they appear in messages.
FILE = "file"
RULE = "rule"
MACRO = "macro"
LIST = "list"
EXCEPTION = "exception"
CONDITION = "condition"
OUTPUT = "output"
VALUE = "value"
REQUIRED_ENGINE_VERSION = "required_engine_version"
REQUIRED_PLUGIN_VERSIONS = "required_plugin_versions"
ITEM = "item"

_NAMED_KINDS = (RULE, MACRO, LIST, EXCEPTION)


@dataclass(frozen=True)
class Location:
    """A place in a rules file and what is there, linked to the enclosing location (`parent`)."""

    file: str
    line: int
    col: int
    kind: str = ITEM
    name: str = ""
    parent: "Location | None" = None
    mark: Mark | None = None

    @staticmethod
    def at(mark: Mark, kind: str = ITEM, name: str = "", parent: "Location | None" = None) -> "Location":
        return Location(mark.file, mark.line, mark.col, kind, name, parent, mark)

    @staticmethod
    def of_file(path: str) -> "Location":
        return Location(path, 0, 0, FILE)

    def chain(self) -> list["Location"]:
        """This location and its ancestors, innermost first."""
        result: list[Location] = []
        node: Location | None = self
        while node is not None:
            result.append(node)
            node = node.parent
        return result

    def described_items(self) -> str:
        """`rule 'X'`, or `macro 'M', in rule 'X'` for a place inside a macro used by a rule."""
        parts: list[str] = []
        for loc in self.chain():
            if loc.kind in _NAMED_KINDS and loc.name:
                part = f"{loc.kind} '{loc.name}'"
                if part not in parts:
                    parts.append(part)
        return ", in ".join(parts)

    def position(self) -> str:
        return f"{self.file}:{self.line}:{self.col}" if self.line else self.file

    def to_json(self) -> dict[str, Any]:
        return {"item_type": self.kind, "item_name": self.name,
                "position": {"name": self.file, "line": self.line, "column": self.col}}


# --- messages -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadMessage:
    """One error or warning of a load."""

    code: str
    message: str
    location: Location
    snippet: str = ""

    @property
    def is_error(self) -> bool:
        return is_error(self.code)

    @property
    def severity(self) -> str:
        return "error" if self.is_error else "warning"

    @staticmethod
    def make(code: str, message: str, location: Location) -> "LoadMessage":
        """A message whose snippet is read from the location's source file."""
        return LoadMessage(code, message, location, snippet_for(location))

    def render_text(self) -> str:
        items = self.location.described_items()
        head = f"{self.location.position()}: {self.severity} {self.code}: {self.message}"
        if items:
            head += f" ({items})"
        return f"{head}\n{self.snippet}" if self.snippet else head

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "codedesc": describe(self.code),
            "severity": self.severity,
            "message": self.message,
            "context": {"locations": [loc.to_json() for loc in reversed(self.location.chain())],
                        "snippet": self.snippet},
        }

    def to_json_text(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True)

    def __str__(self) -> str:
        return self.render_text()


def snippet_for(location: Location) -> str:
    """The source line of the location and a caret under its column (tabs kept for alignment)."""
    mark = location.mark
    if mark is None or mark.source is None or location.line <= 0:
        return ""
    line = mark.source.line_text(location.line)
    prefix = "".join(c if c == "\t" else " " for c in line[: max(location.col - 1, 0)])
    return f"    {line}\n    {prefix}^"


class LoadError(Exception):
    """Raised inside the loader to abandon one item; turned into a LoadMessage by the caller."""

    def __init__(self, code: str, message: str, location: Location) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.location = location

    def to_message(self) -> LoadMessage:
        return LoadMessage.make(self.code, self.message, self.location)
