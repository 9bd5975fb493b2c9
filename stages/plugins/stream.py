"""The plugin sources of a sensor as one stream: a thread per source in one capture process.

Each enabled source's `Ingest` runs in its own thread and hands its events over through a bounded queue: when
the workers fall behind, a webhook handler waits (back-pressure to the sender) instead of the sensor
buffering without bound. The stream numbers each source's events from 1, makes raw batches in arrival order
(so each source keeps its order), and `prepare` extracts the field columns the source's rules read.
The sources' own counters (requests, refusals, dropped events...) are published as JSON in a small shared
buffer the metrics endpoint reads. With `capture.enabled`, each source's raw batches are also written to
`<capture.path>/<source>/`, which `--replay <capture.path>` plays back (`CaptureReplay`).
"""

from __future__ import annotations

import json
import queue
import threading
import time
from typing import Any, Callable, Iterator

import multiprocess as mp
import pyarrow as pa

from config.logs import get_logger
from stages.arrow_capture import CaptureWriter, replay
from stages.plugins import spec
from stages.plugins.base import PAYLOAD, Emit, FieldExtractor, Ingest, PluginEvent, PluginSpec, batch_source, raw_batch

QUEUE_CHUNKS = 1024  # arrivals (a webhook request, a log file, a page) waiting for the capture loop
READY_SECONDS = 10.0  # how long a source may take to start listening before the stream reports it
STATS_BYTES = 1 << 16

# The fields each source's rules read, by source: (conditions' fields, every field incl. outputs);
# recomputed on reload.
PluginPlan = Callable[[], dict[str, tuple[set[str], set[str]]]]


