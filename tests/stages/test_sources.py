"""Syscall sources: what `prepare` hands to the workers, batch by batch."""

from __future__ import annotations

import functools
import gc
import weakref

import numpy as np
import pyarrow as pa
import pytest

from config.load import load_config
from config.logs import get_logger
from stages.commands import load_ruleset
from stages.sensor import rule_plan
from stages.sources import RulePlan, SyscallReplay
from stages.state import raw as raw_module
from tests.conftest import ROOT, SHARED, STABLE_RULES

CAPTURES = SHARED / "peer" / "scap" / "captures"
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


@pytest.mark.parametrize("rules", [STABLE_RULES, ROOT / "rules" / "default" / "saker_rules.yaml"])
@pytest.mark.parametrize("capture", ["sysdig-inspect__capture-samples_502Error__947a737f.scap",
                                     "sysdig-opensource-examples__example0_nginx__e3a0456e.scap"])
def test_the_state_engine_keeps_nothing_of_a_raw_batch_past_its_batch(capture, rules, monkeypatch) -> None:
    """Replay copies each batch into memory an earlier batch used once nothing points into it
    (stages.read_ahead): an array of a raw batch kept in the state would pin its whole ~27 MB."""
    monkeypatch.setattr(raw_module, "_DICTIONARIES", [])  # as in a fresh process: every dictionary is new
    config = load_config(ROOT / "config" / "replay.yaml", [f"rules_files=[{rules}]"])
    plan = rule_plan(functools.partial(load_ruleset, config), get_logger("test"))
    source = SyscallReplay(str(CAPTURES / capture), plan=lambda: plan, batch_size=1024)
    pinned = []
    for k, batch in enumerate(source.batches()):
        memory = np.frombuffer(_ipc(batch), dtype=np.uint8).copy()
        raw = pa.ipc.open_stream(pa.py_buffer(memory)).read_next_batch()
        source.prepare(raw)
        alive = weakref.ref(memory)
        del raw, memory
        gc.collect()
        if alive() is not None:
            pinned.append(k)
    assert k > 3 and pinned == []


def _ipc(batch: pa.RecordBatch) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return sink.getvalue().to_pybytes()
