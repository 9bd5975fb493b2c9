"""Group fields (`group.*`): the group a thread runs as."""

from __future__ import annotations

from rules.fields.base import FieldClass, FieldType
from rules.fields.table import row

T = FieldType

GROUP = FieldClass(
    name="group",
    source="syscall",
    description="Group fields: the effective group of the thread.",
    fields=(
        row("group.gid", T.UINT32, "Group id."),
        row("group.name", T.CHARBUF, "Group name."),
    ),
)
