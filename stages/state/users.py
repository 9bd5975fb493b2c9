"""User and group names: from the capture's user list, or /etc/passwd and /etc/group on a live host.

Lookups are vectorized: the id tables become two Arrow arrays and every event's id is matched with one
`index_in` plus a `take`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

UNKNOWN_UID = 4294967295


@dataclass
class Directory:
    """id -> (name, home, shell) for users; id -> name for groups (fixed once built: their Arrow form is
    made on first use and kept, since every batch looks ids up)."""

    users: dict[int, tuple[str, str, str]] = field(default_factory=dict)
    groups: dict[int, str] = field(default_factory=dict)
    _arrays: dict[str, pa.Array] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def from_capture(cls, users: list[object], groups: list[object]) -> "Directory":
        return cls({u.uid: (u.name, u.homedir, u.shell) for u in users}, {g.gid: g.name for g in groups})

    @classmethod
    def from_host(cls, root: str = "/") -> "Directory":
        """Parse passwd and group files under `root` (missing files give empty tables)."""
        users: dict[int, tuple[str, str, str]] = {}
        groups: dict[int, str] = {}
        for line in _lines(Path(root, "etc/passwd")):
            parts = line.split(":")
            if len(parts) >= 7 and parts[2].isdigit():
                users.setdefault(int(parts[2]), (parts[0], parts[5], parts[6]))
        for line in _lines(Path(root, "etc/group")):
            parts = line.split(":")
            if len(parts) >= 3 and parts[2].isdigit():
                groups.setdefault(int(parts[2]), parts[0])
        return cls(users, groups)

    def user_column(self, uids: pa.Array, part: int = 0) -> pa.Array:
        """name (part 0), home (1) or shell (2) for each uid; null where unknown."""
        keys = self._array("uids", lambda: list(self.users), pa.int64())
        values = self._array(f"user part {part}", lambda: [entry[part] for entry in self.users.values()], pa.string())
        return values.take(pc.index_in(uids.cast(pa.int64()), value_set=keys))

    def group_column(self, gids: pa.Array) -> pa.Array:
        keys = self._array("gids", lambda: list(self.groups), pa.int64())
        values = self._array("group names", lambda: list(self.groups.values()), pa.string())
        return values.take(pc.index_in(gids.cast(pa.int64()), value_set=keys))

    def _array(self, name: str, values, kind: pa.DataType) -> pa.Array:
        if name not in self._arrays:
            self._arrays[name] = pa.array(values(), type=kind)
        return self._arrays[name]


def _lines(path: Path) -> list[str]:
    try:
        return [line for line in path.read_text(errors="replace").splitlines() if line and not line.startswith("#")]
    except OSError:
        return []