class PluginStream:
    """Built in the main process (so configuration errors stop the start), run in the capture process."""

    def __init__(self, sections: dict[str, Any], *, plan: PluginPlan, hostname: str, batch_size: int,
                 ingests: dict[str, Ingest] | None = None,
                 capture_to: Callable[[str], CaptureWriter] | None = None) -> None:
        """`sections`: the enabled sources' config sections; `ingests` replaces the sources' own ingestion
        (a replay of their Arrow capture); `capture_to(source)` makes the writer of a source's capture."""
        self.log = get_logger("sources")
        self.specs: dict[str, PluginSpec] = {source: spec(source) for source in sections}
        given = ingests or {}
        self.ingests: dict[str, Ingest] = {source: given.get(source) or self.specs[source].ingest(section)
                                          for source, section in sections.items()}
        self.sections = sections
        self.hostname = hostname
        self.extractors = self._extractors()
        self.capture_to = capture_to
        self.writers: dict[str, CaptureWriter] = {}
        self.batch_size = batch_size
        self.plan = plan
        self.fields: dict[str, set[str]] = {}
        self.stats = mp.RawArray("c", STATS_BYTES)
        self.reload()

    @property
    def sources(self) -> list[str]:
        return list(self.specs)

    def reload(self) -> None:
        self.fields = {source: self.capture_fields(source, conditions, outputs)
                       for source, (conditions, outputs) in self.plan().items()}

    def _extractors(self) -> dict[str, FieldExtractor]:
        return {source: self.specs[source].extractor(hostname=self.hostname, section=section)
                for source, section in self.sections.items()}

    def prepare(self, raw: pa.RecordBatch) -> pa.RecordBatch:
        """The columns the source's conditions read; the payload rides along for the output fields, which a
        worker computes for the matched events only (`completers`)."""
        source = batch_source(raw)
        return self.extractors[source].columns(raw, self.fields.get(source, ()), keep_payload=True)

    def completers(self) -> dict[str, Callable[[pa.RecordBatch, set[str]], pa.RecordBatch]]:
        """For a worker: per source, the function adding output columns to a batch of matched events."""
        return {source: extractor.complete for source, extractor in self._extractors().items()}

    def capture_fields(self, source: str, conditions: set[str], outputs: set[str]) -> set[str]:
        """What the capture stage extracts: the conditions' fields, and output fields that need every event
        (stateful ones); the rest waits for a match."""
        extractor = self.extractors[source]
        return conditions | {text for text in outputs if extractor.is_stateful(text)}

    def source_stats(self) -> dict[str, dict[str, int]]:
        """The sources' own counters as last published by the capture process."""
        text = self.stats.value.decode()
        return json.loads(text) if text else {}

    def batches(self, control: Any) -> Iterator[pa.RecordBatch]:
        """Raw batches in arrival order until every source has ended or `control.stop` is set; on stop the
        sources are stopped first and what they already handed over is still yielded."""
        arrivals: queue.Queue = queue.Queue(maxsize=QUEUE_CHUNKS)
        stop = threading.Event()
        threads = [self._start(source, ingest, arrivals, stop) for source, ingest in self.ingests.items()]
        self._wait_ready()
        control.capture_running.set()
        numbers = dict.fromkeys(self.ingests, 0)
        published = 0.0
        try:
            while True:
                if control.stop.is_set() and not stop.is_set():
                    stop.set()
                try:
                    source, chunk = arrivals.get(timeout=0.1)
                except queue.Empty:
                    if not any(t.is_alive() for t in threads):
                        return
                    continue
                finally:
                    if time.monotonic() - published > 1.0:
                        self._publish_stats()
                        published = time.monotonic()
                yield from self._batches(source, chunk, numbers)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=10)
            self._publish_stats()
            for writer in self.writers.values():
                writer.close()

    def _batches(self, source: str, chunk: list[tuple[int, bytes]], numbers: dict[str, int]):
        for start in range(0, len(chunk), self.batch_size):
            part = chunk[start:start + self.batch_size]
            first = numbers[source] + 1
            numbers[source] += len(part)
            batch = raw_batch(source, [PluginEvent(first + i, t, p) for i, (t, p) in enumerate(part)])
            if self.capture_to is not None:
                if source not in self.writers:
                    self.writers[source] = self.capture_to(source)
                self.writers[source].write(batch)
            yield batch

    def _start(self, source: str, ingest: Ingest, arrivals: queue.Queue, stop: threading.Event) -> threading.Thread:
        def emit(chunk: list[tuple[int, bytes]]) -> None:
            if chunk:
                arrivals.put((source, list(chunk)))

        def run() -> None:
            try:
                ingest.run(emit, stop)
            except Exception:
                self.log.exception("event source failed", source=source)
            self.log.info("event source ended", source=source)

        thread = threading.Thread(target=run, name=f"source-{source}", daemon=True)
        thread.start()
        return thread

    def _wait_ready(self) -> None:
        """Wait (bounded) for the sources that listen (webhooks) to be listening, so /healthz means it."""
        deadline = time.monotonic() + READY_SECONDS
        for source, ingest in self.ingests.items():
            ready = getattr(ingest, "ready", None)
            if ready is not None and not ready.wait(max(0.0, deadline - time.monotonic())):
                self.log.warning("event source not ready yet", source=source)
            port = getattr(ingest, "port", None)
            if port:
                self.log.info("event source listening", source=source, port=port)

    def _publish_stats(self) -> None:
        stats = {source: ingest.counters() for source, ingest in self.ingests.items()}
        text = json.dumps(stats).encode()[:STATS_BYTES - 1]
        self.stats.value = text


class CaptureReplay:
    """Ingest that replays one source's Arrow capture (a file or folder written by `--capture`) at full speed."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.events = 0

    def run(self, emit: Emit, stop: threading.Event) -> None:
        for batch in replay(self.path):
            if stop.is_set():
                return
            emit(list(zip(batch.column("evt.rawtime").to_pylist(), batch.column(PAYLOAD).to_pylist())))
            self.events += batch.num_rows

    def counters(self) -> dict[str, int]:
        return {"events": self.events}
