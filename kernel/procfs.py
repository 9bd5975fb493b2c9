"""The host's state when live capture starts, read from /proc and /etc: threads, fds, users and groups.

`scan()` returns a `HostState` shaped like a capture's metadata (`threads` dict tid -> ThreadInfo-compatible,
`fds` list of FdInfo, `users`, `groups`), so `stages.state.enrich.Enricher(scan())` seeds the state engine
exactly as a .scap file's process and fd lists do. Sockets are matched to /proc/net/{tcp,tcp6,udp,udp6,unix}
by inode. Processes that vanish while being read are skipped.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path

from kernel.scap.blocks import FD_DIRECTORY, FD_FIFO, FD_FILE_V2, FD_UNIX_SOCK, FdInfo, GroupInfo, ThreadInfo, UserInfo

_ANON_TYPES = {"[eventfd]": 9, "[signalfd]": 11, "[eventpoll]": 12, "inotify": 13, "[timerfd]": 14,
               "bpf-map": 17, "bpf-prog": 17, "bpf_link": 17, "[userfaultfd]": 18, "[io_uring]": 19, "[pidfd]": 21}
_L4 = {"tcp": 2, "tcp6": 2, "udp": 3, "udp6": 3}
TCP_LISTEN = 0x0A


@dataclass(slots=True)
class LiveThread(ThreadInfo):
    """A thread from /proc; `start_ts` (ns since the epoch) is what the state engine's proc.pid.ts reads."""

    start_ts: int | None = None


@dataclass
class HostState:
    threads: dict[int, ThreadInfo] = field(default_factory=dict)
    fds: list[FdInfo] = field(default_factory=list)
    users: list[UserInfo] = field(default_factory=list)
    groups: list[GroupInfo] = field(default_factory=list)


def read_text(path: str) -> str | None:
    """The whole file as text, None when it cannot be read (a process that is gone)."""
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return None


def readlink(path: str) -> str | None:
    try:
        return os.readlink(path)
    except OSError:
        return None


def _boot_time_ns() -> int:
    for line in (read_text("/proc/stat") or "").splitlines():
        if line.startswith("btime "):
            return int(line.split()[1]) * 1_000_000_000
    return time.time_ns() - time.clock_gettime_ns(time.CLOCK_BOOTTIME)


