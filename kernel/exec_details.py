"""What an exec record tells about the new process besides its program (`struct details` of
kernel/probes/syscalls.bpf.c), as the parameters of a .scap execve exit: ``arg.vtid`` and ``arg.vpid`` (ids in
the process's pid namespace), ``arg.tty`` (tty_nr encoding, 0 = none), ``arg.cap_inheritable``,
``arg.cap_permitted`` and ``arg.cap_effective`` (the capability sets after the exec), ``arg.exe_ino``,
``arg.exe_ino_ctime`` and ``arg.exe_ino_mtime`` (the program's inode), ``arg.pidns_init_start_ts``, ``arg.cwd`` and
``arg.cgroups``
(libscap's ``controller=path`` list, one entry per controller, in `enum cgroup_subsys_id` order).

The probe reads them at the exec, so a process that has already exited when its batch is built keeps them.
Paths arrive as NUL-terminated components, leaf first. A path the probe could not fit (flag F_CWD_TRUNC or
F_CGROUP_TRUNC: deeper or longer than its bounds) is read from /proc instead while the process lives; when it
is gone, the cwd is left out (the parent's stays) and a cgroup keeps the components the probe read (the
leaf-most ones, which name the container), as the Falco driver does. Exec events are rare: rows are decoded
one by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from kernel import procfs
from kernel.records import DETAILS, F_CGROUP_TRUNC, F_CWD_TRUNC, LAYOUTS

_AREAS = LAYOUTS["exec"].areas
_DETAILS_AT, _CWD_AT, _CG_AT = _AREAS["details"][0], _AREAS["cwd"][0], _AREAS["cg"][0]
# A v1 hierarchy shows a controller under its legacy name, which differs for io alone (the kernel's
# io_cgrp_subsys.legacy_name "blkio"); the default (v2) hierarchy uses the names of enum cgroup_subsys_id.
_LEGACY_NAMES = {"io": "blkio"}


@dataclass(frozen=True)
class ExecDetails:
    """One value per exec row. Ids are 0 where the kernel could not read them (callers leave those out)."""

    vtid: np.ndarray
    vpid: np.ndarray
    tty: np.ndarray
    caps: np.ndarray  # (n, 3): inheritable, permitted, effective (kernel bits)
    exe_inode: np.ndarray  # (n, 3): the program's inode number, ctime, mtime (epoch ns); 0 = unknown
    pidns_start: np.ndarray  # CLOCK_MONOTONIC ns the init of its children's pid namespace started; 0 = unknown
    cwd: list[str | None]
    cgroups: list[list[str] | None]


def details_of(buf: np.ndarray, record_at: np.ndarray) -> np.ndarray:
    """The `struct details` of the exec records starting at `record_at` in `buf` (one gather, DETAILS dtype)."""
    index = (record_at.astype(np.int64) + _DETAILS_AT)[:, None] + np.arange(DETAILS.itemsize)
    return np.take(buf, index).view(DETAILS).ravel()


def decode(buf: np.ndarray, record_at: np.ndarray, flags: np.ndarray, pids: np.ndarray,
           subsystems: tuple[str, ...], proc_root: str = "/proc") -> ExecDetails:
    """The details of the successful exec records at `record_at` (their header `flags`, process ids)."""
    details = details_of(buf, record_at)
    cwds: list[str | None] = []
    cgroups: list[list[str] | None] = []
    for at, d, flag, pid in zip(record_at.tolist(), details, flags.tolist(), pids.tolist()):
        if flag & F_CWD_TRUNC:
            cwds.append(procfs.readlink(f"{proc_root}/{pid}/cwd"))
        else:
            cwds.append(join_components(bytes(buf[at + _CWD_AT: at + _CWD_AT + int(d["cwd_len"])])))
        cgroups.append(_cgroups(buf, at, d, bool(flag & F_CGROUP_TRUNC), pid, subsystems, proc_root))
    exe_inode = np.stack([details[name].astype(np.int64) for name in ("exe_ino", "exe_ctime", "exe_mtime")], axis=1)
    return ExecDetails(details["vtid"].astype(np.int64), details["vpid"].astype(np.int64),
                       details["tty"].astype(np.int64), details["caps"].astype(np.int64), exe_inode,
                       details["pidns_start"].astype(np.int64), cwds, cgroups)


def join_components(raw: bytes) -> str:
    """A path from its NUL-terminated components, leaf first (`b"b\\0a\\0"` -> `/a/b`; nothing -> `/`)."""
    parts = raw.split(b"\0")[:-1] if raw else []
    return "/" + "/".join(part.decode("utf-8", "replace") for part in reversed(parts))


def _cgroups(buf: np.ndarray, at: int, d: np.void, truncated: bool, pid: int, subsystems: tuple[str, ...],
             proc_root: str) -> list[str] | None:
    if not subsystems:
        return None
    if truncated:
        from_proc = procfs.cgroup_entries(procfs.read_text(f"{proc_root}/{pid}/cgroup"))
        if from_proc:
            return from_proc
    area = bytes(buf[at + _CG_AT: at + _CG_AT + int(d["cg_len"])])
    count = len(subsystems)
    spans = tuple(zip(d["cg_at"][:count].tolist(), d["cg_end"][:count].tolist()))
    return list(cgroup_entries(area, spans, int(d["cg_dfl"]), subsystems))


@lru_cache(maxsize=1024)
def cgroup_entries(area: bytes, spans: tuple[tuple[int, int], ...], on_default: int,
                   subsystems: tuple[str, ...]) -> tuple[str, ...]:
    """`controller=path` per controller: controller i's path is `area[spans[i][0]:spans[i][1]]`; bit i of
    `on_default` says it is on the default (v2) hierarchy. Processes of one container share all of it, so
    the result is remembered per distinct record content."""
    entries = []
    for i, (name, (start, end)) in enumerate(zip(subsystems, spans)):
        if not on_default >> i & 1:
            name = _LEGACY_NAMES.get(name, name)
        entries.append(f"{name}={join_components(area[start:end])}")
    return tuple(entries)
