"""Compact row syntax for field tables: `row(name, type, description, "flags")`.

Flags are the catalog's words, so a table reads like the spec's:
`arg` (argument required) / `arg?` (optional), the accepted argument forms `index` (a number in brackets),
`key` (any text in brackets), `dotted` (`name.SUFFIX`), `list`, `FO` filter-only, `PO` print-only, `dep`
deprecated, `no-rhs`, `no-tr`, `ancestor` (any-ancestor semantics without an index).
"""

from __future__ import annotations

from rules.fields.base import ArgKind, FieldInfo, FieldType

_FLAG_WORDS = frozenset(
    {"arg", "arg?", "index", "key", "dotted", "list", "FO", "PO", "dep", "no-rhs", "no-tr", "ancestor"}
)


def row(name: str, type_: FieldType, description: str, flags: str = "", *, source: str = "syscall") -> FieldInfo:
    """Build one FieldInfo from a flag string; unknown flag words are a programming error."""
    words = set(flags.split())
    unknown = words - _FLAG_WORDS
    if unknown:
        raise ValueError(f"unknown flags {sorted(unknown)} for field {name}")
    arg = ArgKind.REQUIRED if "arg" in words else ArgKind.OPTIONAL if "arg?" in words else ArgKind.NONE
    forms = words & {"index", "key", "dotted"}
    if (arg is ArgKind.NONE) != (not forms):
        raise ValueError(f"field {name}: an argument needs at least one form (index, key, dotted) and vice versa")
    return FieldInfo(
        name=name,
        type=type_,
        description=description,
        source=source,
        arg=arg,
        arg_index="index" in words,
        arg_key="key" in words,
        arg_dotted="dotted" in words,
        is_list="list" in words,
        any_ancestor="ancestor" in words,
        filter_only="FO" in words,
        print_only="PO" in words,
        deprecated="dep" in words,
        no_rhs="no-rhs" in words,
        no_transformer="no-tr" in words,
    )
