"""File sink: JSON lines or text, keep_alive, rotation keeping N files, reopen after an external move."""

from __future__ import annotations

import json

from stages.sinks.file import FileSink
from tests.outputs.conftest import make_alert, make_config


def _sink(tmp_path, **settings):
    config = make_config(json_output=settings.pop("json_output", True),
                         file_output={"enabled": True, "filename": str(tmp_path / "events.txt"), **settings})
    return FileSink(config.file_output, config)


def test_json_lines_appended_in_order(tmp_path):
    """Each alert is one JSON document per line, appended after what the file held."""
    (tmp_path / "events.txt").write_text("old\n")
    sink = _sink(tmp_path)
    sink.deliver([make_alert(0), make_alert(1)])
    sink.deliver([make_alert(2)])
    lines = (tmp_path / "events.txt").read_text().splitlines()
    assert lines[0] == "old"
    assert [json.loads(line)["output_fields"]["n"] for line in lines[1:]] == [0, 1, 2]


def test_text_lines_when_json_output_is_off(tmp_path):
    """Without json_output the file gets Falco's text line."""
    sink = _sink(tmp_path, json_output=False)
    sink.deliver([make_alert(7)])
    assert (tmp_path / "events.txt").read_text().endswith(": Warning file opened (n=7 file=/etc/shadow)\n")


def test_rotation_keeps_the_configured_number_of_files(tmp_path):
    """Past rotate_bytes the file moves to .1, older ones shift, and only rotate_keep rotated files remain."""
    line_size = len(make_alert(0).to_falco_json(make_config()).encode()) + 1
    sink = _sink(tmp_path, rotate_bytes=line_size * 3, rotate_keep=2, keep_alive=True)
    sink.deliver([make_alert(i) for i in range(10)])
    sink.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["events.txt", "events.txt.1", "events.txt.2"]

    def numbers(name):
        return [json.loads(line)["output_fields"]["n"] for line in (tmp_path / name).read_text().splitlines()]

    assert numbers("events.txt.2") == [3, 4, 5]
    assert numbers("events.txt.1") == [6, 7, 8]
    assert numbers("events.txt") == [9]


def test_keep_alive_file_follows_reopen_after_external_rotation(tmp_path):
    """With keep_alive the old handle is kept until reopen() (SIGUSR1), then a new file is created."""
    sink = _sink(tmp_path, keep_alive=True)
    sink.deliver([make_alert(0)])
    (tmp_path / "events.txt").rename(tmp_path / "moved.txt")
    sink.deliver([make_alert(1)])
    sink.reopen()
    sink.deliver([make_alert(2)])
    sink.close()
    assert len((tmp_path / "moved.txt").read_text().splitlines()) == 2
    assert json.loads((tmp_path / "events.txt").read_text())["output_fields"]["n"] == 2


def test_without_keep_alive_each_delivery_opens_the_file(tmp_path):
    """keep_alive false: a file moved away between deliveries is recreated at once."""
    sink = _sink(tmp_path, keep_alive=False)
    sink.deliver([make_alert(0)])
    (tmp_path / "events.txt").rename(tmp_path / "moved.txt")
    sink.deliver([make_alert(1)])
    assert json.loads((tmp_path / "events.txt").read_text())["output_fields"]["n"] == 1
