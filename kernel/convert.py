"""Raw syscall argument values -> the scap encodings the event model stores (vectorized over numpy arrays).

The probes stash arguments as the raw 64-bit registers; int arguments (fds, pids) must be sign-extended from
32 bits, and flag arguments are translated from the kernel's bits to the driver's portable `PPM_*` bits
(values restated from the Falco driver's public event header, as `stages.state.flags` does).
"""

from __future__ import annotations

import numpy as np

# Linux O_* (x86_64) -> PPM_O_*; O_RDONLY (0) maps to PPM_O_RDONLY by the access mode below.
_OPEN_BITS = (
    (0o100, 1 << 2),  # O_CREAT
    (0o200, 1 << 5),  # O_EXCL
    (0o1000, 1 << 8),  # O_TRUNC
    (0o2000, 1 << 3),  # O_APPEND
    (0o4000, 1 << 6),  # O_NONBLOCK
    (0o10000, 1 << 4),  # O_DSYNC
    (0o4010000, 1 << 7),  # O_SYNC (includes O_DSYNC's bit)
    (0o40000, 1 << 9),  # O_DIRECT
    (0o100000, 1 << 11),  # O_LARGEFILE
    (0o200000, 1 << 10),  # O_DIRECTORY
    (0o2000000, 1 << 12),  # O_CLOEXEC
    (0o20200000, 1 << 13),  # O_TMPFILE (includes O_DIRECTORY's bit)
)
_ACCESS = np.array([1, 2, 3, 3], dtype=np.int64)  # O_RDONLY, O_WRONLY, O_RDWR, (invalid 3 -> RDWR)

# Linux CLONE_* -> PPM_CL_*.
_CLONE_BITS = (
    (0x400, 1 << 0),  # CLONE_FILES
    (0x200, 1 << 1),  # CLONE_FS
    (0x80000000, 1 << 2),  # CLONE_IO
    (0x08000000, 1 << 3),  # CLONE_NEWIPC
    (0x40000000, 1 << 4),  # CLONE_NEWNET
    (0x00020000, 1 << 5),  # CLONE_NEWNS
    (0x20000000, 1 << 6),  # CLONE_NEWPID
    (0x04000000, 1 << 7),  # CLONE_NEWUTS
    (0x8000, 1 << 8),  # CLONE_PARENT
    (0x100000, 1 << 9),  # CLONE_PARENT_SETTID
    (0x2000, 1 << 10),  # CLONE_PTRACE
    (0x800, 1 << 11),  # CLONE_SIGHAND
    (0x40000, 1 << 12),  # CLONE_SYSVSEM
    (0x10000, 1 << 13),  # CLONE_THREAD
    (0x800000, 1 << 14),  # CLONE_UNTRACED
    (0x100, 1 << 15),  # CLONE_VM
    (0x10000000, 1 << 20),  # CLONE_NEWUSER
    (0x200000, 1 << 23),  # CLONE_CHILD_CLEARTID
    (0x1000000, 1 << 24),  # CLONE_CHILD_SETTID
    (0x80000, 1 << 25),  # CLONE_SETTLS
    (0x4000, 1 << 27),  # CLONE_VFORK
    (0x02000000, 1 << 28),  # CLONE_NEWCGROUP
)
PPM_CL_CLONE_THREAD = 1 << 13
PPM_CL_CLONE_VM = 1 << 15
PPM_CL_CLONE_VFORK = 1 << 27

# Linux PTRACE_* request -> PPM_PTRACE_*.
_PTRACE = {0: 1, 1: 2, 2: 3, 3: 4, 4: 5, 5: 6, 6: 7, 7: 8, 8: 9, 9: 10, 16: 11, 17: 12, 24: 13, 0x4200: 14,
           0x4201: 15, 0x4202: 16, 0x4203: 17, 0x4204: 18, 0x4205: 19, 0x4206: 20, 0x4207: 21, 0x4208: 22,
           0x4209: 23, 0x420A: 24, 0x420B: 25, 12: 26, 13: 27}
