"""Program sink: a long-lived pipe (`cat >> file`), respawned when the program dies, or one run per alert."""

from __future__ import annotations

import json

import pytest

from stages.sinks import SinkError
from stages.sinks.program import ProgramSink
from tests.outputs.conftest import make_alert, make_config, wait_for


def _sink(program: str, keep_alive: bool) -> ProgramSink:
    config = make_config(json_output=True, program_output={"enabled": True, "program": program,
                                                           "keep_alive": keep_alive})
    return ProgramSink(config.program_output, config)


def _numbers(path) -> list[int]:
    if not path.exists():
        return []
    return [json.loads(line)["output_fields"]["n"] for line in path.read_text().splitlines()]


def test_keep_alive_program_receives_every_alert_through_one_process(tmp_path):
    """One `cat >> file` process gets all alerts; closing the sink lets it finish."""
    out = tmp_path / "out.jsonl"
    sink = _sink(f"cat >> {out}", keep_alive=True)
    sink.deliver([make_alert(0), make_alert(1)])
    sink.deliver([make_alert(2)])
    wait_for(lambda: _numbers(out) == [0, 1, 2], what="cat to write three lines")
    sink.close()
    assert sink.spawned == 1


def test_dead_program_is_respawned(tmp_path):
    """When the long-lived program exits, the next alert starts a new one."""
    out = tmp_path / "out.jsonl"
    sink = _sink(f"head -n 1 >> {out}", keep_alive=True)
    sink.deliver([make_alert(0)])
    wait_for(lambda: _numbers(out) == [0] and sink._process.poll() is not None, what="head to exit")
    sink.deliver([make_alert(1)])
    wait_for(lambda: _numbers(out) == [0, 1], what="the respawned program")
    sink.close()
    assert sink.spawned == 2


def test_without_keep_alive_one_process_per_alert(tmp_path):
    """keep_alive false runs the program once per alert, each reading exactly one line."""
    out = tmp_path / "out.jsonl"
    sink = _sink(f"wc -l >> {out}", keep_alive=False)
    sink.deliver([make_alert(0), make_alert(1), make_alert(2)])
    assert out.read_text().split() == ["1", "1", "1"]
    assert sink.spawned == 3


def test_failing_program_reports_how_many_went_through(tmp_path):
    """A non-zero exit fails the delivery; earlier alerts of the batch count as delivered."""
    flag = tmp_path / "fail"
    sink = _sink(f"cat > /dev/null; test ! -e {flag}", keep_alive=False)
    sink.deliver([make_alert(0)])
    flag.touch()
    with pytest.raises(SinkError, match="exited with status 1") as caught:
        sink.deliver([make_alert(1), make_alert(2)])
    assert caught.value.delivered == 0
