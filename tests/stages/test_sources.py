"""Syscall sources: what `prepare` hands to the workers, batch by batch."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from stages.sources import RulePlan, SyscallReplay

CAPTURES = Path(__file__).resolve().parents[2].parent / "shared" / "peer" / "scap" / "captures"
CAPTURE = CAPTURES / "falco__test_trace_files_cat_write__c4cf36b9.scap"
FIELDS = {"proc.name", "proc.cmdline", "proc.pname", "fd.name", "user.name"}


def prepared(batch_size: int) -> list[pa.RecordBatch | None]:
    source = SyscallReplay(str(CAPTURE), plan=lambda: RulePlan(frozenset(FIELDS), frozenset({"write", "read", "close"})),
                           batch_size=batch_size)
    return [source.prepare(raw) for raw in source.batches()]


def test_batches_without_candidates_send_nothing_and_still_advance_the_state() -> None:
    """A batch no rule can match yields None, yet the events after it see the state it changed: cut in small
    batches, the candidate rows and their fields are those of the whole capture in one batch."""
    whole = [b for b in prepared(1 << 20) if b is not None]
    small = prepared(16)
    assert any(b is None for b in small) and any(b is not None for b in small)
    columns = ["evt.num", *sorted(FIELDS)]
    joined = pa.Table.from_batches([b for b in small if b is not None]).select(columns)
    expected = pa.Table.from_batches(whole).select(columns)
    assert joined.num_rows == expected.num_rows > 0
    assert joined.to_pylist() == expected.to_pylist()


def test_a_batch_carries_only_the_fields_of_the_rules_its_event_types_can_match() -> None:
    """Fields read only by rules of event types absent from a batch's candidate rows are not extracted."""
    plan = RulePlan(frozenset({"fd.name", "proc.cmdline", "user.name"}), frozenset({"close", "execve"}),
                    by_type={"close": frozenset({"fd.name"}), "execve": frozenset({"proc.cmdline"})},
                    every_type=frozenset({"user.name"}))
    source = SyscallReplay(str(CAPTURE), plan=lambda: plan, batch_size=16)
    seen = set()
    for raw in source.batches():
        batch = source.prepare(raw)
        if batch is None:
            continue
        types = set(batch.column("evt.type").to_pylist())
        seen |= types
        assert "user.name" in batch.schema.names
        assert ("proc.cmdline" in batch.schema.names) == ("execve" in types)
        assert ("fd.name" in batch.schema.names) == ("close" in types)
    assert seen == {"close", "execve"}
