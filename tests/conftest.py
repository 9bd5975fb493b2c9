"""Shared test helpers: run `run.py` for real, as users do."""

from __future__ import annotations

import subprocess
import sys
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


@pytest.fixture(name="saker")
def fixture_saker():
    return run_saker


@pytest.fixture(name="stable_rules")
def fixture_stable_rules() -> Path:
    if not STABLE_RULES.exists():
        pytest.fail(f"test data missing: {STABLE_RULES} (../shared beside the repository)")
    return STABLE_RULES
