"""fd.*.name filters on a real capture count what sysdig counts: the names are resolved on this host, as both
tools resolve them (`localhost` through /etc/hosts), and an address matches the names that resolve to it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from stages.inspect import count_filters

CAPTURE = Path("/work/shared/peer/scap/captures/sysdig-opensource-examples__example4_example4-1__9302a79f.scap")
FILTERS = ["fd.sip.name = localhost", "fd.cip.name = localhost", "fd.sip.name in (localhost, nothing.invalid)",
           "fd.rip.name = localhost", "fd.lip.name = localhost"]

if shutil.which("sysdig") is None:
    raise RuntimeError("these tests need sysdig (scripts/setup.sh installs it)")


@pytest.mark.parametrize("flt", FILTERS)
def test_name_filters_count_as_sysdig_counts(flt: str) -> None:
    printed = subprocess.run(["sysdig", "-r", str(CAPTURE), "-p", "%evt.num", flt], capture_output=True, text=True,
                             check=True, timeout=120).stdout.splitlines()
    expected = sum(1 for line in printed if line.isdigit())
    assert expected > 0
    assert count_filters(str(CAPTURE), [flt]) == [expected]
