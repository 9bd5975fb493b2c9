"""Syscall event sources for the capture stage: live eBPF capture, and replay of Saker's Arrow captures and of
.scap files.

A source is built in the main process and used only in the capture process: `batches(control)` yields raw
event batches, `prepare(batch)` advances the state engine over a batch and returns it with the field columns
the rules need, for the events a rule can match (exit events of the rules' event types) and nothing else, so
the rings carry only what the workers read (None when there is no such event: nothing to send). `reload()` takes the fields and event types of the rules in force
after a SIGHUP.

As Falco does since libs dropped enter events, rules see exit events only: a .scap file's enter events feed
the state engine (an exit's parameters may come from its enter) and are then left out of evaluation.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from config.logs import get_logger
from kernel.scap import open_capture
from stages.arrow_capture import CaptureWriter, capture_files, read_state, replay
from stages.dns import NameResolver
from stages.gates import FieldGates
from stages.read_ahead import Opened, ReadAhead
from stages.runtimes import RuntimeLookups
from stages.state.containers import ContainerInfo
from stages.state.enrich import Enricher
from stages.state.raw import RawBatch
from stages.state.snapshot import dump, restore

EXIT = "<"
BASE_FIELDS = frozenset({"evt.rawtime", "evt.num", "evt.type"})



@dataclass(frozen=True)
class RulePlan:
    """What the loaded syscall rules need from the capture (recomputed on reload)."""

    fields: frozenset[str]  # every field column some rule reads (condition, exceptions, output)
    event_types: frozenset[str] | None  # the event types they can match; None: every type
    only_for: Mapping[str, frozenset[str]] = field(default_factory=dict)  # row-by-row fields (evt.args): the
    # event types of the rules that read them
    by_type: Mapping[str, frozenset[str]] | None = None  # event type -> the fields of the rules that can match
    # it; None: no narrowing
    every_type: frozenset[str] = frozenset()  # the fields of the rules that match any event type
    gates: Mapping[str, Callable[[pa.RecordBatch], np.ndarray]] = field(default_factory=dict)  # row-by-row fields
    # that the rules reading them print only: those rules' conditions, so a field is built only where one matches
    field_gates: FieldGates | None = None  # the other fields, built only for batches where a rule reading them
    # may match
    host_names: frozenset[str] = frozenset()  # what the rules compare fd.*.name with (`stages.dns`)

    def fields_for(self, types: Iterable[str]) -> frozenset[str]:
        """The fields the rules that can match these event types read: a batch of opens needs no exec rule's
        fields (a rule whose type is absent cannot match, and an absent column reads as not extractable)."""
        if self.by_type is None:
            return self.fields
        return self.every_type.union(*(self.by_type.get(t, frozenset()) for t in types))


Plan = Callable[[], RulePlan]


class SourceUnavailable(RuntimeError):
    """The configured event source cannot run here; the message says why and what to do."""


def is_scap(path: str) -> bool:
    name = Path(path).name
    return name.endswith(".scap") or name.endswith(".scap.gz")


class EnrichingSource:
    """What every syscall source shares: the state engine, the rules' plan, and the optional Arrow capture."""

    def __init__(self, *, plan: Plan, capture_to: CaptureWriter | None = None,
                 runtimes: RuntimeLookups | None = None) -> None:
        """`runtimes`: where new containers' metadata is looked up (live capture; a capture carries its own)."""
        self.plan = plan
        self.capture_to = capture_to
        self.runtimes = runtimes
        self.enricher: Enricher | None = None
        self.resolver: NameResolver | None = None
        self.reload()

    def reload(self) -> None:
        """Take the field set and event types of the rules now configured (SIGHUP); keep the old ones if the
        new rules fail to load (the workers keep their rules too)."""
        try:
            plan = self.plan()
        except SourceUnavailable as exc:
            if not hasattr(self, "rules"):
                raise
            get_logger("capture").error("reload failed; keeping the rules in force", detail=str(exc))
            return
        self.rules = plan
        self.event_types = plan.event_types
        if self.resolver is None or self.resolver.names != tuple(sorted(plan.host_names)):
            self._close_resolver()
            self.resolver = NameResolver(plan.host_names).start() if plan.host_names else None

    def _start(self, enricher: Enricher) -> None:
        self.enricher = enricher
        if self.capture_to is not None:
            self.capture_to.state_snapshot = lambda: dump(self.enricher)

    def _stop(self) -> None:
        if self.capture_to is not None:
            self.capture_to.close()
        if self.runtimes is not None:
            self.runtimes.close()
        self._close_resolver()

    def _close_resolver(self) -> None:
        if self.resolver is not None:
            self.resolver.close()
            self.resolver = None

    def prepare(self, raw: pa.RecordBatch) -> pa.RecordBatch | None:
        """The batch's candidate rows with their fields, or None when no rule can match any of its events (the
        state still advances over all of them): a quiet host's batches often hold none, and extracting some 70
        empty field columns would cost more than the state itself."""
        if self.runtimes is not None:  # metadata the runtimes gave since the last batch: known from this one on
            raw = with_container_updates(raw, self.runtimes.answers())
            self.enricher.track_containers = self.runtimes.available()
        if self.capture_to is not None:
            self.capture_to.write(raw)  # with the updates: a replay learns them at the same batch
        learn_container_updates(self.enricher, raw)
        if self.resolver is not None:
            self.enricher.address_names = self.resolver.by_address
        try:
            return self._prepared(RawBatch(raw))
        finally:
            if self.runtimes is not None and self.enricher.track_containers and self.enricher.unknown_containers:
                self.runtimes.request(self.enricher.unknown_containers)

    def _prepared(self, batch: RawBatch) -> pa.RecordBatch | None:
        rows = self._candidates(batch)  # one RawBatch for the candidate test and the state: text codes made once
        if not len(rows):
            self.enricher.enrich(batch, set(), rows=rows)
            return None
        fields = self.rules.fields_for(batch.types_present(rows)) | BASE_FIELDS
        enriched = self.enricher.enrich(batch, fields, rows=rows, only_for=self.rules.only_for, raw_columns=fields,
                                        gates=self.rules.gates, field_gates=self.rules.field_gates)
        keep = [name for name in enriched.schema.names if name in fields or name.startswith("fd.")]
        return enriched.select(keep)

    def state_stats(self) -> dict[str, int]:
        """The state engine's table sizes and prunes so far (`pipeline.counters.STATE_STATS`)."""
        if self.enricher is None:
            return {}
        threads, fds = self.enricher.threads.counters, self.enricher.fds.counters
        return {"threads": threads.live, "fds": fds.live, "threads_pruned_exited": threads.pruned_exited,
                "threads_pruned_cap": threads.pruned_cap, "fds_pruned_closed": fds.pruned_closed,
                "fds_pruned_cap": fds.pruned_cap, "processes_ended": fds.ended_processes,
                "containers": len(self.enricher.containers.current),
                "containers_dropped": self.enricher.containers.dropped,
                **{f"container_lookups_{name}": count for name, count in
                   (self.runtimes.counts.items() if self.runtimes is not None else ())}}

    def _candidates(self, batch: RawBatch) -> np.ndarray:
        """Rows some rule can match: exit events of the rules' event types. Tested on the columns' dictionary
        codes (`RawBatch.text_in`): Arrow's kernels would first decode a dictionary column to a string per row."""
        wanted = batch.text_in("evt.dir", (EXIT,)) if batch.has("evt.dir") else None
        if self.event_types is not None:
            of_type = batch.type_in(self.event_types)
            wanted = of_type if wanted is None else wanted & of_type
        if wanted is None:
            return np.arange(batch.n)
        return np.flatnonzero(wanted)


