"""Shared test helpers: run `run.py` for real, as users do."""

from __future__ import annotations

import socket
import subprocess
import sys
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


@pytest.fixture(name="saker")
def fixture_saker():
    return run_saker


@pytest.fixture(name="stable_rules")
def fixture_stable_rules() -> Path:
    if not STABLE_RULES.exists():
        pytest.fail(f"test data missing: {STABLE_RULES} (../shared beside the repository)")
    return STABLE_RULES
