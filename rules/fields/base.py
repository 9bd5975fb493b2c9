"""What a field is: a row in a table. Field classes are tables; the registry indexes them by source.

A new field class is a module with a `FIELD_CLASS = FieldClass(...)` table, listed once in
`rules/fields/__init__.py`. Other event sources (k8s_audit, aws_cloudtrail...) register theirs the same way.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import pyarrow as pa


class FieldType(enum.Enum):
    """libsinsp parameter types, each with the Arrow type an event batch uses for it."""

    CHARBUF = "CHARBUF"
    BYTEBUF = "BYTEBUF"
    BOOL = "BOOL"
    INT16 = "INT16"
    INT32 = "INT32"
    INT64 = "INT64"
    UINT16 = "UINT16"
    UINT32 = "UINT32"
    UINT64 = "UINT64"
    RELTIME = "RELTIME"
    ABSTIME = "ABSTIME"
    IPADDR = "IPADDR"
    IPNET = "IPNET"
    PORT = "PORT"
    DOUBLE = "DOUBLE"
    DYN = "DYN"

    @property
    def arrow_type(self) -> pa.DataType:
        return _ARROW_TYPES[self]

    @property
    def is_numeric(self) -> bool:
        return self in _NUMERIC


_ARROW_TYPES: dict[FieldType, pa.DataType] = {
    FieldType.CHARBUF: pa.string(),
    FieldType.BYTEBUF: pa.binary(),
    FieldType.BOOL: pa.bool_(),
    FieldType.INT16: pa.int16(),
    FieldType.INT32: pa.int32(),
    FieldType.INT64: pa.int64(),
    FieldType.UINT16: pa.uint16(),
    FieldType.UINT32: pa.uint32(),
    FieldType.UINT64: pa.uint64(),
    FieldType.RELTIME: pa.uint64(),
    FieldType.ABSTIME: pa.uint64(),
    FieldType.IPADDR: pa.string(),  # textual address: "127.0.0.1", "::1"
    FieldType.IPNET: pa.string(),  # the address, matched against CIDR constants
    FieldType.PORT: pa.uint16(),
    FieldType.DOUBLE: pa.float64(),
    FieldType.DYN: pa.string(),
}
_NUMERIC = frozenset(
    {FieldType.INT16, FieldType.INT32, FieldType.INT64, FieldType.UINT16, FieldType.UINT32, FieldType.UINT64,
     FieldType.RELTIME, FieldType.ABSTIME, FieldType.PORT, FieldType.DOUBLE}
)


class ArgKind(enum.Enum):
    """Whether a field takes an argument (`proc.aname[2]`, `evt.arg.flags`, `container.label[KEY]`)."""

    NONE = "none"
    REQUIRED = "required"
    OPTIONAL = "optional"


@dataclass(frozen=True)
class FieldInfo:
    """One catalog field.

    `arg_index` / `arg_key` / `arg_dotted` say which argument forms are accepted: a number in brackets,
    any text in brackets, text after a dot (`evt.arg.flags`). `is_list` fields yield several values per
    event (an event batch holds them as Arrow list columns). Ancestor fields (`proc.aname`...) without an
    index compare true when any ancestor matches (`any_ancestor`).
    """

    name: str
    type: FieldType
    description: str
    source: str = "syscall"
    arg: ArgKind = ArgKind.NONE
    arg_index: bool = False
    arg_key: bool = False
    arg_dotted: bool = False
    is_list: bool = False
    any_ancestor: bool = False
    filter_only: bool = False
    print_only: bool = False
    deprecated: bool = False
    no_rhs: bool = False
    no_transformer: bool = False

    @property
    def field_class(self) -> str:
        return self.name.split(".", 1)[0]


@dataclass(frozen=True)
class FieldClass:
    """A table of fields sharing a prefix (evt, proc, thread, fd, fs.path, user, group, container, k8s)."""

    name: str
    source: str
    description: str
    fields: tuple[FieldInfo, ...] = field(default_factory=tuple)


class UnknownFieldError(LookupError):
    """A name that is no catalog field of the source ("nonexistent field")."""


class FieldRegistry:
    """All field classes, by source. Lookup resolves `name[arg]` and the dotted-argument form."""

    def __init__(self) -> None:
        self._classes: list[FieldClass] = []
        self._by_source: dict[str, dict[str, FieldInfo]] = {}

    def register(self, field_class: FieldClass) -> None:
        table = self._by_source.setdefault(field_class.source, {})
        for info in field_class.fields:
            if info.name in table:
                raise ValueError(f"field {info.name} registered twice for source {field_class.source}")
            table[info.name] = info
        self._classes.append(field_class)

    def sources(self) -> list[str]:
        return list(self._by_source)

    def classes(self, source: str | None = None) -> list[FieldClass]:
        return [c for c in self._classes if source is None or c.source == source]

    def get(self, source: str, name: str) -> FieldInfo | None:
        """The field named exactly `name` (no argument) for `source`, or None."""
        return self._by_source.get(source, {}).get(name)

    def resolve_dotted(self, source: str, text: str) -> tuple[FieldInfo, str | None] | None:
        """Split `evt.arg.flags` into (evt.arg, "flags") by the longest known prefix; exact names first."""
        table = self._by_source.get(source, {})
        if text in table:
            return table[text], None
        parts = text.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            info = table.get(".".join(parts[:cut]))
            if info is not None and info.arg_dotted:
                return info, ".".join(parts[cut:])
        return None
