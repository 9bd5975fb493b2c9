"""User fields (`user.*`): the user a thread runs as and its audit login user."""

from __future__ import annotations

from rules.fields.base import FieldClass, FieldType
from rules.fields.table import row

T = FieldType

USER = FieldClass(
    name="user",
    source="syscall",
    description="User fields: the effective user of the thread and the login user recorded by audit.",
    fields=(
        row("user.uid", T.UINT32, "User id."),
        row("user.name", T.CHARBUF, "User name."),
        row("user.homedir", T.CHARBUF, "Home directory of the user."),
        row("user.shell", T.CHARBUF, "Login shell of the user."),
        row("user.loginuid", T.INT64, "Audit login user id; -1 when it was never set."),
        row("user.loginname", T.CHARBUF, "Name of the audit login user."),
    ),
)
