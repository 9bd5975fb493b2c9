"""The sensor end to end on recorded events: run.py --replay through capture -> workers -> output."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import SHARED

CAPTURE = SHARED / "peer" / "scap" / "captures" / "sysdig-inspect__capture-samples_502Error__947a737f.scap"
RULES = """
- rule: Config file opened by curl
  desc: test rule
  condition: evt.type = open and fd.name startswith /etc and proc.name = curl
  output: "%proc.name opened %fd.name (cmdline=%proc.cmdline parent=%proc.pname)"
  priority: WARNING
  tags: [test]
- rule: Any connect
  desc: test rule
  condition: evt.type = connect and fd.typechar = 4
  output: "connect to %fd.sip:%fd.sport by %proc.name"
  priority: NOTICE
"""


def write_rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    return path


def alerts_of(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def run_replay(saker, tmp_path: Path, source: Path, *extra: str):
    return saker("-c", "config/replay.yaml", "--replay", str(source), "-r", str(write_rules(tmp_path)),
                 "-o", "json_output=true", "-o", "webserver.enabled=false", "-o", "pipeline.workers=2", *extra)


def test_replay_alerts_match_inspection(saker, tmp_path: Path) -> None:
    """Alerts of a .scap replay: Falco's JSON shape, in event order, as many as the same filter counts."""
    proc = run_replay(saker, tmp_path, CAPTURE)
    assert proc.returncode == 0, proc.stderr
    alerts = alerts_of(proc.stdout)
    count = saker("--replay", str(CAPTURE), "--count", "--filter",
                  "evt.dir = < and evt.type = open and fd.name startswith /etc and proc.name = curl")
    expected_opens = int(count.stdout.split("\t")[0])
    opens = [a for a in alerts if a["rule"] == "Config file opened by curl"]
    assert expected_opens > 0 and len(opens) == expected_opens
    first = opens[0]
    assert sorted(first) == ["hostname", "output", "output_fields", "priority", "rule", "source", "tags", "time"]
    assert first["priority"] == "Warning" and first["source"] == "syscall" and first["tags"] == ["test"]
    assert first["output_fields"]["proc.name"] == "curl"
    assert first["output_fields"]["fd.name"].startswith("/etc")
    parent = first["output_fields"]["proc.pname"] or "<NA>"  # a missing value prints <NA>, is null in JSON
    assert first["output"].endswith(f"curl opened {first['output_fields']['fd.name']} "
                                    f"(cmdline=curl localhost/bar parent={parent})")
    times = [a["output_fields"]["evt.time"] for a in alerts]
    assert times == sorted(times)
    assert any(a["rule"] == "Any connect" for a in alerts)


def test_capture_then_replay_gives_identical_alerts(saker, tmp_path: Path) -> None:
    """--capture while replaying a .scap, then --replay of that Arrow capture: the same alerts."""
    folder = tmp_path / "capture"
    first = run_replay(saker, tmp_path, CAPTURE, "--capture", str(folder), "-o", "capture.rotate_bytes=1048576")
    assert first.returncode == 0, first.stderr
    assert list(folder.glob("*.arrow"))
    second = run_replay(saker, tmp_path, folder)
    assert second.returncode == 0, second.stderr
    assert alerts_of(first.stdout) == alerts_of(second.stdout)
    assert len(alerts_of(first.stdout)) > 100


def test_missing_replay_file(saker, tmp_path: Path) -> None:
    """A replay path that does not exist: a clear error, exit 1."""
    proc = saker("-c", "config/replay.yaml", "--replay", str(tmp_path / "nope.scap"), "-o", "log_level=info")
    assert proc.returncode == 1
    assert "no such capture file or folder" in proc.stderr


def test_alerts_reach_http_and_file_outputs(saker, tmp_path: Path) -> None:
    """The same alerts arrive on stdout, in the file output and at an HTTP endpoint on loopback."""
    import http.server
    import threading

    received: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    events_file = tmp_path / "events.json"
    try:
        proc = run_replay(saker, tmp_path, CAPTURE, "-o", "http_output.enabled=true",
                          "-o", f"http_output.url=http://127.0.0.1:{server.server_address[1]}/alerts",
                          "-o", "file_output.enabled=true", "-o", f"file_output.filename={events_file}")
    finally:
        server.shutdown()
    assert proc.returncode == 0, proc.stderr
    on_stdout = alerts_of(proc.stdout)
    in_file = [json.loads(line) for line in events_file.read_text().splitlines()]
    assert len(on_stdout) > 100
    assert in_file == on_stdout
    assert sorted(json.dumps(a, sort_keys=True) for a in received) == sorted(json.dumps(a, sort_keys=True)
                                                                             for a in on_stdout)


def test_text_alerts(saker, tmp_path: Path) -> None:
    """With json_output false, alerts are Falco's text lines: time, priority, message."""
    proc = saker("-c", "config/replay.yaml", "--replay", str(CAPTURE), "-r", str(write_rules(tmp_path)),
                 "-o", "json_output=false", "-o", "webserver.enabled=false")
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    clock, rest = first.split(": ", 1)
    assert len(clock) == len("00:44:29.900675021") and clock[2] == ":" and clock[8] == "."
    assert rest.startswith("Warning curl opened /etc/")


def test_inspection_reads_an_arrow_capture_as_the_scap_it_recorded(saker, tmp_path: Path) -> None:
    """--filter/--count and -p over an Arrow capture (its folder, or its file) count and print what they do over
    the .scap the capture recorded."""
    folder = tmp_path / "capture"
    recorded = run_replay(saker, tmp_path, CAPTURE, "--capture", str(folder))
    assert recorded.returncode == 0, recorded.stderr
    filters = ["evt.type = open and fd.name startswith /etc", "proc.name = curl and evt.dir = <",
               "container.name = example2_lb_1 and evt.dir = <", "fd.typechar = 4 and evt.type = connect",
               'proc.name regex "^(nginx|haproxy)$"']
    counts = [saker("--replay", str(source), "--count", *[arg for f in filters for arg in ("--filter", f)])
              for source in (CAPTURE, folder)]
    assert counts[0].returncode == 0 and counts[1].returncode == 0, counts[1].stderr
    assert counts[1].stdout == counts[0].stdout
    assert all(int(line.split("\t")[0]) > 0 for line in counts[0].stdout.splitlines())
    fmt = "%evt.num %proc.name %fd.name %container.name"
    printed = [saker("--replay", str(source), "--filter", filters[0], "-p", fmt).stdout
               for source in (CAPTURE, sorted(folder.glob("*.arrow"))[0])]
    assert printed[0].startswith(printed[1]) and printed[1].count("\n") > 0
