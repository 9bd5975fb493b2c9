"""Cgroups made and removed by live tests (as root): a process moved into `docker/<id>` looks containerized."""

from __future__ import annotations

import time
from pathlib import Path


def cgroup_mount(controller: str) -> Path:
    """Where the hierarchy of `controller` is mounted: its cgroup v1 mount, else the cgroup2 one."""
    unified = None
    with open("/proc/mounts") as mounts:
        for line in mounts:
            _device, where, kind, options = line.split()[:4]
            if kind == "cgroup" and controller in options.split(","):
                return Path(where)
            if kind == "cgroup2":
                unified = Path(where)
    assert unified is not None, f"no cgroup hierarchy has {controller}"
    return unified


def new_cgroup(controller: str, relative: str, created: list[Path]) -> Path:
    """mkdir -p of a cgroup below the hierarchy of `controller`; the directories made are added to `created`."""
    path = cgroup_mount(controller) / relative
    missing = [folder for folder in [path, *path.parents] if not folder.exists()]
    for folder in reversed(missing):
        folder.mkdir()
        created.append(folder)
    return path


def remove_cgroups(created: list[Path]) -> None:
    """rmdir the cgroups made, deepest first (an emptied cgroup can stay busy for a moment)."""
    for folder in reversed(created):
        deadline = time.monotonic() + 10
        while folder.exists():
            try:
                folder.rmdir()
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
