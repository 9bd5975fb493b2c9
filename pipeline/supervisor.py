"""Start the stages as processes joined by rings, restart crashed workers, stop cleanly.

    capture s ──event ring (s, i)──▶ worker i ──alert ring (s, i)──▶ output     (i = 0 .. workers-1)

A stream `s` is one capture process and its rings: the syscall source is one stream, the other sources
(k8s audit, CloudTrail, GitHub, Okta) share another, so a busy kernel capture never waits for a webhook
and each source keeps its own event order. Every worker serves every stream.

The supervisor owns the rings (created before forking, so every stage inherits them) and the shared counters.
It does no event work itself. Lifecycle:
- a worker that dies is started again on the same rings: the batch it held was never released, so the new
  worker reads it again and nothing is lost (the output stage drops alerts of a batch it already has);
- SIGINT/SIGTERM set `stop`: the capture stage stops its source and closes the event rings; workers drain
  them and close the alert rings; the output stage delivers everything and exits; then the supervisor does;
- SIGHUP sets `reload`: the capture stage puts a RELOAD message in every event ring at the next batch
  boundary, so each worker switches rules between two batches and no event goes unevaluated.
Children ignore SIGINT, SIGTERM and SIGHUP (a Ctrl-C, or systemd stopping the unit, signals every process:
the stop must go through the drain) and are SIGKILLed by the kernel if the supervisor itself dies.
"""

from __future__ import annotations

import ctypes
import gc
import os
import signal
import sys
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import multiprocess as mp
from multiprocess.connection import wait

from pipeline.counters import Counters
from pipeline.ringbuf import Ring, remove_stale_segments

CTX = mp.get_context("fork")
PR_SET_PDEATHSIG = 1  # linux/prctl.h


@dataclass
class Control:
    """What every stage shares: the stop and reload signals and the counters."""

    workers: int
    counters: Counters
    stop: Any = field(default_factory=CTX.Event)
    reload_requests: Any = field(default_factory=lambda: CTX.Value("Q", 0, lock=False))
    capture_running: Any = field(default_factory=CTX.Event)  # this stream's capture runs (one per stream)
    stream: int = 0  # which stream a capture stage serves (its counters' slot)
    internal: Ring | None = None  # the sensor's own alerts (drops...), capture -> output, not in event order


CaptureFn = Callable[[list[Ring], Control], None]  # (the stream's ring per worker, control)
WorkerFn = Callable[[int, list[Ring], list[Ring], Control], None]  # (index, event ring per stream, alert ring
#                                                                     per stream, control)
OutputFn = Callable[[list[list[Ring]], Control], None]  # (alert rings [stream][worker], control)