# A raw batch's column carrying the container metadata learned before it (live: from the runtimes), on its first
# row as JSON; written to Arrow captures with the batch, so that a replay learns it at the same point.
CONTAINER_UPDATES = "saker.containers"


def with_container_updates(raw: pa.RecordBatch, infos: list[ContainerInfo]) -> pa.RecordBatch:
    if not infos or raw.num_rows == 0:
        return raw
    text = json.dumps([{"id": info.id, "values": info.values} for info in infos])
    return raw.append_column(CONTAINER_UPDATES, pa.array([text] + [None] * (raw.num_rows - 1), type=pa.string()))


def container_updates(raw: pa.RecordBatch) -> list[ContainerInfo]:
    if CONTAINER_UPDATES not in raw.schema.names or raw.num_rows == 0:
        return []
    text = raw.column(CONTAINER_UPDATES)[0].as_py()
    return [ContainerInfo(item["id"], item["values"]) for item in json.loads(text)] if text else []


def learn_container_updates(enricher: Enricher, raw: pa.RecordBatch) -> None:
    """The metadata a batch carries (`CONTAINER_UPDATES`) becomes state before its first event."""
    for info in container_updates(raw):
        enricher.containers.add(info, -1)


class SyscallReplay(EnrichingSource):
    """Replay a .scap file or a folder/file of Saker Arrow captures, optionally writing a new capture."""

    def __init__(self, path: str, *, plan: Plan, batch_size: int = 65536, capture_to: CaptureWriter | None = None):
        if not Path(path).exists():
            raise SourceUnavailable(f"{path}: no such capture file or folder")
        if not is_scap(path):
            capture_files(path)  # fail early on an empty folder
        self.path = path
        self.batch_size = batch_size
        super().__init__(plan=plan, capture_to=capture_to)

    def batches(self, control: object = None) -> Iterator[pa.RecordBatch]:
        """The input's raw batches, read ahead by a process of its own (`stages.read_ahead`)."""
        if control is not None:
            control.capture_running.set()
        stopped = control.stop.is_set if control is not None else lambda: False
        try:
            with ReadAhead(functools.partial(open_replay, self.path, self.batch_size)) as reader:
                start = reader.start(stopped)
                if stopped():
                    return  # a replay stops at once on SIGTERM; what it yielded is still delivered
                self._start(starting_state(start))
                for batch in reader.batches(stopped):
                    yield batch
                    if stopped():
                        return
        finally:
            self._stop()


