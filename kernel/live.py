"""Live syscall capture: the eBPF probes, the span readers of their rings and the batch builder, as a source of
raw event batches for the capture stage (`stages.sources.LiveSource` adds the state engine).

    capture = LiveCapture(config, rule_event_types=types)
    for raw in capture.batches(control):     # in the capture process; stops when control.stop is set
        ...                                  # capture.metadata: the host's threads, fds, users from /proc

`batches` loads and attaches the probes (so nothing is traced before the capture process runs), then reads
the host's state from /proc (threads, fds, users: `kernel.procfs`) to seed the state engine, then drains the
rings: when `pipeline.batch_size` records are waiting or the oldest waiting one is `pipeline.flush_ms` old,
the records waiting in all four rings (those stamped before the drain began: `_spans` says why) are merged by
timestamp and turned into one raw batch, read where the kernel wrote them, and then given back to the kernel.
It waits on the ring map fds with epoll when idle. The probes are detached and unloaded when the generator
ends, also on errors and on close().

The sensor's own processes are not traced: the capture process itself is always ignored (by tgid, in the
kernel); `ignore_pids` adds more, `ignore_descendants_of` ignores processes with all the children they fork
from then on (the sensor passes its supervisor's pid, which ignores workers and outputs, restarts included;
existing descendants are found in /proc at start).
"""

from __future__ import annotations

import os
import select
import time
from collections.abc import Callable, Iterable, Iterator

import pyarrow as pa

from kernel import procfs
from kernel.drops import KernelCounters, read_counters
from kernel.events import BatchBuilder
from kernel.loader import (DEFAULT_RING_BYTES, IGNORE, IGNORE_WITH_CHILDREN, CaptureUnavailable, Probes,
                           check_requirements)
from kernel.records import LAYOUTS
from kernel.ringreader import RingReader
from kernel.syscalls import needed_syscalls

RINGS = ("small", "path", "big", "exec")
MAX_ROWS_PER_DRAIN = 65536  # per ring: bounds a batch's size and latency
MIN_NAP_S = 0.0005  # shortest wait for a batch to fill; the rate is first estimated after it

__all__ = ["CaptureUnavailable", "LiveCapture"]


