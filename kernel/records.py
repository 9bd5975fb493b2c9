"""Layout of the records the probes write (mirrors the structs of `kernel/probes/syscalls.bpf.c`).

Every record starts with the same 88-byte header; the four rings hold records of one fixed size each, so a
span of a ring is an array of records that numpy views with a strided structured dtype (no per-record loop).
Exec records add `struct details` (`DETAILS`, then its cwd and cgroup areas: `kernel.exec_details` decodes
them). The loader compiles the probes with these sizes, and the C code asserts its structs match them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HEADER = np.dtype([
    ("ts", "<u8"), ("tid", "<u4"), ("pid", "<u4"), ("res", "<i8"), ("evt", "<u2"), ("nr", "<u2"), ("cpu", "<u2"),
    ("flags", "<u2"), ("len", "<u2", (4,)), ("a", "<u8", (6,)),
])
STR_LEN = 256
ARGS_LEN = 1024
ENV_LEN = 512
SOCK_TUPLE_LEN = 40
SOCKADDR_MAX = 128
SNAPLEN = 80  # bytes of data I/O calls keep (Falco's default snaplen)
SOCK_DATA_AT = SOCK_TUPLE_LEN + SOCKADDR_MAX  # socket calls' data, after the tuple and the address in s0
# Exec details: path components are read NAME_READ bytes at a time at an offset below the area's half.
NAME_READ = 256
CWD_HALF = 1024
CG_HALF = 2048
CG_SLOTS = 16
DETAILS = np.dtype([
    ("vtid", "<u4"), ("vpid", "<u4"), ("tty", "<u4"), ("cwd_len", "<u2"), ("cg_len", "<u2"), ("cg_dfl", "<u2"),
    ("pad", "<u2", (3,)), ("cg_at", "<u2", (CG_SLOTS,)), ("cg_end", "<u2", (CG_SLOTS,)),
    ("caps", "<u8", (3,)),  # inheritable, permitted, effective after the exec
    ("exe_ino", "<u8"), ("exe_ctime", "<u8"), ("exe_mtime", "<u8"),  # the program's inode (times: epoch ns)
    ("pidns_start", "<u8"),  # when the init of its children's pid namespace started (CLOCK_MONOTONIC ns)
])
RINGBUF_HEADER = 8  # u32 len (bit 31 busy, bit 30 discarded: the probes never discard), u32 page offset
BUSY_BIT = 1 << 31

F_S0_TRUNC, F_S1_TRUNC, F_ARGS_TRUNC, F_ENV_TRUNC, F_NO_STASH, F_EXE_MEMFD = 1, 2, 4, 8, 16, 32
F_CWD_TRUNC, F_CGROUP_TRUNC = 64, 128  # exec details: the cwd / a cgroup path did not fit (depth or area)
F_EXE_UPPER, F_EXE_LOWER = 256, 512  # exec: the program's file is in an overlayfs upper / lower layer
NOT_A_SYSCALL = 0xFFFF  # `nr` of records that do not come from a syscall (procexit)


@dataclass(frozen=True)
class RecordLayout:
    """One ring's record: its size and where its string areas are (byte offset, capacity) in the record."""

    ring: str
    size: int
    areas: dict[str, tuple[int, int]]

    @property
    def slot(self) -> int:
        """Bytes one record takes in the ring (8-byte ring header, 8-byte aligned)."""
        return (RINGBUF_HEADER + self.size + 7) & ~7


_H = HEADER.itemsize
_BIG_AREAS = {"s0": (_H, STR_LEN), "s1": (_H + STR_LEN, STR_LEN), "b0": (_H + 2 * STR_LEN, ARGS_LEN),
              "b1": (_H + 2 * STR_LEN + ARGS_LEN, ENV_LEN)}
_BIG = _H + 2 * STR_LEN + ARGS_LEN + ENV_LEN
_CWD_AT = _BIG + DETAILS.itemsize
_CG_AT = _CWD_AT + CWD_HALF + NAME_READ
LAYOUTS = {
    "small": RecordLayout("small", _H, {}),
    "path": RecordLayout("path", _H + STR_LEN, {"s0": (_H, STR_LEN)}),
    "big": RecordLayout("big", _BIG, _BIG_AREAS),
    "exec": RecordLayout("exec", _CG_AT + CG_HALF + NAME_READ,
                         _BIG_AREAS | {"details": (_BIG, DETAILS.itemsize), "cwd": (_CWD_AT, CWD_HALF + NAME_READ),
                                       "cg": (_CG_AT, CG_HALF + NAME_READ)}),
}
AREA_LEN_INDEX = {"s0": 0, "s1": 1, "b0": 2, "b1": 3}  # which header `len` slot gives each area's length