# fcntl commands the probe emits: F_DUPFD (0) and F_DUPFD_CLOEXEC (1030) -> PPM_FCNTL_*.
_FCNTL = {0: 1, 1030: 21}
# openat2 RESOLVE_* -> PPM_RESOLVE_*.
_RESOLVE_BITS = ((0x08, 1 << 0), (0x10, 1 << 1), (0x02, 1 << 2), (0x04, 1 << 3), (0x01, 1 << 4), (0x20, 1 << 5))


_CHUNK = 12  # bits of the value translated by one lookup table (4,096 entries)


class _FlagTable:
    """Translates kernel flag bits to driver bits with one table lookup per 12 bits of the value, whatever the
    values: every kernel mask of the table (some have two bits: O_SYNC, O_TMPFILE) lies within one chunk, so
    the chunks translate independently. (One lookup per distinct value cost a sort of the batch's values, and a
    Python call per value for a caller that passes thousands of different flags.)"""

    def __init__(self, bits: tuple[tuple[int, int], ...], low: np.ndarray | None = None) -> None:
        """`low`: driver bits by the value's two lowest bits, ORed in (open's access mode)."""
        self.tables: list[tuple[np.uint64, np.ndarray]] = []
        placed = 0
        for shift in range(0, max(linux.bit_length() for linux, _ in bits), _CHUNK):
            chunk = np.arange(1 << _CHUNK, dtype=np.uint64)
            table = np.zeros(1 << _CHUNK, dtype=np.int64) if low is None or shift else low[chunk & np.uint64(3)]
            for linux, ppm in bits:
                if (linux >> shift) << shift == linux and linux >> (shift + _CHUNK) == 0:
                    mask = np.uint64(linux >> shift)
                    table[(chunk & mask) == mask] |= ppm
                    placed += 1
            self.tables.append((np.uint64(shift), table))
        if placed != len(bits):
            raise ValueError("a flag mask spans two chunks")

    def __call__(self, values: np.ndarray) -> np.ndarray:
        raw = values.astype(np.uint64, copy=False)
        out = None
        for shift, table in self.tables:
            part = table.take((raw >> shift if shift else raw) & np.uint64((1 << _CHUNK) - 1))
            out = part if out is None else np.bitwise_or(out, part, out=out)
        return out


open_flags = _FlagTable(_OPEN_BITS, low=_ACCESS)
clone_flags = _FlagTable(_CLONE_BITS)


def _u64(values: np.ndarray) -> np.ndarray:
    return values.astype(np.uint64, copy=False)  # the probes' registers are u64 already: no copy


def int32(values: np.ndarray) -> np.ndarray:
    """The low 32 bits, sign-extended (an int argument in a 64-bit register)."""
    return (_u64(values) << np.uint64(32)).view(np.int64) >> 32


def _masked(mask: int):
    return lambda values: (_u64(values) & np.uint64(mask)).view(np.int64)


def _lookup(values: np.ndarray, table: dict[int, int]) -> np.ndarray:
    raw = values.astype(np.int64)
    out = np.zeros(len(raw), dtype=np.int64)
    for linux, ppm in table.items():
        out[raw == linux] = ppm
    return out


CONVERTERS = {
    "int": lambda v: _u64(v).view(np.int64),
    "int32": int32,
    "u32": _masked(0xFFFFFFFF),
    "hi32": lambda v: (_u64(v) >> np.uint64(32)).view(np.int64),  # the high half of a packed pair
    "oflags": open_flags,
    "mode": _masked(0o7777),
    "clone": clone_flags,
    "ptrace": lambda v: _lookup(v, _PTRACE),
    "fcntl": lambda v: _lookup(v, _FCNTL),
    "unlinkat": lambda v: np.where((v.astype(np.uint64) & np.uint64(0x200)) != 0, 1, 0).astype(np.int64),
    "linkat": lambda v: (np.where((v.astype(np.uint64) & np.uint64(0x400)) != 0, 1, 0)
                         | np.where((v.astype(np.uint64) & np.uint64(0x1000)) != 0, 2, 0)).astype(np.int64),
    "resolve": _FlagTable(_RESOLVE_BITS),
}
CREAT_FLAGS = int(open_flags(np.array([0o100 | 0o1 | 0o1000], dtype=np.uint64))[0])  # O_CREAT|O_WRONLY|O_TRUNC
