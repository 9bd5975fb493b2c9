"""The multiprocess pipeline end to end: capture -> N workers -> output, order, crashes, stop, reload."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
import structlog

from pipeline.supervisor import Supervisor
from stages.capture import capture_stage
from stages.output_process import output_stage
from stages.worker import worker_stage

ROOT = Path(__file__).resolve().parents[2]


def numbers(control, *, batches: int, size: int = 1000, pause: float = 0.0):
    """A source of numbered batches that ends early when the sensor is stopped, as real sources do."""
    for b in range(batches):
        yield pa.record_batch({"n": pa.array(range(b * size, (b + 1) * size), pa.int64())})
        if control.stop.is_set():
            return
        if pause:
            time.sleep(pause)


class MultiplesOf:
    """A real (tiny) vectorized processor: one alert per event whose n is a multiple of `k`."""

    def __init__(self, index: int, stream: int = 0, *, k: int = 7, crash_marker: Path | None = None,
                 crash_at: int = -1) -> None:
        self.k = k
        self.index = index
        self.crash_marker = crash_marker
        self.crash_at = crash_at
        self.reloads = 0

    def process(self, batch: pa.RecordBatch) -> list[dict]:
        column = batch.column("n")
        if self.crash_marker and not self.crash_marker.exists() and pc.min(column).as_py() == self.crash_at:
            self.crash_marker.write_text("crashed once")
            os.kill(os.getpid(), signal.SIGKILL)
        remainder = pc.subtract(column, pc.multiply(pc.divide(column, self.k), self.k))  # integer division
        hits = pc.filter(column, pc.equal(remainder, 0))
        return [{"n": n, "worker": self.index, "reloads": self.reloads} for n in hits.to_pylist()]

    def reload(self) -> None:
        self.reloads += 1


class FileSink:
    def __init__(self, path: Path) -> None:
        self.file = open(path, "a")

    def deliver(self, alerts: list[dict]) -> None:
        for alert in alerts:
            self.file.write(json.dumps(alert) + "\n")
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def run_pipeline(tmp_path: Path, *, workers: int, batches: int, processor=MultiplesOf, ring_full: str = "block",
                 ring_bytes: int = 1 << 20) -> tuple[list[dict], Supervisor]:
    out = tmp_path / "alerts.jsonl"
    supervisor = Supervisor(workers=workers, event_ring_bytes=ring_bytes, alert_ring_bytes=1 << 20,
                            ring_full=ring_full, log=structlog.get_logger())
    status = supervisor.run(
        functools.partial(capture_stage, source=functools.partial(numbers, batches=batches), prepare=lambda b: b),
        functools.partial(worker_stage, make_processor=processor),
        functools.partial(output_stage, make_sink=lambda: FileSink(out)),
    )
    assert status == 0
    return [json.loads(line) for line in out.read_text().splitlines()], supervisor


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_every_alert_in_event_order(tmp_path: Path, workers: int) -> None:
    """With any number of workers, alerts come out complete and in event order."""
    alerts, supervisor = run_pipeline(tmp_path, workers=workers, batches=60)
    assert [a["n"] for a in alerts] == list(range(0, 60_000, 7))
    assert {a["worker"] for a in alerts} == set(range(workers))
    counters = supervisor.control.counters.snapshot()
    assert counters["events_in"] == 60_000
    assert counters["events_evaluated"] == 60_000
    assert counters["alerts_out"] == len(alerts)
    assert counters["batches_dropped_ring"] == 0


def test_two_streams_each_in_order(tmp_path: Path) -> None:
    """Two capture processes (streams) share the workers: every alert of each arrives, each stream in its own
    order, and the sensor counters add both streams' events."""
    out = tmp_path / "alerts.jsonl"
    supervisor = Supervisor(workers=2, event_ring_bytes=[1 << 20, 1 << 18], alert_ring_bytes=1 << 20,
                            ring_full="block", log=structlog.get_logger(), streams=2)

    class Tagged(MultiplesOf):
        def __init__(self, index: int, stream: int) -> None:
            super().__init__(index, stream, k=7 if stream == 0 else 5)
            self.stream = stream

        def process(self, batch):
            return [dict(alert, stream=self.stream) for alert in super().process(batch)]

    status = supervisor.run(
        [functools.partial(capture_stage, source=functools.partial(numbers, batches=30), prepare=lambda b: b),
         functools.partial(capture_stage, source=functools.partial(numbers, batches=7, size=100, pause=0.01),
                           prepare=lambda b: b)],
        functools.partial(worker_stage, make_processor=Tagged),
        functools.partial(output_stage, make_sink=lambda: FileSink(out)),
    )
    assert status == 0
    alerts = [json.loads(line) for line in out.read_text().splitlines()]
    assert [a["n"] for a in alerts if a["stream"] == 0] == list(range(0, 30_000, 7))
    assert [a["n"] for a in alerts if a["stream"] == 1] == list(range(0, 700, 5))
    assert supervisor.control.counters.get("events_in") == 30_000 + 700
    assert set(supervisor.ring_depths()) >= {"event_ring_0", "event_ring_1_1", "alert_ring_1_0"}


