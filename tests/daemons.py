"""Runtime daemons that live tests start on private sockets and folders (`tests.dockerd`, `tests.containerd`):
what is missing to start one, and stopping one with everything it left."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path


def missing(programs: tuple[str, ...], package: str) -> str | None:
    """None when every program is installed, else which is not and the package that brings it."""
    for program in programs:
        if shutil.which(program) is None:
            return f"{program} is not installed (apt-get install {package})"
    return None


def stop(proc: subprocess.Popen | None, folder: Path) -> None:
    """SIGTERM the daemon (killed if it has not ended within a minute), end the processes it left that name its
    folder (container shims outlive their daemon for a moment), and remove the folder."""
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    _end_processes_naming(str(folder))
    shutil.rmtree(folder, ignore_errors=True)


def _end_processes_naming(text: str, timeout: float = 10) -> None:
    """Wait for every process whose command line holds `text` to end; kill those left at the deadline."""
    def naming() -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass  # ended meanwhile
        return found

    deadline = time.monotonic() + timeout
    while (left := naming()) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