class LiveCapture:
    """Raw event batches from the running kernel."""

    def __init__(self, config: object, *, rule_event_types: Iterable[str] | None = None,
                 ignore_pids: Iterable[int] = (), ignore_descendants_of: Iterable[int] = ()) -> None:
        check_requirements()
        pipeline = getattr(config, "pipeline", None)
        engine = getattr(config, "engine", None)
        self.batch_size = int(getattr(pipeline, "batch_size", 8192))
        self.flush_s = int(getattr(pipeline, "flush_ms", 20)) / 1000
        self.ring_bytes = int(getattr(engine, "ring_bytes", DEFAULT_RING_BYTES))
        self.syscalls = needed_syscalls(None if rule_event_types is None else set(rule_event_types),
                                        getattr(config, "base_syscalls", None))
        self.ignore_pids = set(ignore_pids)
        self.ignore_descendants_of = set(ignore_descendants_of)
        self.probes: Probes | None = None
        self.metadata: procfs.HostState | None = None
        self.events_read = 0
        self.started = None  # set to a threading/multiprocessing Event by callers that want to know
        # Called with `metadata` before `started` is set: a caller's state built from it then costs nothing once
        # events flow (the first batch waits for whatever runs before it, and the kernel's rings fill meanwhile).
        self.on_metadata: Callable[[procfs.HostState], None] | None = None

    # --- the source interface -----------------------------------------------------------------------------
    def batches(self, control: object) -> Iterator[pa.RecordBatch]:
        """Raw event batches until `control.stop` is set; `metadata` is ready before the first one."""
        probes = Probes.load(self.syscalls, ring_bytes=self.ring_bytes,
                             ignore=self.ignore_pids | {os.getpid()},
                             ignore_with_children=self.ignore_descendants_of)
        self.probes = probes
        readers: list[RingReader] = []
        epoll = select.epoll()
        try:
            probes.ignore(_descendants(self.ignore_descendants_of), IGNORE_WITH_CHILDREN)
            readers = [RingReader(probes.ring_fd(ring), probes.ring_bytes[ring], LAYOUTS[ring]) for ring in RINGS]
            for reader in readers:
                epoll.register(reader.fd, select.EPOLLIN)
            builder = BatchBuilder(time.time_ns() - time.monotonic_ns(), cgroup_subsystems=probes.cgroup_subsystems)
            self.metadata = procfs.scan()
            if self.on_metadata is not None:
                self.on_metadata(self.metadata)
            if self.started is not None:
                self.started.set()
            yield from self._drain_loop(control, readers, builder, epoll)
        finally:
            epoll.close()
            for reader in readers:
                reader.close()
            self.probes = None
            probes.close()

    def counters(self) -> KernelCounters | None:
        """Kernel counters (events written, dropped) while the probes are loaded; None otherwise."""
        probes = self.probes
        return read_counters(probes) if probes is not None and probes.bpf is not None else None

    # --- draining -----------------------------------------------------------------------------------------
    def _drain_loop(self, control, readers, builder, epoll) -> Iterator[pa.RecordBatch]:
        # The last moment the rings were seen empty or drained: no waiting record is older. Records that came
        # in while a batch was processed are that old already, so the flush deadline counts from there, not
        # from when the loop next looks (which would add a batch's processing time to every event's latency).
        empty_since = time.monotonic()
        # Since when records have been coming in: the rate a nap is estimated from. After a quiet spell it is
        # when the first record woke the loop, not `empty_since`: a burst estimated over the quiet time would
        # look slow, and the loop would sleep until the deadline while the rings filled far past a batch.
        filling_since = empty_since
        while not control.stop.is_set():
            waiting = sum(reader.waiting() for reader in readers)
            now = time.monotonic()
            if waiting == 0:
                empty_since = now
                epoll.poll(self.flush_s)
                filling_since = time.monotonic()
                continue
            age = now - empty_since
            if waiting < self.batch_size and age < self.flush_s:
                time.sleep(self._nap(waiting, age, now - filling_since))
                continue
            empty_since = filling_since = now
            batch = self._drain(readers, builder)
            if batch is not None:
                yield batch
        batch = self._drain(readers, builder)
        if batch is not None:
            yield batch

    def _nap(self, waiting: int, age: float, filling: float) -> float:
        """How long to let records gather: until the flush deadline (`age`: since the rings were last empty), or
        until `batch_size` records should be waiting at the rate seen over `filling` seconds, whichever comes
        first, and never more than a quarter of flush_ms. (The rings cannot wake the reader for more records
        while it holds some, so it must sleep; one nap per batch at a steady rate instead of a wake-up every
        couple of milliseconds.)"""
        left = max(self.flush_s - age, 1e-6)  # (a deadline all but reached still takes a moment to pass)
        if filling < MIN_NAP_S:  # too soon to tell the rate: look again shortly
            return min(left, MIN_NAP_S)
        # At most a quarter of flush_ms: a burst that starts during a nap (a load after a lone event) is not
        # seen until the nap ends, and meanwhile it can fill the rings far past a batch.
        return max(min(left, (self.batch_size - waiting) * filling / waiting, self.flush_s / 4), MIN_NAP_S)

    def _drain(self, readers, builder: BatchBuilder, *, final: bool = False) -> pa.RecordBatch | None:
        counts = self._spans(readers, None if final else time.monotonic_ns())
        spans = [(reader.layout, reader.data, offset, count) for reader, (offset, count) in zip(readers, counts)]
        try:
            batch = builder.build(spans)
        finally:
            for reader, (_, count) in zip(readers, counts):
                reader.release(count)
        if batch is not None:
            self.events_read += batch.num_rows
        return batch

    @staticmethod
    def _spans(readers, until_ns: int | None) -> list[tuple[int, int]]:
        """(offset, count) of the records of each ring that go into the next batch.

        The rings are read one after the other, so without a cut-off a record that one thread wrote to a ring
        already read could come in one batch after that thread's next record, written to a ring read later
        (a socket after its own connect). A thread's next record is stamped after its previous one was
        submitted; so a batch takes only records stamped before the drain began (`until_ns`), whose
        predecessors were all submitted before any ring was read. Later ones wait for the next drain. A ring
        that could not give all its records up to then (more than a batch takes, or some behind a record the
        kernel is still writing: an exec's takes a while) cuts every ring at the last record it gave."""
        spans = [reader.span(MAX_ROWS_PER_DRAIN, until_ns) for reader in readers]
        held_back = [reader.held_back_after for reader in readers if reader.held_back_after is not None]
        if held_back:
            until_ns = min(held_back + ([] if until_ns is None else [until_ns]))
            spans = [reader.span(MAX_ROWS_PER_DRAIN, until_ns) for reader in readers]
        return spans


def _descendants(roots: Iterable[int], proc: str = "/proc") -> set[int]:
    """Every living process below `roots` (from the PPid of each /proc entry)."""
    roots = set(roots)
    if not roots:
        return set()
    parent_of: dict[int, int] = {}
    for entry in os.listdir(proc):
        if entry.isdigit():
            try:
                with open(f"{proc}/{entry}/stat", "rb") as handle:
                    stat = handle.read().decode("utf-8", "replace")
                parent_of[int(entry)] = int(stat[stat.rindex(")") + 2:].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found: set[int] = set()
    frontier = set(roots)
    while frontier:
        frontier = {pid for pid, parent in parent_of.items() if parent in frontier} - found
        found |= frontier
    return found


IGNORE_MODES = (IGNORE, IGNORE_WITH_CHILDREN)
