"""Kernel drop counters: totals into the metrics; Falco's syscall_event_drops actions with a token bucket."""

from __future__ import annotations

import pytest

from config.schema import SyscallEventDrops
from kernel.drops import KernelCounters
from pipeline.counters import Counters
from stages.drops import RULE, DropExit, DropMonitor


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def reading(events: int, drops: int) -> KernelCounters:
    return KernelCounters(events, drops, 0, (events, 0), (drops, 0))


def monitor(settings: SyscallEventDrops, readings: list[KernelCounters]):
    clock, counters, alerts = Clock(), Counters(1), []
    source = iter(readings)
    mon = DropMonitor(settings, lambda: next(source), counters, alerts.append, hostname="h", clock=clock)
    return mon, clock, counters, alerts


def step(mon: DropMonitor, clock: Clock, times: int) -> None:
    for _ in range(times):
        clock.now += 1.0
        mon.poll()


def test_drops_over_threshold_alert_once_per_bucket() -> None:
    """20 % drops against a 10 % threshold: an internal alert with the numbers; the bucket limits repeats."""
    readings = [reading(0, 0), reading(800, 200), reading(1600, 400), reading(2400, 600)]
    mon, clock, counters, alerts = monitor(SyscallEventDrops(threshold=0.1, actions=["alert"], rate=0.03333,
                                                             max_burst=1), readings)
    step(mon, clock, 4)
    assert counters.get("events_dropped_kernel") == 600
    assert len(alerts) == 1  # one token: the next seconds are over the threshold too, but rate-limited
    alert = alerts[0]
    assert alert["rule"] == RULE and alert["source"] == "internal" and alert["priority"] == 7
    assert alert["message"] == "200 system calls dropped in last second."
    assert alert["output_fields"]["n_drops"] == "200" and alert["output_fields"]["n_evts"] == "1000"


def test_below_threshold_is_quiet() -> None:
    """5 % drops against a 10 % threshold: counted, no action."""
    mon, clock, counters, alerts = monitor(SyscallEventDrops(threshold=0.1, actions=["alert"]),
                                           [reading(0, 0), reading(950, 50)])
    step(mon, clock, 2)
    assert counters.get("events_dropped_kernel") == 50
    assert alerts == []


def test_exit_action() -> None:
    """With the exit action the capture stage is told to stop."""
    mon, clock, _, _ = monitor(SyscallEventDrops(threshold=0.0, actions=["exit"]), [reading(0, 0), reading(10, 1)])
    clock.now += 1.0
    mon.poll()
    clock.now += 1.0
    with pytest.raises(DropExit, match="1 system calls dropped"):
        mon.poll()


def test_simulate_drops() -> None:
    """simulate_drops makes a second without drops take the actions, to test them."""
    mon, clock, _, alerts = monitor(SyscallEventDrops(threshold=0.1, actions=["alert"], simulate_drops=True),
                                    [reading(0, 0), reading(100, 0)])
    step(mon, clock, 2)
    assert len(alerts) == 1
