"""sysdig as the judge of fields on the peer captures: the lines `sysdig -p` prints for a format and a filter,
and the lines Saker's inspection mode prints for the same (`stages.inspect.print_matches`)."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

from stages.inspect import print_matches

CAPTURES = Path("/work/shared/peer/scap/captures")

if shutil.which("sysdig") is None:
    raise RuntimeError("these tests need sysdig (scripts/setup.sh installs it)")


def sysdig_lines(capture: str, fmt: str, flt: str, *, verbose: bool = False) -> list[str]:
    """What sysdig prints; `verbose` (-v) prints buffers whole instead of cut at 80 characters."""
    command = ["sysdig", *(["-v"] if verbose else []), "-r", str(CAPTURES / capture), "-p", fmt, flt]
    return subprocess.run(command, capture_output=True, text=True, errors="surrogateescape", check=True,
                          timeout=120).stdout.splitlines()


def saker_lines(capture: str, fmt: str, flt: str) -> list[str]:
    out = io.StringIO()
    print_matches(str(CAPTURES / capture), flt, fmt, out)
    return out.getvalue().splitlines()
