"""`run.py --self-test` for real, as root: every default rule fires on its harmless action, or is reported not
testable with the reason a check found."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from stages.selftest import ACTIONS
from tests.conftest import ROOT

pytestmark = pytest.mark.root

if os.geteuid() != 0:
    pytest.skip("live capture needs root", allow_module_level=True)

ROW = re.compile(r"^(?P<rule>.+?)\s{2,}(?P<status>fired|missed|not testable)(?::\s(?P<detail>.*))?$")


def test_self_test_every_default_rule_fires() -> None:
    """Exit 0; one row per default rule; each fired, or says why it cannot be tested here."""
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), "--self-test"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    rows = [m.groupdict() for m in map(ROW.match, result.stdout.splitlines()) if m]
    assert sorted(r["rule"] for r in rows) == sorted(ACTIONS)
    for row in rows:
        assert row["status"] in ("fired", "not testable"), row
        if row["status"] == "not testable":
            assert row["detail"], row  # a reason found by a check, never a bare skip
    summary = result.stdout.strip().splitlines()[-1]
    fired = sum(r["status"] == "fired" for r in rows)
    assert summary == f"{fired} fired, 0 missed, {len(rows) - fired} not testable"
