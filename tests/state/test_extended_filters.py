"""Filters sysdig 0.29.3 rejects (regex, intersects, transformers) count the same events in Saker as an
equivalent filter sysdig accepts, on real captures.

sysdig is the judge of the reference count: each test runs `sysdig -r CAPTURE -p %evt.num FILTER` on the
equivalent filter. Where the equivalence depends on the capture's content (which process names a regex
matches, which names have four letters), the test derives it first from the values sysdig prints, so the
equivalent filter is justified by the capture, not assumed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from pathlib import Path


from stages.inspect import count_filters

CAPTURES = Path("/work/shared/peer/scap/captures")
EXAMPLE4 = "sysdig-opensource-examples__example4_example4-1__9302a79f.scap"
CAT_WRITE = "falco__test_trace_files_cat_write__c4cf36b9.scap"

if shutil.which("sysdig") is None or not (CAPTURES / EXAMPLE4).exists():
    raise RuntimeError("these tests need sysdig (scripts/setup.sh installs it) and ../shared/peer/scap/captures")


def _sysdig(capture: str, fmt: str, flt: str = "") -> list[str]:
    args = ["sysdig", "-r", str(CAPTURES / capture), "-p", fmt] + ([flt] if flt else [])
    result = subprocess.run(args, capture_output=True, text=True, check=True, timeout=120)
    return result.stdout.splitlines()


@cache
def sysdig_count(capture: str, flt: str) -> int:
    """Events sysdig shows for `flt` (the oracle's own counting: lines that are an event number)."""
    return sum(1 for line in _sysdig(capture, "%evt.num", flt) if line.isdigit())


@cache
def sysdig_values(capture: str, field: str) -> frozenset[str]:
    """Distinct values of `field` over the events sysdig shows (events without the field are skipped)."""
    return frozenset(_sysdig(capture, f"%{field}"))


def saker_count(capture: str, flt: str) -> int:
    (count,) = count_filters(str(CAPTURES / capture), [flt])
    assert not isinstance(count, str), count
    return count


def test_regex_matches_like_the_one_name_it_selects() -> None:
    """`proc.name regex "^cu.l$"` counts like `proc.name=curl`: curl is the only name it matches."""
    names = sysdig_values(EXAMPLE4, "proc.name")
    assert {name for name in names if re.fullmatch("^cu.l$", name)} == {"curl"}
    expected = sysdig_count(EXAMPLE4, "proc.name=curl")
    assert expected == 1070
    assert saker_count(EXAMPLE4, 'proc.name regex "^cu.l$"') == expected


def test_regex_is_a_full_match_like_startswith_with_any_tail() -> None:
    """`fd.name regex "/etc/.*"` counts like `fd.name startswith /etc/` (RE2 full match, `.*` any tail)."""
    expected = sysdig_count(EXAMPLE4, "fd.name startswith /etc/")
    assert expected > 0
    assert saker_count(EXAMPLE4, 'fd.name regex "/etc/.*"') == expected


def test_regex_alternation_equals_in() -> None:
    """`proc.name regex "(sshd|bash)"` counts like `proc.name in (sshd, bash)`."""
    expected = sysdig_count(EXAMPLE4, "proc.name in (sshd, bash)")
    assert expected == 199 + 203
    assert saker_count(EXAMPLE4, 'proc.name regex "(sshd|bash)"') == expected


def test_intersects_on_a_single_value_field_equals_in() -> None:
    """`evt.type intersects (open, close)` counts like `evt.type in (open, close)`."""
    expected = sysdig_count(CAT_WRITE, "evt.type in (open, close)")
    assert expected > 0
    assert saker_count(CAT_WRITE, "evt.type intersects (open, close)") == expected
    assert saker_count(CAT_WRITE, "evt.type intersects (open)") == sysdig_count(CAT_WRITE, "evt.type=open")


def test_tolower_and_toupper_fold_the_field() -> None:
    """`tolower(proc.name) = curl` and `toupper(proc.name) = CURL` count like `proc.name=curl` (the capture's
    names are lower case, so folding changes nothing but the comparison side)."""
    names = sysdig_values(EXAMPLE4, "proc.name")
    assert all(name == name.lower() for name in names)
    expected = sysdig_count(EXAMPLE4, "proc.name=curl")
    assert saker_count(EXAMPLE4, "tolower(proc.name) = curl") == expected
    assert saker_count(EXAMPLE4, "toupper(proc.name) = CURL") == expected
    assert saker_count(EXAMPLE4, "toupper(proc.name) = curl") == 0


def test_toupper_with_startswith() -> None:
    """`toupper(proc.name) startswith DOCKER` counts like `proc.name startswith docker`."""
    expected = sysdig_count(EXAMPLE4, "proc.name startswith docker")
    assert expected == 1509 + 637 + 141 + 1110
    assert saker_count(EXAMPLE4, "toupper(proc.name) startswith DOCKER") == expected


def test_len_equals_in_of_every_name_of_that_length() -> None:
    """`len(proc.name) = 4` counts like `proc.name in (...)` of every four-letter name sysdig shows."""
    four = sorted(name for name in sysdig_values(EXAMPLE4, "proc.name") if len(name.encode()) == 4)
    assert four == ["bash", "curl", "sshd"]
    expected = sysdig_count(EXAMPLE4, f"proc.name in ({', '.join(four)})")
    assert saker_count(EXAMPLE4, "len(proc.name) = 4") == expected
    assert saker_count(EXAMPLE4, "len(proc.name) > 4 and len(proc.name) < 4") == 0


def test_basename_equals_the_full_path() -> None:
    """`basename(fd.name) = ld.so.cache` counts like `fd.name = /etc/ld.so.cache`, the only fd of that
    file name in the capture."""
    files = {name for name in sysdig_values(EXAMPLE4, "fd.name") if name.rsplit("/", 1)[-1] == "ld.so.cache"}
    assert files == {"/etc/ld.so.cache"}
    expected = sysdig_count(EXAMPLE4, "fd.name = /etc/ld.so.cache")
    assert expected == 15
    assert saker_count(EXAMPLE4, "basename(fd.name) = ld.so.cache") == expected


def test_extended_operators_combine_with_classic_ones() -> None:
    """A transformer and a regex inside `and`/`not` count like their sysdig-accepted equivalents."""
    expected = sysdig_count(EXAMPLE4, "proc.name=curl and not evt.type in (read, write)")
    assert saker_count(EXAMPLE4, 'tolower(proc.name) = curl and not evt.type regex "read|write"') == expected


def test_socket_domain_names_as_sysdig_prints_them() -> None:
    """`evt.arg.domain` names family 1 AF_LOCAL (the driver table's first name for it), as sysdig does."""
    capture = "sysdig-inspect__capture-samples_502Error__947a737f.scap"
    for name in ("AF_LOCAL", "AF_INET", "AF_UNIX"):
        flt = f"evt.type=socket and evt.dir=> and evt.arg.domain={name}"
        assert saker_count(capture, flt) == sysdig_count(capture, flt), name
    assert sysdig_count(capture, "evt.type=socket and evt.dir=> and evt.arg.domain=AF_LOCAL") == 74
