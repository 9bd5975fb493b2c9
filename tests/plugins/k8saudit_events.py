"""Test helpers for the k8s audit source: the upstream samples read by our file reader, synthetic audit
Events, field values through the real column path, and a running Ingest in a thread."""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from config.schema import K8sAuditSource
from rules.loader import load_rules
from stages.plugins.base import PluginEvent, raw_batch
from stages.plugins.k8saudit.fields import K8sAuditExtractor
from stages.plugins.k8saudit.ingest import K8sAuditIngest
from tests.conftest import SHARED
from tests.plugins import harness

SAMPLES = SHARED / "peer" / "sample-events" / "k8s_audit"
TRACES = SAMPLES / "trace_files"
OVERRIDES = SAMPLES / "rule_overrides"
PSP = SAMPLES / "psp"
RULES = SHARED / "peer" / "plugin-rules" / "k8s_audit_rules.yaml"


@functools.cache
def _load_once(rule_files: tuple[str, ...]) -> Any:
    return load_rules(list(rule_files))


def cached_rule_loads(monkeypatch: Any) -> None:
    """Make the harness load each set of rule files once per test session: the files do not change while
    the tests run, and loading the k8s ruleset costs far more than evaluating a batch."""
    monkeypatch.setattr(harness, "load_rules", lambda files: _load_once(tuple(str(f) for f in files)))


def read_files(*paths: Path | str, **settings: Any) -> tuple[list[tuple[int, bytes]], dict[str, int]]:
    """Events (time, payload) our reader gets from plain files, and its counters."""
    section = K8sAuditSource(enabled=True, webhook=False, files=[str(p) for p in paths], **settings)
    ingest = K8sAuditIngest(section)
    events: list[tuple[int, bytes]] = []
    ingest.run(events.extend, threading.Event())
    return events, ingest.counters()


def sample_events(path: Path) -> list[PluginEvent]:
    """A sample file as numbered plugin events, read by our reader (times are the events' stageTimestamps)."""
    events, _ = read_files(path)
    return harness.events([p for _, p in events], [t for t, _ in events])


def audit_event(verb: str, resource: str, *, name: str | None = None, namespace: str | None = None,
                subresource: str | None = None, stage: str = "ResponseComplete", user: str = "admin",
                code: int = 201, request: Any = None, uri: str = "/api/v1/x", **extra: Any) -> dict[str, Any]:
    """A synthetic audit.k8s.io/v1 Event (our own test data, shaped like what an API server sends)."""
    object_ref = {"resource": resource, "apiVersion": "v1"}
    for key, value in (("name", name), ("namespace", namespace), ("subresource", subresource)):
        if value is not None:
            object_ref[key] = value
    event: dict[str, Any] = {
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse",
        "auditID": f"test-{verb}-{resource}-{name}", "stage": stage, "requestURI": uri, "verb": verb,
        "user": {"username": user, "groups": ["system:authenticated"]}, "sourceIPs": ["10.0.0.7"],
        "userAgent": "kubectl/v1.31.0", "objectRef": object_ref, "responseStatus": {"code": code},
        "requestReceivedTimestamp": "2024-05-01T10:00:00.000000Z", "stageTimestamp": "2024-05-01T10:00:00.250000Z",
        "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""},
    }
    if request is not None:
        event["requestObject"] = request
    event.update(extra)
    return event


def payload(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def values(field: str, *payloads: bytes, extractor: K8sAuditExtractor | None = None) -> list[Any]:
    """One field's value per payload, through the extractor's column path (absent = None)."""
    extractor = extractor or K8sAuditExtractor(hostname="test-host")
    events = harness.events(list(payloads))
    return extractor.columns(raw_batch(extractor.source, events), [field]).column(field).to_pylist()


def value(field: str, document: Any) -> Any:
    """One field's value for one document (a dict, or raw bytes)."""
    return values(field, document if isinstance(document, bytes) else payload(document))[0]


def wait_for(condition: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    """Poll until `condition()` holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


class Collected:
    """What a running Ingest emitted, safe to read from the test thread."""

    def __init__(self) -> None:
        self.calls: list[list[tuple[int, bytes]]] = []
        self._lock = threading.Lock()

    def emit(self, chunk: list[tuple[int, bytes]]) -> None:
        with self._lock:
            self.calls.append(list(chunk))

    @property
    def events(self) -> list[tuple[int, bytes]]:
        with self._lock:
            return [event for call in self.calls for event in call]

    def documents(self) -> list[Any]:
        return [json.loads(p) for _, p in self.events]


@contextmanager
def running(section: K8sAuditSource) -> Iterator[tuple[K8sAuditIngest, Collected]]:
    """An Ingest running in its own thread until the block ends; ready on entry, stopped and joined on exit."""
    ingest = K8sAuditIngest(section)
    collected = Collected()
    stop = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            ingest.run(collected.emit, stop)
        except BaseException as error:  # noqa: BLE001 - re-raised in the test thread below
            failure.append(error)

    thread = threading.Thread(target=run, name="k8saudit-test")
    thread.start()
    try:
        wait_for(lambda: ingest.ready.is_set() or bool(failure) or not thread.is_alive(), what="ingest ready")
        if failure:
            raise failure[0]
        yield ingest, collected
    finally:
        stop.set()
        thread.join(timeout=10)
        assert not thread.is_alive(), "ingest thread did not stop"
