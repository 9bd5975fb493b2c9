"""Kernel-side counters of the probes: events written, events dropped (ring full), exits without their enter.

The probes count per CPU in a BPF per-CPU array (`counters` in `kernel/probes/syscalls.bpf.c`); the capture
stage polls `read_counters(probes)` and compares successive readings to report drops (Falco's
syscall_event_drops). Slots are mirrored from the C code.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

C_EVENTS, C_DROPS, C_NO_STASH = 0, 1, 2


@dataclass(frozen=True)
class KernelCounters:
    """Totals since the probes were loaded, and per CPU."""

    events: int
    drops: int
    no_stash: int
    events_per_cpu: tuple[int, ...]
    drops_per_cpu: tuple[int, ...]

    @property
    def drop_ratio(self) -> float:
        offered = self.events + self.drops
        return self.drops / offered if offered else 0.0

    def since(self, earlier: "KernelCounters") -> "KernelCounters":
        """The counts between an earlier reading and this one."""
        return KernelCounters(self.events - earlier.events, self.drops - earlier.drops,
                              self.no_stash - earlier.no_stash,
                              tuple(a - b for a, b in zip(self.events_per_cpu, earlier.events_per_cpu)),
                              tuple(a - b for a, b in zip(self.drops_per_cpu, earlier.drops_per_cpu)))


def read_counters(probes) -> KernelCounters:
    """Read the per-CPU counters of loaded `kernel.loader.Probes`."""
    table = probes.counters_table()
    per_cpu = {slot: tuple(int(v) for v in table[ctypes.c_int(slot)]) for slot in (C_EVENTS, C_DROPS, C_NO_STASH)}
    return KernelCounters(sum(per_cpu[C_EVENTS]), sum(per_cpu[C_DROPS]), sum(per_cpu[C_NO_STASH]),
                          per_cpu[C_EVENTS], per_cpu[C_DROPS])
