"""Reader of sysdig/Falco ``.scap`` capture files into Arrow record batches (no bcc, no root needed).

``open_capture(path)`` reads the file (plain or gzip), checks its block framing and parses the
metadata blocks; ``ScapCapture.batches()`` decodes the events, vectorized with numpy, into
``pyarrow.RecordBatch``es whose columns are documented in ``kernel.scap.decode``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa

from kernel.scap.blocks import (
    CaptureLayout, FdInfo, GroupInfo, InterfaceInfo, MachineInfo, ScapFormatError, ThreadInfo, UserInfo, read_layout,
)
from kernel.scap.decode import EventIndex, build_index, decode_batch

CONTAINER_EVENT_IDS = np.array([228, 272, 324], dtype=np.uint16)  # the "container" JSON event versions

__all__ = [
    "FdInfo", "GroupInfo", "InterfaceInfo", "MachineInfo", "ScapCapture", "ScapFormatError", "ThreadInfo",
    "UserInfo", "open_capture",
]


class ScapCapture:
    """An opened capture: metadata tables plus event batches."""

    def __init__(self, layout: CaptureLayout):
        self._layout = layout
        self._buf = layout.padded
        self._whole_index: EventIndex | None = None

    @property
    def _index(self) -> EventIndex:
        """Every event's header, decoded on first use: `batches` decodes them a batch at a time instead, so a
        large file's first batch does not wait for the whole file's headers."""
        if self._whole_index is None:
            self._whole_index = build_index(self._layout, self._buf)
        return self._whole_index

    @property
    def path(self) -> str:
        return self._layout.path

    @property
    def version(self) -> tuple[int, int]:
        """Section header version (major, minor)."""
        return self._layout.version

    @property
    def machine(self) -> MachineInfo | None:
        return self._layout.machine

    @property
    def threads(self) -> dict[int, ThreadInfo]:
        """Process list entries by tid."""
        return self._layout.threads

    @property
    def fds(self) -> list[FdInfo]:
        return self._layout.fds

    @property
    def interfaces(self) -> list[InterfaceInfo]:
        return self._layout.interfaces

    @property
    def users(self) -> list[UserInfo]:
        return self._layout.users

    @property
    def groups(self) -> list[GroupInfo]:
        return self._layout.groups

    @property
    def event_count(self) -> int:
        """Events in the batches: every event block whose id is below 336 (what sysdig 0.29.3 numbers)."""
        return len(self._index)

    @property
    def dropped_event_count(self) -> int:
        """Event blocks skipped because their id is 336 or more (too new for the sysdig 0.29.3 reader)."""
        return self._index.dropped

    @property
    def startup_container_events(self) -> int:
        """Leading container metadata events: sysdig consumes them while opening the file and never shows
        them (not even with ``-D``), though they keep their ``evt.num``. A container event later in the
        file is shown."""
        types = self._index.type
        is_container = np.isin(types, CONTAINER_EVENT_IDS)
        return int(len(types) if is_container.all() else np.argmin(is_container))

    def batches(self, batch_size: int = 65536) -> Iterator[pa.RecordBatch]:
        """The events in file order, ``batch_size`` rows at most per batch."""
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        first_num = 1
        for first in range(0, len(self._layout.event_offsets), batch_size):
            index = build_index(self._layout, self._buf, first, first + batch_size)
            if len(index):  # a block of only events too new for the 0.29.3 reader has none
                yield decode_batch(self._layout, self._buf, index, 0, len(index), first_num)
                first_num += len(index)


def open_capture(path: str | Path) -> ScapCapture:
    """Open a ``.scap`` file; raises ``ScapFormatError`` (file name and byte offset) if it is unreadable."""
    return ScapCapture(read_layout(path))
