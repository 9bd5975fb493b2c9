"""Stand-ins for a capture's initial state (what `Enricher` reads from a .scap or /proc), for hand-built tests."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FakeThread:
    tid: int
    pid: int
    ptid: int
    comm: str
    exe: str
    args: list[str] = field(default_factory=list)
    cwd: str = "/"
    uid: int = 1000
    gid: int = 1000
    cgroups: list[str] = field(default_factory=list)
    sid: int = 0


@dataclass
class FakeUser:
    uid: int
    gid: int
    name: str
    homedir: str = "/"
    shell: str = "/bin/sh"


@dataclass
class FakeCapture:
    threads: dict
    fds: list = field(default_factory=list)
    users: list = field(default_factory=list)
    groups: list = field(default_factory=list)
