"""Where a field reference's values come from in an event batch (the event batch contract).

A batch names its columns by canonical field reference (`FieldRef.text`). `column_for` returns the
column for a reference: the column of that exact name; for an indexed ancestor reference (`proc.aname[2]`)
without its own column, element N-1 of the ancestor list column (`proc.aname`), the parent field for N=1
(`proc.pname`) and the process's own field for N=0 (`proc.name`); otherwise an all-null column of the field's
type, because a missing column means "cannot be extracted" for every row.

Anything with `column_names` and `column(name)` works as a batch, so callers can hand in a view that
gathers only selected rows.
"""

from __future__ import annotations

from typing import Protocol

import pyarrow as pa

from rules.ast import FieldRef
from rules.fields.base import FieldInfo

# Ancestor field -> (the process's own field, the parent's field or None).
ANCESTOR_LEVELS: dict[str, tuple[str, str | None]] = {
    "proc.aname": ("proc.name", "proc.pname"),
    "proc.aexe": ("proc.exe", "proc.pexe"),
    "proc.aexepath": ("proc.exepath", "proc.pexepath"),
    "proc.acmdline": ("proc.cmdline", "proc.pcmdline"),
    "proc.apid": ("proc.pid", "proc.ppid"),
    "proc.aargs": ("proc.args", None),
    "proc.aenv": ("proc.env", None),
}

# Fields that stand for one of several endpoint fields: read from those when the batch has no column of
# their own. A check on them holds if it holds for any alternative (`!=`: for all of them).
ALTERNATIVE_COLUMNS: dict[str, tuple[str, ...]] = {
    "fd.ip": ("fd.cip", "fd.sip"),
    "fd.port": ("fd.cport", "fd.sport"),
    "fd.net": ("fd.cip", "fd.sip"),
    "fd.cnet": ("fd.cip",),
    "fd.snet": ("fd.sip",),
    "fd.lnet": ("fd.lip",),
    "fd.rnet": ("fd.rip",),
}


class ColumnSource(Protocol):
    """What `column_for` needs from a batch: a pyarrow.RecordBatch qualifies."""

    @property
    def column_names(self) -> list[str]: ...

    def column(self, name: str) -> pa.Array: ...

    @property
    def num_rows(self) -> int: ...


def ancestor_index(ref: FieldRef, info: FieldInfo | None) -> int | None:
    """N of `proc.aname[N]`, None for anything that is not an indexed ancestor reference."""
    if ref.arg is None or ref.dotted or ref.name not in ANCESTOR_LEVELS:
        return None
    if info is not None and not info.any_ancestor:
        return None
    return int(ref.arg) if ref.arg.isdigit() else None


def candidate_columns(ref: FieldRef, info: FieldInfo | None = None) -> list[str]:
    """Column names that can supply `ref`, in the order `column_for` tries them."""
    names = [ref.text]
    level = ancestor_index(ref, info)
    if level is not None:
        own, parent = ANCESTOR_LEVELS[ref.name]
        if level == 0:
            names.append(own)
        else:
            names.append(ref.name)
            if level == 1 and parent is not None:
                names.append(parent)
    return names


def column_for(batch: ColumnSource, ref: FieldRef, info: FieldInfo | None = None) -> pa.Array:
    """The values of `ref` for every row of `batch` (see the module docstring for the fallbacks)."""
    names = set(batch.column_names)
    level = ancestor_index(ref, info)
    for name in candidate_columns(ref, info):
        if name not in names:
            continue
        column = _as_array(batch.column(name))
        if level is not None and level > 0 and name == ref.name and pa.types.is_list(_list_type(column)):
            return list_element(column, level - 1)
        return column
    return pa.nulls(batch.num_rows, type=arrow_type_of(ref, info))


def arrow_type_of(ref: FieldRef, info: FieldInfo | None) -> pa.DataType:
    """The Arrow type of a column holding `ref`: a list for list fields and unindexed ancestors."""
    if info is None:
        return pa.string()
    value_type = info.type.arrow_type
    if info.is_list or (info.any_ancestor and ref.arg is None):
        return pa.list_(value_type)
    return value_type


def list_element(column: pa.Array, index: int) -> pa.Array:
    """Element `index` of every list, null where the list is null or too short."""
    if isinstance(column, pa.LargeListArray):
        column = column.cast(pa.list_(column.type.value_type))
    offsets = column.offsets.to_numpy()
    starts = offsets[:-1]
    lengths = offsets[1:] - starts
    present = lengths > index
    if column.null_count:
        present &= column.is_valid().to_numpy(zero_copy_only=False)
    positions = pa.array(starts + index, mask=~present, type=pa.int64())
    return column.values.take(positions)


def _list_type(column: pa.Array) -> pa.DataType:
    kind = column.type
    return pa.list_(kind.value_type) if pa.types.is_large_list(kind) else kind


def _as_array(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks()
    return column


__all__ = [
    "ALTERNATIVE_COLUMNS", "ANCESTOR_LEVELS", "ColumnSource", "ancestor_index", "arrow_type_of",
    "candidate_columns", "column_for", "list_element",
]
