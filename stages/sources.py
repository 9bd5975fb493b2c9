"""Syscall event sources for the capture stage: replay of Saker's Arrow captures and of .scap files.

A source is built in the main process and used only in the capture process: `batches(control)` yields raw
event batches, `prepare(batch)` advances the state engine over a batch and returns it with the field columns
the rules need (and nothing else, so the rings carry only what the workers read).

As Falco does since libs dropped enter events, rules see exit events only: a .scap file's enter events feed
the state engine (an exit's parameters may come from its enter) and are then left out of evaluation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from config.logs import get_logger
from kernel.scap import open_capture
from stages.arrow_capture import CaptureWriter, capture_files, read_state, replay
from stages.state.enrich import Enricher
from stages.state.snapshot import dump, restore

EXIT = "<"
BASE_FIELDS = frozenset({"evt.rawtime", "evt.num", "evt.type"})

# What the loaded rules need from the capture: the field columns, and the event types they can match
# (None: every type). Recomputed on reload.
Plan = Callable[[], tuple[set[str], frozenset[str] | None]]


class SourceUnavailable(RuntimeError):
    """The configured event source cannot run here; the message says why and what to do."""


def is_scap(path: str) -> bool:
    name = Path(path).name
    return name.endswith(".scap") or name.endswith(".scap.gz")


class SyscallReplay:
    """Replay a .scap file or a folder/file of Saker Arrow captures, optionally writing a new capture."""

    def __init__(self, path: str, *, plan: Plan, batch_size: int = 65536, capture_to: CaptureWriter | None = None):
        if not Path(path).exists():
            raise SourceUnavailable(f"{path}: no such capture file or folder")
        if not is_scap(path):
            capture_files(path)  # fail early on an empty folder
        self.path = path
        self.plan = plan
        self.batch_size = batch_size
        self.capture_to = capture_to
        self.enricher: Enricher | None = None
        self.reload()

    def reload(self) -> None:
        """Take the field set and event types of the rules now configured (SIGHUP); keep the old ones if the
        new rules fail to load (the workers keep their rules too)."""
        try:
            fields, event_types = self.plan()
        except SourceUnavailable as exc:
            if not hasattr(self, "fields"):
                raise
            get_logger("capture").error("reload failed; keeping the rules in force", detail=str(exc))
            return
        self.fields = set(fields) | BASE_FIELDS
        self.event_types = None if event_types is None else pa.array(sorted(event_types), type=pa.string())

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
        enriched = self.enricher.enrich(raw, self.fields, rows=self._candidates(raw))
        keep = [name for name in enriched.schema.names if name in self.fields or name.startswith("fd.")]
        return enriched.select(keep)

    def _candidates(self, raw: pa.RecordBatch) -> np.ndarray:
        """Rows some rule can match: exit events of the rules' event types."""
        wanted = pc.equal(raw.column("evt.dir"), EXIT) if "evt.dir" in raw.schema.names else None
        if self.event_types is not None:
            of_type = pc.is_in(raw.column("evt.type"), value_set=self.event_types)
            wanted = of_type if wanted is None else pc.and_(wanted, of_type)
        if wanted is None:
            return np.arange(raw.num_rows)
        return np.flatnonzero(wanted.to_numpy(zero_copy_only=False))