class Supervisor:
    """Runs a capture stage per stream, `workers` worker stages and one output stage until the sources end or
    a stop. `event_ring_bytes` is one size for every stream or a size per stream."""

    def __init__(self, *, workers: int, event_ring_bytes: int | list[int], alert_ring_bytes: int, ring_full: str,
                 log: Any, max_restarts: int = 100, outputs: tuple[str, ...] = (), streams: int = 1) -> None:
        remove_stale_segments()
        self.log = log
        self.max_restarts = max_restarts
        sizes = event_ring_bytes if isinstance(event_ring_bytes, list) else [event_ring_bytes] * streams
        self.control = Control(workers=workers, counters=Counters(workers, outputs, streams=len(sizes)))
        self.event_rings = [[Ring(size, full=ring_full) for _ in range(workers)] for size in sizes]
        # Alerts are never dropped between stages: a worker waits for the output stage.
        self.alert_rings = [[Ring(alert_ring_bytes, full="block") for _ in range(workers)] for _ in sizes]
        self.running = [self.control.capture_running] + [CTX.Event() for _ in sizes[1:]]
        self.control.internal = Ring(1 << 20, full="drop")
        self._procs: dict[str, Any] = {}
        self._failed = False

    @property
    def streams(self) -> int:
        return len(self.event_rings)

    def capturing(self) -> bool:
        """Every stream's capture runs (what /healthz reports)."""
        return all(event.is_set() for event in self.running)

    def ring_depths(self) -> dict[str, int]:
        """Bytes waiting in each ring (queue depths for the metrics)."""
        depths = {}
        for kind, rings in (("event", self.event_rings), ("alert", self.alert_rings)):
            for s, stream in enumerate(rings):
                for i, ring in enumerate(stream):
                    depths[f"{kind}_ring_{i}" if s == 0 else f"{kind}_ring_{s}_{i}"] = ring.used_bytes
        return depths

    def run(self, captures: CaptureFn | list[CaptureFn], worker: WorkerFn, output: OutputFn, *,
            duration: float | None = None) -> int:
        """Run until every stage has finished; returns the exit status for the sensor."""
        captures = captures if isinstance(captures, list) else [captures]
        if len(captures) != self.streams:
            raise ValueError(f"{len(captures)} capture stages for {self.streams} streams")
        previous = self._install_signals()
        # The stages are forked from here: frozen, the objects built so far (imports, compiled rules) are no
        # longer visited by the cyclic collector, whose writes to their headers would copy every page of
        # them into each stage; the pages stay shared instead. No full collection first: it finds next to
        # no garbage at this point and walks every object start-up made (~70 ms).
        gc.freeze()
        try:
            self._start("output", output, self.alert_rings, self.control)
            for i in range(self.control.workers):
                self._start_worker(i, worker)
            for s, capture in enumerate(captures):
                self._start(_capture_name(s), capture, self.event_rings[s],
                            replace(self.control, capture_running=self.running[s], stream=s))
            return self._watch(worker, duration)
        finally:
            self._restore_signals(previous)
            self._reap()
            for ring in [r for stream in self.event_rings + self.alert_rings for r in stream] + [self.control.internal]:
                ring.close()

    # ---- processes ----------------------------------------------------------------------------------------

    def _start(self, name: str, target: Callable[..., None], *args: Any) -> None:
        proc = CTX.Process(target=_child, args=(name, target, args, os.getpid()), name=f"saker-{name}", daemon=False)
        proc.start()
        self._procs[name] = proc
        self.log.debug("stage started", stage=name, pid=proc.pid)

    def _start_worker(self, index: int, worker: WorkerFn) -> None:
        self._start(f"worker-{index}", worker, index, [stream[index] for stream in self.event_rings],
                    [stream[index] for stream in self.alert_rings], self.control)

    def _watch(self, worker: WorkerFn, duration: float | None) -> int:
        deadline = None if duration is None else time.monotonic() + duration
        status = 0
        while self._procs:
            if deadline is not None and time.monotonic() >= deadline and not self.control.stop.is_set():
                self.log.info("stopping after -M duration", seconds=duration)
                self.control.stop.set()
            ready = wait([p.sentinel for p in self._procs.values()], timeout=0.2)
            for name, proc in list(self._procs.items()):
                if proc.sentinel not in ready:
                    continue
                proc.join()
                del self._procs[name]
                status = self._ended(name, proc.exitcode, worker) or status
        return status

    def _ended(self, name: str, exitcode: int, worker: WorkerFn) -> int:
        """A stage ended: fine, restart it (a worker), or fail the sensor."""
        if self._failed:
            return 1  # shutting down after a failure: nothing is restarted
        if exitcode == 0:
            self.log.debug("stage finished", stage=name)
            return 0
        if name.startswith("capture"):
            # The capture cannot close its rings any more: do it for it, so the workers drain and end.
            self.log.error("capture stage failed; draining what it produced", stage=name, exitcode=exitcode)
            self.running[_stream_of(name)].clear()  # /healthz: this stream captures no more
            for ring in self.event_rings[_stream_of(name)]:
                ring.close_writer()
            return 1
        if name.startswith("worker-") and self.control.counters.get("worker_restarts") < self.max_restarts:
            self.control.counters.add("worker_restarts")
            self.log.error("worker crashed; restarting it", stage=name, exitcode=exitcode,
                           restarts=self.control.counters.get("worker_restarts"))
            self._start_worker(int(name.split("-")[1]), worker)
            return 0
        return self._fail(f"stage {name} failed (exit code {exitcode})")

    def _fail(self, reason: str) -> int:
        """Stop everything now: without the output stage (or with workers crashing in a loop) nothing can drain."""
        self.log.error("stopping the sensor", reason=reason)
        self._failed = True
        self.control.stop.set()
        for proc in self._procs.values():
            proc.kill()  # the stages ignore SIGTERM (see _child)
        return 1

    def _reap(self) -> None:
        for proc in self._procs.values():
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()
        self._procs.clear()

    # ---- signals ------------------------------------------------------------------------------------------

    def _install_signals(self) -> dict[int, Any]:
        handlers = {signal.SIGINT: self._on_stop, signal.SIGTERM: self._on_stop, signal.SIGHUP: self._on_reload}
        return {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}

    @staticmethod
    def _restore_signals(previous: dict[int, Any]) -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    def _on_stop(self, signum: int, _frame: Any) -> None:
        if self.control.stop.is_set():
            self._fail(f"second {signal.Signals(signum).name} while draining")
            return
        self.log.info("stop requested; draining", signal=signal.Signals(signum).name)
        self.control.stop.set()

    def _on_reload(self, _signum: int, _frame: Any) -> None:
        self.request_reload("SIGHUP")

    def request_reload(self, why: str) -> None:
        """Reload rules and config in every worker between two batches (SIGHUP, a changed file)."""
        self.log.info("reload requested", reason=why)
        self.control.reload_requests.value += 1


def die_with(parent_pid: int) -> None:
    """SIGKILL this process when its parent dies (a stage whose supervisor was killed: nothing would stop or
    drain it)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
    if os.getppid() != parent_pid:  # it died before the prctl
        os._exit(1)


def _capture_name(stream: int) -> str:
    return "capture" if stream == 0 else f"capture-{stream}"


def _stream_of(capture_name: str) -> int:
    return int(capture_name.split("-")[1]) if "-" in capture_name else 0


def _child(name: str, target: Callable[..., None], args: tuple[Any, ...], supervisor_pid: int) -> None:
    """Process entry: leave stop and reload signals to the supervisor, die with it, then run the stage.

    The terminal's Ctrl-C, systemd's SIGTERM to every process of the unit (KillMode=control-group) and a
    `kill -- -PGID` reach the stages as well as the supervisor: a stage killed by them would lose the alerts
    in its rings, so they are ignored here and the supervisor's orderly stop drains everything.
    """
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    die_with(supervisor_pid)
    status = 0
    try:
        target(*args)
    except BaseException:
        import traceback

        traceback.print_exc()
        status = 1
    finally:
        # os._exit skips interpreter teardown (no finalizers touching inherited shared memory): flush by hand.
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
    os._exit(status)
