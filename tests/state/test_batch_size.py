"""An event's fields do not depend on where batches are cut: real captures enriched in one batch and in many."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from kernel.scap import open_capture
from stages.state.enrich import Enricher

CAPTURES = Path("/work/shared/peer/scap/captures")
# Captures where a process reads a pipe inherited from its creator, who closed its own end after the fork.
INHERITING = ["falco__test_trace_files_psp_run_as_user_0_container__641c4c5f.scap",
              "sysdig-opensource-examples__example0_nginx__e3a0456e.scap",
              "sysdig-opensource-examples__example4_example4-1__9302a79f.scap"]
FIELDS = {"fd.name", "fd.type", "fd.typechar", "fd.directory", "fd.is_server", "fd.sip", "fd.cport", "fd.l4proto",
          "proc.name", "proc.pname", "proc.cmdline", "proc.exepath", "proc.cwd", "user.name", "container.id"}


def _fields(path: Path, batch_size: int) -> pa.Table:
    capture = open_capture(str(path))
    enricher = Enricher(capture)
    parts = []
    for raw in capture.batches(batch_size):
        out = enricher.enrich(raw, FIELDS)
        columns = {}
        for name in sorted(FIELDS | {"evt.num"}):
            column = out.column(name) if name in out.schema.names else pa.nulls(out.num_rows)
            columns[name] = column.dictionary_decode() if pa.types.is_dictionary(column.type) else column
        parts.append(pa.table(columns))
    return pa.concat_tables(parts, promote_options="permissive").combine_chunks()


@pytest.mark.parametrize("name", INHERITING)
def test_fields_are_the_same_in_batches_of_61_as_in_one(name: str) -> None:
    if not CAPTURES.exists():
        pytest.skip("peer scap captures not present")  # as the oracle and field-sample tests
    path = CAPTURES / name
    assert path.exists(), f"{path} is missing: a capture of this test was renamed?"
    whole, cut = _fields(path, 65536), _fields(path, 61)
    differing = [column for column in whole.schema.names if not whole.column(column).equals(cut.column(column))]
    assert not differing
