"""Capture to Arrow IPC files and replay them.

A capture is a folder of files `saker-<UTC start>-<n>.arrow`, each an Arrow IPC file (zstd or lz4 compressed
buffers) of raw event batches of one source. A new file starts when the current one passes `rotate_bytes` or
`rotate_seconds`. Each file is self-contained: its schema metadata carries
  saker.source   the event source (syscall, k8s_audit...),
  saker.state    the state snapshot replay needs to rebuild process/fd/container state at the file's first
                 event (an Arrow IPC stream of the state tables, written by the state engine), and
  saker.version  the capture format version,
so a replay can start at any file of the folder.

Raw batches do not all have the same columns (a batch carries only the `arg.*` parameters its events use). A
file's schema is the union of every column seen so far in the capture: a batch lacking some of them gets
null columns, and only a column never seen before starts a new file — which soon stops happening.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import pyarrow as pa
import pyarrow.ipc as ipc

FORMAT_VERSION = "1"
SUFFIX = ".arrow"


class CaptureWriter:
    """Write raw event batches to rotated Arrow files."""

    def __init__(self, folder: str | os.PathLike[str], *, source: str = "syscall", rotate_bytes: int = 256 << 20,
                 rotate_seconds: float = 3600, compression: str = "zstd",
                 state_snapshot: Callable[[], bytes] = lambda: b"") -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.source = source
        self.rotate_bytes = rotate_bytes
        self.rotate_seconds = rotate_seconds
        self.options = ipc.IpcWriteOptions(compression=None if compression == "none" else compression)
        self.state_snapshot = state_snapshot
        self.files: list[Path] = []
        self._writer: ipc.RecordBatchFileWriter | None = None
        self._sink: pa.OSFile | None = None
        self._schema: pa.Schema | None = None
        self._opened_at = 0.0
        self._columns: dict[str, pa.DataType] = {}  # every column seen, in first-seen order

    def write(self, batch: pa.RecordBatch) -> None:
        """Append a batch; rotate first if the current file is full or old, or the batch brings a new column."""
        if batch.num_rows == 0:
            return
        new = [field for field in batch.schema if field.name not in self._columns]
        for field in new:
            self._columns[field.name] = field.type
        if self._writer is None or new or self._must_rotate():
            self._open(pa.schema(list(self._columns.items())))
        self._writer.write_batch(self._conform(batch))

    def _conform(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """The batch with the file's columns, in its order; absent ones null."""
        arrays = [batch.column(name) if name in batch.schema.names else pa.nulls(batch.num_rows, type=kind)
                  for name, kind in self._columns.items()]
        return pa.RecordBatch.from_arrays(arrays, schema=self._schema)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._sink.close()
            self._writer = None

    def _must_rotate(self) -> bool:
        return self._sink.tell() >= self.rotate_bytes or time.monotonic() - self._opened_at >= self.rotate_seconds

    def _open(self, schema: pa.Schema) -> None:
        self.close()
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        path = self.folder / f"saker-{stamp}-{len(self.files):06d}{SUFFIX}"
        metadata = {b"saker.source": self.source.encode(), b"saker.version": FORMAT_VERSION.encode(),
                    b"saker.state": self.state_snapshot()}
        self._schema = schema.remove_metadata().with_metadata(metadata)
        self._sink = pa.OSFile(str(path), "wb")
        self._writer = ipc.new_file(self._sink, self._schema, options=self.options)
        self._opened_at = time.monotonic()
        self.files.append(path)

    def __enter__(self) -> "CaptureWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def capture_files(path: str | os.PathLike[str]) -> list[Path]:
    """The files of a capture: one file, or a folder's `*.arrow` files in name (= time) order."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == SUFFIX and p.is_file())
        if not files:
            raise FileNotFoundError(f"{path}: no {SUFFIX} capture files in this folder")
        return files
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such capture file or folder")
    return [path]


def read_state(path: str | os.PathLike[str]) -> bytes:
    """The state snapshot stored at the start of a capture file."""
    with pa.memory_map(str(path)) as source:
        return ipc.open_file(source).schema.metadata.get(b"saker.state", b"")


def replay(path: str | os.PathLike[str]) -> Iterator[pa.RecordBatch]:
    """Every batch of a capture, in order, as fast as they can be read (memory-mapped, no copy)."""
    for file in capture_files(path):
        with pa.memory_map(str(file)) as source:
            reader = ipc.open_file(source)
            for i in range(reader.num_record_batches):
                yield reader.get_batch(i)


def source_of(path: str | os.PathLike[str]) -> str:
    """The event source a capture file holds (its `saker.source` metadata)."""
    with pa.memory_map(str(path)) as source:
        return ipc.open_file(source).schema.metadata.get(b"saker.source", b"syscall").decode()


def source_captures(path: str | os.PathLike[str]) -> dict[str, Path]:
    """The captures of the non-syscall sources under a replay path: `<path>/<source>/` folders (how the
    sensor writes them), or `path` itself when it is one such file or folder."""
    path = Path(path)
    if path.is_file():
        source = source_of(path)
        return {} if source == "syscall" else {source: path}
    top = sorted(p for p in path.iterdir() if p.suffix == SUFFIX and p.is_file())
    if top and source_of(top[0]) != "syscall":
        return {source_of(top[0]): path}
    found = {}
    for folder in sorted(p for p in path.iterdir() if p.is_dir()):
        files = sorted(folder.glob("*" + SUFFIX))
        if files and source_of(files[0]) != "syscall":
            found[source_of(files[0])] = folder
    return found