def _status(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        out[key] = value.strip()
    return out


def cgroup_entries(text: str | None) -> list[str]:
    """The text of /proc/<pid>/cgroup in libscap's form: `controller=path` per controller (cgroup v2's unified
    line gives `name=path` lines)."""
    result = []
    for line in (text or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if not controllers:
            result += [f"{name}={path}" for name in ("cpuset", "cpu", "cpuacct", "io", "memory", "devices", "freezer",
                                                     "net_cls", "perf_event", "net_prio", "hugetlb", "pids", "rdma",
                                                     "misc")]
        else:
            result += [f"{name}={path}" for name in controllers.split(",")]
    return result


# The thread's capability sets: /proc/<pid>/task/<tid>/status lines (hex) by ThreadInfo attribute.
_CAPABILITY_SETS = (("cap_inheritable", "CapInh"), ("cap_permitted", "CapPrm"), ("cap_effective", "CapEff"))


def _thread(proc: str, pid: int, tid: int, boot_ns: int, ticks: int) -> LiveThread | None:
    base = f"{proc}/{pid}/task/{tid}"
    stat = read_text(f"{base}/stat")
    status = read_text(f"{base}/status")
    if stat is None or status is None:
        return None
    comm = stat[stat.index("(") + 1: stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2:].split()
    st = _status(status)
    cmdline = (read_text(f"{proc}/{pid}/cmdline") or "").split("\0")
    if cmdline and cmdline[-1] == "":
        cmdline.pop()
    environ = [e for e in (read_text(f"{proc}/{pid}/environ") or "").split("\0") if e]
    uids = st.get("Uid", "0 0").split()
    gids = st.get("Gid", "0 0").split()
    nspid = st.get("NSpid", str(tid)).split()
    nstgid = st.get("NStgid", str(pid)).split()
    loginuid = read_text(f"{proc}/{pid}/loginuid")
    exepath = readlink(f"{proc}/{pid}/exe") or ""
    info = LiveThread(
        tid=tid, pid=pid, ptid=int(st.get("PPid", "0") or 0), sid=int(fields[3]), vpgid=int(fields[2]),
        comm=comm, exe=cmdline[0] if cmdline else comm, exepath=exepath, args=cmdline[1:],
        cwd=readlink(f"{base}/cwd") or "", uid=int(uids[1]), gid=int(gids[1]), env=environ,
        vtid=int(nspid[-1]), vpid=int(nstgid[-1]), cgroups=cgroup_entries(read_text(f"{proc}/{pid}/cgroup")),
        tty=int(fields[4]), loginuid=int(loginuid) if loginuid and loginuid.strip().isdigit() else 0xFFFFFFFF,
        exe_from_memfd=exepath.startswith("/memfd:"), pgid=int(fields[2]),
        **{name: int(st[key], 16) for name, key in _CAPABILITY_SETS if st.get(key)},
    )
    info.start_ts = boot_ns + int(fields[19]) * 1_000_000_000 // ticks
    info.root = readlink(f"{proc}/{pid}/root") or "/"
    try:  # the program's inode, through the exe link (gone for kernel threads)
        exe = os.stat(f"{proc}/{pid}/exe")
        info.exe_ino, info.exe_ino_ctime, info.exe_ino_mtime = exe.st_ino, exe.st_ctime_ns, exe.st_mtime_ns
    except OSError:
        pass
    return info


def thread_info(pid: int, tid: int | None = None, proc: str = "/proc") -> LiveThread | None:
    """One thread now (the process's main thread by default), as `scan` reads it; None when it is gone."""
    return _thread(proc, pid, pid if tid is None else tid, _boot_time_ns(), os.sysconf("SC_CLK_TCK"))


def _net_sockets(proc: str) -> dict[int, dict]:
    """inode -> socket facts from /proc/net (tcp/udp v4 and v6, unix)."""
    sockets: dict[int, dict] = {}
    for name in ("tcp", "udp", "tcp6", "udp6"):
        for line in (read_text(f"{proc}/net/{name}") or "").splitlines()[1:]:
            parts = line.split()
            if len(parts) < 10:
                continue
            (lip, lport), (rip, rport) = (_addr(parts[1]), _addr(parts[2]))
            listening = name.startswith("tcp") and int(parts[3], 16) == TCP_LISTEN
            sockets[int(parts[9])] = {"v6": name.endswith("6"), "sip": lip, "sport": lport, "dip": rip,
                                      "dport": rport, "l4": _L4[name], "listen": listening}
    for line in (read_text(f"{proc}/net/unix") or "").splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 7:
            sockets[int(parts[6])] = {"unix": parts[7] if len(parts) > 7 else ""}
    return sockets


def _addr(text: str) -> tuple[str, int]:
    host, port = text.split(":")
    raw = bytes.fromhex(host)
    if len(raw) == 4:
        ip = socket.inet_ntop(socket.AF_INET, raw[::-1])
    else:
        words = struct.unpack("<4I", raw)
        ip = socket.inet_ntop(socket.AF_INET6, struct.pack(">4I", *words))
    return ip, int(port, 16)


def _fds(proc: str, pid: int, sockets: dict[int, dict]) -> list[FdInfo]:
    out = []
    base = f"{proc}/{pid}/fd"
    try:
        names = os.listdir(base)
    except OSError:
        return out
    for name in names:
        target = readlink(f"{base}/{name}")
        if target is None:
            continue
        fd = int(name)
        info = _fd_info(pid, fd, target, f"{base}/{name}", sockets)
        if info is not None:
            out.append(info)
    return out


def _fd_info(pid: int, fd: int, target: str, link: str, sockets: dict[int, dict]) -> FdInfo | None:
    if target.startswith("socket:["):
        ino = int(target[8:-1])
        sock = sockets.get(ino)
        if sock is None:
            return FdInfo(pid, fd, ino, 0, target)
        if "unix" in sock:
            return FdInfo(pid, fd, ino, FD_UNIX_SOCK, sock["unix"], unix_source=ino, unix_dest=0)
        kind = (6 if sock["v6"] else 5) if sock["listen"] else (4 if sock["v6"] else 3)
        return FdInfo(pid, fd, ino, kind, "", sip=sock["sip"], dip=sock["dip"], sport=sock["sport"],
                      dport=sock["dport"], l4proto=sock["l4"])
    if target.startswith("pipe:["):
        return FdInfo(pid, fd, int(target[6:-1]), FD_FIFO, target)
    if target.startswith("anon_inode:"):
        kind = target[len("anon_inode:"):]
        return FdInfo(pid, fd, 0, _ANON_TYPES.get(kind, 10), target)
    if target.startswith("/memfd:"):
        return FdInfo(pid, fd, 0, 20, target)
    try:
        st = os.stat(link)
    except OSError:
        return FdInfo(pid, fd, 0, FD_FILE_V2, target)
    kind = FD_DIRECTORY if (st.st_mode & 0o170000) == 0o040000 else FD_FILE_V2
    return FdInfo(pid, fd, st.st_ino, kind, target, dev=st.st_dev)


def users(root: str = "/") -> tuple[list[UserInfo], list[GroupInfo]]:
    out_users, out_groups = [], []
    for line in (read_text(str(Path(root, "etc/passwd"))) or "").splitlines():
        parts = line.split(":")
        if len(parts) >= 7 and parts[2].isdigit() and parts[3].isdigit():
            out_users.append(UserInfo(int(parts[2]), int(parts[3]), parts[0], parts[5], parts[6]))
    for line in (read_text(str(Path(root, "etc/group"))) or "").splitlines():
        parts = line.split(":")
        if len(parts) >= 3 and parts[2].isdigit():
            out_groups.append(GroupInfo(int(parts[2]), parts[0]))
    return out_users, out_groups


def scan(proc: str = "/proc", root: str = "/") -> HostState:
    """Every thread and fd of the host now, plus the user and group tables."""
    state = HostState()
    boot_ns = _boot_time_ns()
    ticks = os.sysconf("SC_CLK_TCK")
    sockets = _net_sockets(proc)
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            tids = [int(t) for t in os.listdir(f"{proc}/{pid}/task")]
        except OSError:
            continue
        for tid in tids:
            info = _thread(proc, pid, tid, boot_ns, ticks)
            if info is not None:
                state.threads[tid] = info
        state.fds += _fds(proc, pid, sockets)
    state.users, state.groups = users(root)
    return state
