"""A state snapshot restores an enricher exactly: the rest of a capture enriches the same either way."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel.scap import open_capture
from stages.state.enrich import Enricher
from stages.state.snapshot import dump, restore

CAPTURES = Path(__file__).resolve().parents[2].parent / "shared" / "peer" / "scap" / "captures"
FIELDS = {"proc.name", "proc.pname", "proc.cmdline", "proc.aname", "fd.name", "fd.typechar", "fd.sip", "fd.sport",
          "user.name", "user.uid", "container.id", "container.image", "evt.arg.flags", "evt.res", "proc.exepath"}


@pytest.mark.parametrize("capture", ["sysdig-inspect__capture-samples_502Error__947a737f.scap",
                                     "falco__test_trace_files_psp_run_as_user_0_container__641c4c5f.scap"])
def test_restored_enricher_continues_identically(capture: str) -> None:
    """Dump after half the batches, restore, and enrich the rest: every field column is identical."""
    scap = open_capture(str(CAPTURES / capture))
    batches = list(scap.batches(2048))
    assert len(batches) > 2
    original = Enricher(scap)
    half = len(batches) // 2
    for raw in batches[:half]:
        original.enrich(raw, FIELDS)
    restored = restore(dump(original))
    for raw in batches[half:]:
        expected = original.enrich(raw, FIELDS)
        got = restored.enrich(raw, FIELDS)
        assert got.schema.names == expected.schema.names
        for name in expected.schema.names:
            assert plain(got.column(name)).equals(plain(expected.column(name))), name


def test_unknown_version() -> None:
    """A snapshot of an unknown format version is refused."""
    import json
    import struct

    header = json.dumps({"version": 99}).encode()
    with pytest.raises(ValueError, match="unknown state snapshot version"):
        restore(struct.pack("<I", len(header)) + header)


def plain(column):
    """A column with dictionary encoding undone: the same values, however they were encoded."""
    return column.dictionary_decode() if hasattr(column, "dictionary_decode") else column