def test_no_segment_left_behind(tmp_path: Path) -> None:
    """After a run no shared-memory segment of the sensor is left in /dev/shm (only this process's segments
    are looked at: another sensor or test run on the machine has its own)."""
    mine = f"saker-{os.getpid()}-"
    before = {p for p in os.listdir("/dev/shm") if p.startswith(mine)}
    run_pipeline(tmp_path, workers=2, batches=5)
    assert {p for p in os.listdir("/dev/shm") if p.startswith(mine)} == before


def test_crashed_worker_restarted_nothing_lost(tmp_path: Path) -> None:
    """A worker killed mid-stream is restarted; every alert arrives exactly once; the restart is counted."""
    marker = tmp_path / "crashed"
    processor = functools.partial(MultiplesOf, crash_marker=marker, crash_at=13_000)
    alerts, supervisor = run_pipeline(tmp_path, workers=2, batches=40, processor=processor)
    assert marker.exists()
    assert [a["n"] for a in alerts] == list(range(0, 40_000, 7))
    assert supervisor.control.counters.get("worker_restarts") == 1


def test_full_ring_drops_are_counted(tmp_path: Path) -> None:
    """In drop mode, batches that do not fit a worker's ring are counted, and the rest still arrive in order."""

    class Slow(MultiplesOf):
        def process(self, batch):
            time.sleep(0.01)
            return super().process(batch)

    alerts, supervisor = run_pipeline(tmp_path, workers=1, batches=200, processor=Slow, ring_full="drop",
                                      ring_bytes=64 << 10)
    counters = supervisor.control.counters.snapshot()
    dropped = counters["events_dropped_ring"]
    assert dropped > 0
    assert counters["events_evaluated"] + dropped == 200_000
    got = [a["n"] for a in alerts]
    assert got == sorted(got)
    assert len(got) == len(set(got))


SCRIPT = textwrap.dedent("""
    import functools, json, sys, time
    import pyarrow as pa, structlog
    sys.path.insert(0, {root!r})
    sys.path.insert(0, {tests!r})
    from test_supervisor import MultiplesOf, FileSink, numbers
    from pipeline.supervisor import Supervisor
    from stages.capture import capture_stage
    from stages.output_process import output_stage
    from stages.worker import worker_stage
    sup = Supervisor(workers=2, event_ring_bytes=1 << 20, alert_ring_bytes=1 << 20, ring_full="block",
                     log=structlog.get_logger())
    status = sup.run(
        functools.partial(capture_stage, source=functools.partial(numbers, batches=100000, size=100, pause=0.002),
                          prepare=lambda b: b),
        functools.partial(worker_stage, make_processor=MultiplesOf),
        functools.partial(output_stage, make_sink=lambda: FileSink({out!r})),
    )
    print(json.dumps(sup.control.counters.snapshot()), flush=True)
    sys.exit(status)
""")


def start_script(tmp_path: Path, *, new_session: bool = False) -> tuple[subprocess.Popen, Path]:
    out = tmp_path / "alerts.jsonl"
    script = tmp_path / "run.py"
    script.write_text(SCRIPT.format(root=str(ROOT), tests=str(Path(__file__).parent), out=str(out)))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=new_session)
    return proc, out


def wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        time.sleep(0.02)


def test_sigterm_delivers_everything(tmp_path: Path) -> None:
    """SIGTERM mid-stream: capture stops, rings drain, every alert produced is written, exit 0."""
    proc, out = start_script(tmp_path)
    wait_for(lambda: out.exists() and out.stat().st_size > 2000)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    counters = json.loads(stdout.strip().splitlines()[-1])
    alerts = [json.loads(line)["n"] for line in out.read_text().splitlines()]
    assert len(alerts) == counters["alerts"] == counters["alerts_out"]
    assert alerts == list(range(0, counters["events_in"], 7))


