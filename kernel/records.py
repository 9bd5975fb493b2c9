"""Layout of the records the probes write (mirrors the structs of `kernel/probes/syscalls.bpf.c`).

Every record starts with the same 88-byte header; the three rings hold records of one fixed size each, so a
span of a ring is an array of records that numpy views with a strided structured dtype (no per-record loop).
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
RINGBUF_HEADER = 8  # u32 len (bit 31 busy, bit 30 discarded), u32 page offset
BUSY_BIT = 1 << 31
DISCARD_BIT = 1 << 30

F_S0_TRUNC, F_S1_TRUNC, F_ARGS_TRUNC, F_ENV_TRUNC, F_NO_STASH, F_EXE_MEMFD = 1, 2, 4, 8, 16, 32
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
LAYOUTS = {
    "small": RecordLayout("small", _H, {}),
    "path": RecordLayout("path", _H + STR_LEN, {"s0": (_H, STR_LEN)}),
    "big": RecordLayout("big", _H + 2 * STR_LEN + ARGS_LEN + ENV_LEN,
                        {"s0": (_H, STR_LEN), "s1": (_H + STR_LEN, STR_LEN), "b0": (_H + 2 * STR_LEN, ARGS_LEN),
                         "b1": (_H + 2 * STR_LEN + ARGS_LEN, ENV_LEN)}),
}
AREA_LEN_INDEX = {"s0": 0, "s1": 1, "b0": 2, "b1": 3}  # which header `len` slot gives each area's length