@dataclass
class CaptureTables:
    """What a .scap file's state starts from: its process, fd, interface, user and group lists."""

    threads: dict
    fds: list
    interfaces: list
    users: list
    groups: list


def open_replay(path: str, batch_size: int) -> Opened:
    """How the state starts and the raw batches (the replay's reader process calls this): a .scap file's tables
    and events, or an Arrow capture's state snapshot (None if it has none) and events."""
    if is_scap(path):
        capture = open_capture(path)
        tables = CaptureTables(capture.threads, capture.fds, capture.interfaces, capture.users, capture.groups)
        return Opened(tables, capture.batches(batch_size))
    return Opened(read_state(capture_files(path)[0]), replay(path))


def starting_state(start: CaptureTables | bytes | None) -> Enricher:
    """The state engine an input starts from (`open_replay`'s start)."""
    if isinstance(start, CaptureTables):
        return Enricher(start)
    return restore(start) if start else Enricher()


class LiveSource(EnrichingSource):
    """Live eBPF capture of this host's syscalls (kernel/), seeded with the host's state from /proc."""

    def __init__(self, config: object, *, plan: Plan, sensor_pid: int, capture_to: CaptureWriter | None = None):
        from kernel.live import CaptureUnavailable, LiveCapture

        engines = config.container_engines
        runtimes = RuntimeLookups(engines.sockets(), engines.timeout_ms / 1000) if engines.sockets() else None
        super().__init__(plan=plan, capture_to=capture_to, runtimes=runtimes)
        types = None if self.event_types is None else set(self.event_types)
        try:
            # The sensor's own processes (supervisor, workers, outputs, restarts) are not traced.
            self.capture = LiveCapture(config, rule_event_types=types, ignore_descendants_of={sensor_pid})
        except CaptureUnavailable as exc:
            raise SourceUnavailable(str(exc)) from None

    def reload(self) -> None:
        super().reload()
        capture = getattr(self, "capture", None)
        if capture is not None and self.event_types is not None:
            untraced = set(self.event_types) - set(capture.syscalls)
            if untraced:
                get_logger("capture").warning("reloaded rules use syscalls not traced until a restart",
                                              syscalls=sorted(untraced))

    def batches(self, control: object) -> Iterator[pa.RecordBatch]:
        self.capture.started = control.capture_running  # set once the probes are attached
        self.capture.on_metadata = lambda host: self._start(Enricher(host))  # the state, before events flow
        try:
            yield from self.capture.batches(control)
        finally:
            self._stop()

    def kernel_counters(self):
        return self.capture.counters()