def test_sigterm_to_the_whole_process_group_delivers_everything(tmp_path: Path) -> None:
    """systemd (KillMode=control-group), `timeout` and `kill -- -PGID` signal every process of the sensor at once:
    the stages leave the stop to the supervisor, so the rings still drain and every alert produced is written."""
    proc, out = start_script(tmp_path, new_session=True)
    wait_for(lambda: out.exists() and out.stat().st_size > 2000)
    os.killpg(proc.pid, signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    counters = json.loads(stdout.strip().splitlines()[-1])
    alerts = [json.loads(line)["n"] for line in out.read_text().splitlines()]
    assert counters["worker_restarts"] == 0
    assert len(alerts) == counters["alerts"] == counters["alerts_out"]
    assert alerts == list(range(0, counters["events_in"], 7))


def test_stages_die_with_a_killed_supervisor(tmp_path: Path) -> None:
    """SIGKILL to the supervisor: no stage is left running (a capture left alone would trace forever)."""
    proc, out = start_script(tmp_path, new_session=True)
    wait_for(lambda: out.exists() and out.stat().st_size > 2000)
    proc.kill()
    proc.communicate(timeout=30)

    def group_gone() -> bool:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return True
        return False

    try:
        wait_for(group_gone)
    finally:
        if not group_gone():
            os.killpg(proc.pid, signal.SIGKILL)


def test_sighup_reloads_between_batches(tmp_path: Path) -> None:
    """SIGHUP: every worker reloads at a batch boundary and no event goes unevaluated."""
    proc, out = start_script(tmp_path)
    wait_for(lambda: out.exists() and out.stat().st_size > 2000)
    proc.send_signal(signal.SIGHUP)
    wait_for(lambda: any(json.loads(line)["reloads"] for line in out.read_text().splitlines()))
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    counters = json.loads(stdout.strip().splitlines()[-1])
    alerts = [json.loads(line) for line in out.read_text().splitlines()]
    assert [a["n"] for a in alerts] == list(range(0, counters["events_in"], 7))
    assert counters["events_evaluated"] == counters["events_in"]
    assert counters["reloads"] == 1
    flips = [i for i in range(1, len(alerts)) if alerts[i]["reloads"] != alerts[i - 1]["reloads"]]
    assert flips  # old rules before, new rules after, nothing in between
    assert all(a["reloads"] == 1 for a in alerts[flips[-1]:])


def test_output_failure_stops_everything(tmp_path: Path) -> None:
    """If the output stage dies, nothing could drain: every stage is stopped and the status is 1 — no hang."""

    def broken_sink():
        raise RuntimeError("cannot open the outputs")

    supervisor = Supervisor(workers=2, event_ring_bytes=1 << 16, alert_ring_bytes=1 << 16, ring_full="block",
                            log=structlog.get_logger())
    started = time.monotonic()
    status = supervisor.run(
        functools.partial(capture_stage, source=functools.partial(numbers, batches=10**6, size=100),
                          prepare=lambda b: b),
        functools.partial(worker_stage, make_processor=MultiplesOf),
        functools.partial(output_stage, make_sink=broken_sink),
    )
    assert status == 1
    assert time.monotonic() - started < 30
    assert supervisor.control.counters.get("worker_restarts") == 0


def test_capture_failure_drains_what_was_read(tmp_path: Path) -> None:
    """A capture stage that dies mid-stream: the batches it handed over are still evaluated and delivered."""

    def failing_source(control):
        control.capture_running.set()
        yield from numbers(control, batches=5)
        raise RuntimeError("source broke")

    out = tmp_path / "alerts.jsonl"
    supervisor = Supervisor(workers=2, event_ring_bytes=1 << 20, alert_ring_bytes=1 << 20, ring_full="block",
                            log=structlog.get_logger())
    status = supervisor.run(
        functools.partial(capture_stage, source=failing_source, prepare=lambda b: b),
        functools.partial(worker_stage, make_processor=MultiplesOf),
        functools.partial(output_stage, make_sink=lambda: FileSink(out)),
    )
    assert status == 1
    assert [json.loads(line)["n"] for line in out.read_text().splitlines()] == list(range(0, 5000, 7))
    assert not supervisor.capturing()  # /healthz says 503 once the capture stage is gone
