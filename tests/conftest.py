"""Shared test helpers: run `run.py` for real, as users do."""

from __future__ import annotations

import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
STABLE_RULES = SHARED / "peer" / "falco-rules" / "falco_rules.yaml"


def run_saker(*args: str, timeout: float = 120, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run `python run.py ARGS` and return the finished process (stdout and stderr as text)."""
    return subprocess.run(
        [sys.executable, str(ROOT / "run.py"), *args],
        cwd=cwd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )


def free_port() -> int:
    """A TCP port free on loopback right now (for a server a test starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, timeout: float, what: str) -> None:
    """Poll `condition()` until it holds; fail after `timeout` seconds (never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.05)


class Output:
    """The stdout lines and stderr of a running `run.py`, read by threads as they come. `next_line` waits for
    a line with a deadline: select() on the pipe would miss a line an earlier readline already pulled into
    the pipe's buffer (two alerts arriving together), and wait out its whole timeout."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._ended = False
        self._stderr: list[str] = []
        self._readers = [threading.Thread(target=self._pump_stdout, daemon=True),
                         threading.Thread(target=lambda: self._stderr.extend(proc.stderr), daemon=True)]
        for reader in self._readers:
            reader.start()

    def _pump_stdout(self) -> None:
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)  # the end of the output

    def next_line(self, timeout: float) -> str | None:
        """The next stdout line; None if none came within `timeout` seconds or the output has ended."""
        if self._ended:
            return None
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            return None
        self._ended = line is None
        return line

    def stderr(self, timeout: float = 10) -> str:
        """Everything on stderr once the process has closed it (or what came within `timeout` seconds)."""
        self._readers[1].join(timeout)
        return "".join(self._stderr)

    def stop(self, timeout: float = 60) -> tuple[str, str]:
        """SIGTERM, then (the stdout lines not taken yet, stderr) once the process has exited."""
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=timeout)
        rest = []
        while (line := self.next_line(timeout)) is not None:
            rest.append(line)
        return "".join(rest), self.stderr(timeout)


@pytest.fixture(name="saker")
def fixture_saker():
    return run_saker


@pytest.fixture(name="stable_rules")
def fixture_stable_rules() -> Path:
    if not STABLE_RULES.exists():
        pytest.fail(f"test data missing: {STABLE_RULES} (../shared beside the repository)")
    return STABLE_RULES
