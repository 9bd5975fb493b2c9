"""Audit log files: plain JSONL files and folders read once, and `file://` paths followed like `tail -F`."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import structlog

from config.schema import K8sAuditSource
from stages.plugins.k8saudit.files import LineBuffer
from stages.plugins.k8saudit.ingest import K8sAuditIngest
from stages.plugins.k8saudit.parse import NOT_RECOGNIZED
from tests.plugins.k8saudit_events import TRACES, audit_event, payload, read_files, running, wait_for


def line(name: str, **extra) -> bytes:
    return payload(audit_event("get", "pods", name=name, **extra)) + b"\n"


def names(events: list[tuple[int, bytes]]) -> list[str]:
    return [json.loads(p)["objectRef"]["name"] for _, p in events]


# ---- plain files -----------------------------------------------------------------------------------------

def test_jsonl_file_lines_in_order_with_bad_lines_counted(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(line("a") + b"\n   \n" + b"not json\n" + line("b").replace(b"\n", b"\r\n") + b'{"kind": 0}\n'
                    + payload({"kind": "EventList", "items": [audit_event("get", "pods", name="c")]}))  # no newline
    with structlog.testing.capture_logs() as logs:
        events, counters = read_files(log)
    assert names(events) == ["a", "b", "c"]
    assert counters == {"events": 3, "invalid_json": 1, "unrecognized": 1, "files_read": 1}
    assert [e["event"] for e in logs] == ["invalid JSON", NOT_RECOGNIZED]


def test_times_are_the_stage_timestamps(tmp_path: Path) -> None:
    events, _ = read_files(TRACES / "attach_pod.json")
    assert [t for t, _ in events] == [1540561366_808261000]  # 2018-10-26T13:42:46.808261Z


def test_folder_files_oldest_first(tmp_path: Path) -> None:
    for n, name in enumerate(["c.log", "a.log", "b.log"]):
        path = tmp_path / name
        path.write_bytes(line(name[0]).rstrip(b"\n"))  # files joined must not glue lines together
        os.utime(path, ns=(1_600_000_000_000_000_000 + n, 1_600_000_000_000_000_000 + n))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "ignored.log").write_bytes(line("sub"))
    events, counters = read_files(tmp_path)
    assert names(events) == ["c", "a", "b"]
    assert counters["files_read"] == 3


def test_missing_file_is_logged_and_others_still_read(tmp_path: Path) -> None:
    events, counters = read_files(tmp_path / "absent.log", TRACES / "create_deployment.json")
    assert len(events) == 1
    assert (counters["file_errors"], counters["files_read"]) == (1, 1)


def test_lines_longer_than_the_body_limit_are_skipped(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    huge = line("huge", userAgent="u" * 5000)
    log.write_bytes(line("a") + huge + line("b"))
    events, counters = read_files(log, max_body_bytes=2048)
    assert names(events) == ["a", "b"] and counters["lines_too_long"] == 1


def test_line_buffer_across_chunks() -> None:
    buffer = LineBuffer(max_line_bytes=10)
    assert buffer.feed(b"ab") == [] and buffer.feed(b"c\nde") == [b"abc"]
    assert buffer.feed(b"f" * 20) == [] and buffer.feed(b"g\nhi\n") == [b"hi"]
    assert buffer.too_long == 1
    assert buffer.feed(b"tail") == [] and buffer.flush() == [b"tail"]


def test_plain_files_only_returns_when_read_and_stops_early_when_told(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(line("a") * 3)
    ingest = K8sAuditIngest(K8sAuditSource(enabled=True, webhook=False, files=[str(log)]))
    stop = threading.Event()
    stop.set()
    got: list = []
    ingest.run(got.extend, stop)  # returns at once: stop was set before any file
    assert got == [] and ingest.ready.is_set()


# ---- followed files --------------------------------------------------------------------------------------

def follow_section(*paths: Path) -> K8sAuditSource:
    return K8sAuditSource(enabled=True, webhook=False, files=[f"file://{p}" for p in paths])


def test_follow_starts_at_the_end_and_sees_appends(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(line("old"))
    with running(follow_section(log)) as (ingest, got):
        with log.open("ab") as out:
            out.write(line("new1"))
            out.flush()
            wait_for(lambda: len(got.events) == 1, what="first append")
            half = line("new2")
            out.write(half[:20])
            out.flush()
            out.write(half[20:] + line("new3"))
        wait_for(lambda: len(got.events) == 3, what="second append")
        assert ingest.port is None
    assert names(got.events) == ["new1", "new2", "new3"]


def test_follow_reopens_after_rotation_by_rename(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(b"")
    with running(follow_section(log)) as (ingest, got):
        log.write_bytes(line("before"))
        wait_for(lambda: len(got.events) == 1, what="event before rotation")
        with log.open("ab") as out:
            out.write(line("last-in-old"))
        log.rename(tmp_path / "audit.log.1")
        log.write_bytes(line("first-in-new") + line("second-in-new"))
        wait_for(lambda: len(got.events) == 4, what="events around rotation")
    assert names(got.events) == ["before", "last-in-old", "first-in-new", "second-in-new"]
    assert ingest.counters()["files_rotated"] == 1


def test_follow_rewinds_after_truncation(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(line("history") * 5)
    with running(follow_section(log)) as (ingest, got):
        with log.open("ab") as out:
            out.write(line("one"))
        wait_for(lambda: len(got.events) == 1, what="event before truncation")
        log.write_bytes(line("after"))  # truncates, then writes less than was there
        wait_for(lambda: len(got.events) == 2, what="event after truncation")
    assert names(got.events) == ["one", "after"]
    assert ingest.counters()["files_truncated"] == 1


def test_follow_waits_for_a_missing_file_and_reads_it_from_its_start(tmp_path: Path) -> None:
    log = tmp_path / "later.log"
    with running(follow_section(log)) as (_ingest, got):
        log.write_bytes(line("born"))
        wait_for(lambda: len(got.events) == 1, what="event of the created file")
        log.unlink()
        log.write_bytes(line("reborn"))
        wait_for(lambda: len(got.events) == 2, what="event of the recreated file")
    assert names(got.events) == ["born", "reborn"]


def test_follow_and_plain_files_together(tmp_path: Path) -> None:
    plain, followed = tmp_path / "plain.log", tmp_path / "followed.log"
    plain.write_bytes(line("p1") + line("p2"))
    followed.write_bytes(line("ignored"))
    section = K8sAuditSource(enabled=True, webhook=False, files=[str(plain), f"file://{followed}"])
    with running(section) as (_ingest, got):
        assert names(got.events) == ["p1", "p2"]
        with followed.open("ab") as out:
            out.write(line("f1"))
        wait_for(lambda: len(got.events) == 3, what="followed event")
    assert names(got.events) == ["p1", "p2", "f1"]
