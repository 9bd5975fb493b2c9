"""Syscall event drops: kernel counters into the metrics, and Falco's `syscall_event_drops` actions.

The capture stage calls `DropMonitor.poll()` between batches. Once a second it reads the kernel's counters
(events written, events dropped because a ring was full), stores the totals in the shared counters, and when
the drops of the last second pass `threshold` (a fraction of the events offered; 0 means any drop) it takes
the configured actions, at most `max_burst` at once and `rate` per second on average (a token bucket, as
Falco does):
  log    an error line with the numbers;
  alert  the internal alert `Saker internal: syscall event drop` (priority Debug, source internal), handed
         to the output stage through its own ring;
  exit   stop the sensor (the capture stage raises `DropExit`).
`simulate_drops` treats every second as one over the threshold, to test the actions.
"""

from __future__ import annotations

import time
from typing import Callable

from config.logs import get_logger
from config.schema import SyscallEventDrops
from rules.priority import Priority
from stages.alert import internal_alert
from stages.output import TokenBucket

RULE = "Saker internal: syscall event drop"
WINDOW_S = 1.0


class DropExit(RuntimeError):
    """The drop rate passed the threshold and the configured action is `exit`."""


class DropMonitor:
    def __init__(self, settings: SyscallEventDrops, read: Callable[[], object | None], counters,
                 emit: Callable[[dict], None], *, hostname: str, clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.read = read
        self.counters = counters
        self.emit = emit
        self.hostname = hostname
        self.clock = clock
        self.bucket = TokenBucket(settings.rate, settings.max_burst, clock)
        self.log = get_logger("capture")
        self._last_time = clock()
        self._last = None

    def poll(self) -> None:
        now = self.clock()
        if now - self._last_time < WINDOW_S:
            return
        self._last_time = now
        current = self.read()
        if current is None:
            return
        self.counters.set("events_dropped_kernel", current.drops)
        previous, self._last = self._last, current
        if previous is None:
            return
        window = current.since(previous)
        offered = window.events + window.drops
        drops = window.drops if not self.settings.simulate_drops else max(window.drops, 1)
        ratio = drops / offered if offered else float(drops > 0)
        if self.settings.simulate_drops:
            ratio = 1.0
        if drops == 0 or ratio <= self.settings.threshold and self.settings.threshold > 0:
            return
        if "ignore" in self.settings.actions or not self.bucket.take():
            return
        self._act(window, drops, ratio)

    def _act(self, window, drops: int, ratio: float) -> None:
        fields = {"n_evts": str(window.events + window.drops), "n_drops": str(drops),
                  "n_drops_buffer_total": str(window.drops), "n_drops_perc": f"{100 * ratio:.2f}",
                  "n_drops_per_cpu": ",".join(map(str, window.drops_per_cpu)), "ebpf_enabled": "1"}
        message = f"{drops} system calls dropped in last second."
        if "log" in self.settings.actions:
            self.log.error("syscall event drops", **fields)
        if "alert" in self.settings.actions:
            alert = internal_alert(RULE, message, priority=Priority.DEBUG, time_ns=time.time_ns(),
                                   hostname=self.hostname, output_fields=fields)
            self.emit(alert.to_record())
        if "exit" in self.settings.actions:
            raise DropExit(message)
