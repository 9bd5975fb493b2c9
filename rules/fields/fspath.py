"""Filesystem path fields (`fs.path.*`): the paths a filesystem syscall acts on."""

from __future__ import annotations

from rules.fields.base import FieldClass, FieldType
from rules.fields.table import row

T = FieldType

FS_PATH = FieldClass(
    name="fs.path",
    source="syscall",
    description="Path fields of filesystem syscalls, absolute or as passed.",
    fields=(
        row("fs.path.name", T.CHARBUF, "Path the syscall acts on, made absolute with the working directory."),
        row("fs.path.nameraw", T.CHARBUF, "Path the syscall acts on, exactly as passed."),
        row("fs.path.source", T.CHARBUF, "Source path of two-path calls (rename, link...), absolute."),
        row("fs.path.sourceraw", T.CHARBUF, "Source path of two-path calls, as passed."),
        row("fs.path.target", T.CHARBUF, "Target path of two-path calls, absolute."),
        row("fs.path.targetraw", T.CHARBUF, "Target path of two-path calls, as passed."),
    ),
)
