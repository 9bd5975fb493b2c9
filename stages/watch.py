"""watch_config_files: reload rules and config when one of their files changes, as SIGHUP does.

A thread in the supervisor's process polls the modification time and size of the config file and of every
rules file (and the files of rules folders) once a second; a change requests a reload, which the capture
stage turns into a RELOAD between two batches. Rules that fail to load are refused by the workers, which keep
the rules in force. Polling a handful of files once a second costs nothing and needs no inotify binding.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable

INTERVAL_S = 1.0


def fingerprint(paths: list[str]) -> dict[str, tuple[int, int]]:
    """(mtime ns, size) of each file, and of the *.yaml/*.yml files inside each folder."""
    seen: dict[str, tuple[int, int]] = {}
    for entry in paths:
        path = Path(entry)
        files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml")) if path.is_dir() else [path]
        for file in files:
            try:
                stat = os.stat(file)
            except OSError:
                seen[str(file)] = (-1, -1)
                continue
            seen[str(file)] = (stat.st_mtime_ns, stat.st_size)
    return seen


class ConfigWatcher:
    """Calls `on_change()` when any watched file changes; `stop()` ends the thread."""

    def __init__(self, paths: list[str], on_change: Callable[[], None], interval: float = INTERVAL_S) -> None:
        self.paths = paths
        self.on_change = on_change
        self.interval = interval
        self._last = fingerprint(paths)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="saker-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            current = fingerprint(self.paths)
            if current != self._last:
                self._last = current
                self.on_change()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
