"""Rule priorities (syslog severities): Emergency 0 ... Debug 7, parsed case-insensitively."""

from __future__ import annotations

import enum


class Priority(enum.IntEnum):
    """A rule priority; `.value` is the number, `.canonical` the spelling alerts show."""

    EMERGENCY = 0
    ALERT = 1
    CRITICAL = 2
    ERROR = 3
    WARNING = 4
    NOTICE = 5
    INFORMATIONAL = 6
    DEBUG = 7

    @property
    def canonical(self) -> str:
        """`Emergency`, `Alert`, ..., `Informational`, `Debug`."""
        return self.name.capitalize()

    def __str__(self) -> str:
        return self.canonical

    @classmethod
    def parse(cls, text: str) -> "Priority":
        """Parse any case of a name, or the alias `info`; raises ValueError("Invalid priority")."""
        key = text.upper()
        if key == "INFO":
            return cls.INFORMATIONAL
        try:
            return cls[key]
        except KeyError:
            raise ValueError("Invalid priority") from None

    def allowed_by(self, minimum: "Priority") -> bool:
        """True when this priority is at least as severe as `minimum` (number <= minimum's)."""
        return self.value <= minimum.value
