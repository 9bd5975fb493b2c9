"""Syscall event sources for the capture stage: replay of Saker's Arrow captures and of .scap files.

A source is built in the main process and used only in the capture process: `batches(control)` yields raw
event batches, `prepare(batch)` advances the state engine over a batch and returns it with the field columns
the rules need (and nothing else, so the rings carry only what the workers read).

As Falco does since libs dropped enter events, rules see exit events only: a .scap file's enter events feed
the state engine (an exit's parameters may come from its enter) and are then left out of evaluation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from kernel.scap import open_capture
from stages.arrow_capture import CaptureWriter, capture_files, read_state, replay
from stages.state.enrich import Enricher
from stages.state.snapshot import dump, restore

EXIT = "<"


class SourceUnavailable(RuntimeError):
    """The configured event source cannot run here; the message says why and what to do."""


def is_scap(path: str) -> bool:
    name = Path(path).name
    return name.endswith(".scap") or name.endswith(".scap.gz")


class SyscallReplay:
    """Replay a .scap file or a folder/file of Saker Arrow captures, optionally writing a new capture."""

    def __init__(self, path: str, *, fields: set[str], batch_size: int = 65536, capture_to: CaptureWriter | None = None):
        if not Path(path).exists():
            raise SourceUnavailable(f"{path}: no such capture file or folder")
        if not is_scap(path):
            capture_files(path)  # fail early on an empty folder
        self.path = path
        self.fields = set(fields) | {"evt.rawtime", "evt.num", "evt.type"}
        self.batch_size = batch_size
        self.capture_to = capture_to
        self.enricher: Enricher | None = None

    def batches(self, _control: object = None) -> Iterator[pa.RecordBatch]:
        if is_scap(self.path):
            capture = open_capture(self.path)
            self.enricher = Enricher(capture)
            batches = capture.batches(self.batch_size)
        else:
            state = read_state(capture_files(self.path)[0])
            self.enricher = restore(state) if state else Enricher()
            batches = replay(self.path)
        if self.capture_to is not None:
            self.capture_to.state_snapshot = lambda: dump(self.enricher)
        try:
            yield from batches
        finally:
            if self.capture_to is not None:
                self.capture_to.close()

    def prepare(self, raw: pa.RecordBatch) -> pa.RecordBatch:
        if self.capture_to is not None:
            self.capture_to.write(raw)
        enriched = self.enricher.enrich(raw, self.fields)
        if "evt.dir" in enriched.schema.names:
            enriched = enriched.filter(pc.equal(enriched.column("evt.dir"), EXIT))
        keep = [name for name in enriched.schema.names if name in self.fields or name.startswith("fd.")]
        return enriched.select(keep)
