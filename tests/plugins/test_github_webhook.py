"""The GitHub webhook receiver over real loopback HTTP(S), and its scans against a local fake of GitHub's REST API.

Each test starts the Ingest in a thread with a list-collecting emit, and always stops and joins it (and the
fake API server). Deliveries are signed here exactly as GitHub signs them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import http.client
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlencode

import pytest
from aiohttp import web

from config.schema import GitHubSource, ListenerTls
from stages.plugins.github import SPEC, webhook
from stages.plugins.github.delivery import signature
from stages.plugins.github.webhook import GitHubWebhook
from tests.plugins import github_samples as gs
from tests.plugins.harness import events, fired

SECRET = "it's a secret to everybody"
TOKEN = "test-token"
WAIT = 10.0


@pytest.fixture(autouse=True)
def no_leftover_threads() -> Iterator[None]:
    """Every test leaves the threads as it found them (servers stopped, executors joined)."""
    before = set(threading.enumerate())
    yield
    left = [t.name for t in set(threading.enumerate()) - before if t.is_alive()]
    assert left == []


# ---- helpers --------------------------------------------------------------------------------------------

class Collected:
    """What the Ingest emitted: (time_ns, document) pairs, with a condition to wait on."""

    def __init__(self) -> None:
        self.items: list[tuple[int, dict[str, Any]]] = []
        self.calls = 0
        self._cond = threading.Condition()

    def emit(self, batch: list[tuple[int, bytes]]) -> None:
        with self._cond:
            self.calls += 1
            self.items.extend((t, json.loads(p)) for t, p in batch)
            self._cond.notify_all()

    def wait_for(self, count: int) -> list[tuple[int, dict[str, Any]]]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.items) >= count, WAIT), f"{len(self.items)} of {count}"
            return list(self.items)

    @property
    def docs(self) -> list[dict[str, Any]]:
        return [doc for _, doc in self.items]


def wait_until(condition: Callable[[], Any]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@contextlib.contextmanager
def running(section: GitHubSource) -> Iterator[tuple[GitHubWebhook, Collected]]:
    ingest = SPEC.ingest(section)
    collected, stop = Collected(), threading.Event()
    thread = threading.Thread(target=ingest.run, args=(collected.emit, stop), name="test-github-ingest")
    thread.start()
    try:
        assert ingest.ready.wait(WAIT), "webhook server did not start"
        yield ingest, collected
    finally:
        stop.set()
        thread.join(WAIT)
        assert not thread.is_alive(), "ingest thread did not stop"


def section(**overrides: Any) -> GitHubSource:
    settings: dict[str, Any] = {"enabled": True, "listen_address": "127.0.0.1", "listen_port": 0, "secret": SECRET}
    return GitHubSource(**{**settings, **overrides})


def post(port: int, body: bytes, headers: dict[str, str], *, path: str = "/github", method: str = "POST",
         context: ssl.SSLContext | None = None) -> tuple[int, dict[str, Any]]:
    if context is None:
        conn: http.client.HTTPConnection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
    else:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=WAIT, context=context)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read()
        return response.status, (json.loads(text) if text else {})
    finally:
        conn.close()


def signed_json(payload: dict[str, Any], event_type: str, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    return body, {"Content-Type": "application/json", "X-GitHub-Event": event_type,
                  "X-Hub-Signature-256": signature(secret.encode(), body)}


def deliver(port: int, payload: dict[str, Any], event_type: str, **kwargs: Any) -> int:
    body, headers = signed_json(payload, event_type)
    status, _ = post(port, body, headers, **kwargs)
    return status


# ---- a local stand-in for api.github.com ---------------------------------------------------------------

class FakeGitHubApi:
    """An aiohttp server on loopback answering GET <path> from `answers`: (status, JSON) or "stall"."""

    def __init__(self, answers: dict[str, Any], delay: float = 0.0) -> None:
        self.answers = answers
        self.delay = delay
        self.requests: list[tuple[str, dict[str, str], str | None]] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="test-fake-github-api")
        self._runner: web.AppRunner | None = None
        self._release: asyncio.Event | None = None
        self.url = ""

    def __enter__(self) -> Self:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(WAIT)
        return self

    def __exit__(self, *_exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(WAIT)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(WAIT)
        self._loop.close()

    async def _start(self) -> None:
        self._release = asyncio.Event()
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._answer)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/api/v3"

    async def _stop(self) -> None:
        self._release.set()
        await self._runner.cleanup()

    async def _answer(self, request: web.Request) -> web.Response:
        path = request.path.removeprefix("/api/v3")
        self.requests.append((path, dict(request.query), request.headers.get("Authorization")))
        answer = self.answers.get(path, (404, {"message": "Not Found"}))
        if answer == "stall":
            await self._release.wait()
            answer = (503, {})
        await asyncio.sleep(self.delay)
        status, body = answer
        return web.Response(status=status, body=body if isinstance(body, bytes) else json.dumps(body).encode(),
                            content_type="application/json")


PUSH_BEFORE, PUSH_AFTER = "6113728f27ae82c7b1a177c8d03f9e96e0adf246", "d" * 40
COMPARE_PATH = f"/repos/Codertocat/Hello-World/compare/{PUSH_BEFORE}...{PUSH_AFTER}"
SYNTHETIC_KEY_LINE = "AWS_KEY_ID = '" + gs.FAKE_AWS_KEY_ID + "'"
COMPARE_ANSWER = {"files": [
    {"filename": "settings.py", "patch": f"@@ -1,2 +1,3 @@\n import os\n+{SYNTHETIC_KEY_LINE}\n DEBUG = 0"},
    {"filename": "logo.png"},  # binary: no patch
    {"filename": "notes.md", "patch": "@@ -0,0 +1 @@\n+nothing to see"},
]}
WORKFLOW_SAMPLE = gs.sample("workflow_run.requested")
CONTENTS_PATH = f"/repos/octo-org/octo-repo/contents/{WORKFLOW_SAMPLE['workflow']['path']}"
SYNTHETIC_WORKFLOW = "name: test\non: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n" \
                     "      - run: ./xmrig -o stratum+tcp://pool.example.test:3333\n"


def wrapped_base64(text: str) -> str:
    """Base64 as the contents API sends it: wrapped at 60 columns."""
    encoded = base64.b64encode(text.encode()).decode()
    return "\n".join(encoded[i:i + 60] for i in range(0, len(encoded), 60))


CONTENTS_ANSWER = {"type": "file", "encoding": "base64", "content": wrapped_base64(SYNTHETIC_WORKFLOW)}


def synthetic_push() -> dict[str, Any]:
    """SYNTHETIC: the push sample as a branch update (after is a commit, not zeros)."""
    payload = gs.synthetic_variant("push")
    payload.update(after=PUSH_AFTER, deleted=False, head_commit={"id": PUSH_AFTER})
    return payload


# ---- tests ----------------------------------------------------------------------------------------------

class TestConfiguration:
    def test_empty_secret_refused(self) -> None:
        """Without a secret the source does not start: deliveries could not be verified."""
        with pytest.raises(ValueError, match="sources.github.secret is empty"):
            GitHubWebhook(section(secret=""))

    def test_path_needs_slash(self) -> None:
        with pytest.raises(ValueError, match="must start with '/'"):
            GitHubWebhook(section(path="github"))

    def test_api_url_must_be_http(self) -> None:
        """With a token, api_url must be an http(s) URL (the token is sent there)."""
        with pytest.raises(ValueError, match="api_url must be an http"):
            GitHubWebhook(section(token=TOKEN, api_url="api.github.com"))

    def test_port_in_use(self) -> None:
        """A port already taken is a start-up error (OSError), and the source never says ready."""
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            ingest = GitHubWebhook(section(listen_port=busy.getsockname()[1]))
            with pytest.raises(OSError):
                ingest.run(lambda _batch: None, threading.Event())
            assert not ingest.ready.is_set()


class TestDeliveries:
    def test_signed_json_accepted(self) -> None:
        """A signed JSON delivery is answered 202 and emitted once, with webhook_type and its arrival time."""
        with running(section()) as (ingest, collected):
            body, headers = signed_json(gs.sample("member.added"), "member")
            before = time.time_ns()
            assert post(ingest.port, body, headers) == (202, {"accepted": "member"})
            after = time.time_ns()
            [(stamp, doc)] = collected.wait_for(1)
        assert before <= stamp <= after
        assert doc == {**gs.sample("member.added"), "webhook_type": "member"}
        assert collected.calls == 1

    def test_signed_form_accepted(self) -> None:
        """A form delivery (GitHub's `application/x-www-form-urlencoded` content type) carries JSON in `payload`."""
        with running(section()) as (ingest, collected):
            body = urlencode({"payload": json.dumps(gs.sample("ping"))}).encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded", "X-GitHub-Event": "ping",
                       "X-Hub-Signature-256": signature(SECRET.encode(), body),
                       "X-Hub-Signature": "sha1=ignored-when-sha256-is-present"}
            assert post(ingest.port, body, headers)[0] == 202
            [(_, doc)] = collected.wait_for(1)
        assert doc == {**gs.sample("ping"), "webhook_type": "ping"}

    def test_rules_on_emitted_events(self) -> None:
        """Emitted sample deliveries fire their upstream rules."""
        with running(section()) as (ingest, collected):
            for name in ("ping", "repository.publicized", "member.added"):
                assert deliver(ingest.port, gs.sample(name), gs.event_type_of(name)) == 202
            items = collected.wait_for(3)
        payloads = [json.dumps(doc).encode() for _, doc in items]
        assert fired(SPEC.extractor(), [gs.RULES], events(payloads)) == [
            "Webhook Connected", "Private Repository Becoming Public", "Add Collaborator to Repository"]

    def test_signature_refusals_counted(self) -> None:
        """Unsigned, wrongly signed and SHA-1-only deliveries get 401, are counted, and emit nothing."""
        body, good = signed_json(gs.sample("ping"), "ping")
        sha1_only = {k: v for k, v in good.items() if k != "X-Hub-Signature-256"}
        sha1_only["X-Hub-Signature"] = "sha1=" + "0" * 40
        cases = {
            "unsigned": {k: v for k, v in good.items() if k != "X-Hub-Signature-256"},
            "other secret": signed_json(gs.sample("ping"), "ping", secret="not the secret")[1],
            "garbage": {**good, "X-Hub-Signature-256": "sha256=zz"},
            "body changed": {**good, "X-Hub-Signature-256": signature(SECRET.encode(), body + b" ")},
            "sha1 only": sha1_only,
        }
        with running(section()) as (ingest, collected):
            statuses = {case: post(ingest.port, body, headers)[0] for case, headers in cases.items()}
            assert post(ingest.port, body, good)[0] == 202  # the same body, properly signed
        counts = ingest.counters()  # read once the source has stopped: every count is final
        assert len(collected.items) == 1
        assert statuses == dict.fromkeys(cases, 401)
        assert (counts["refused_signature"], counts["requests"], counts["events"]) == (5, 6, 1)

    def test_bad_requests(self) -> None:
        """Wrong method 405, wrong path 404, too big 413, bad JSON / no event header 400, other media 415."""
        good_body, good_headers = signed_json({"zen": "Keep it logically awesome.", "hook_id": 1}, "ping")
        with running(section(max_body_bytes=4096)) as (ingest, collected):
            port = ingest.port

            def signed(body: bytes, **headers: str) -> int:
                merged = {**good_headers, **headers, "X-Hub-Signature-256": signature(SECRET.encode(), body)}
                return post(port, body, {k: v for k, v in merged.items() if v})[0]

            got = {
                "get": post(port, b"", {}, method="GET")[0],
                "path": post(port, good_body, good_headers, path="/elsewhere")[0],
                "big": signed(b"{" + b" " * 5000 + b"}"),
                "not json": signed(b"{not json"),
                "array": signed(b"[1,2]"),
                "NaN": signed(b'{"a": NaN}'),
                "no event": signed(good_body, **{"X-GitHub-Event": ""}),
                "form without payload": signed(b"other=1", **{"Content-Type": "application/x-www-form-urlencoded"}),
                "text": signed(good_body, **{"Content-Type": "text/plain"}),
            }
        counts = ingest.counters()
        assert got == {"get": 405, "path": 404, "big": 413, "not json": 400, "array": 400, "NaN": 400,
                       "no event": 400, "form without payload": 400, "text": 415}
        assert collected.items == []
        assert {k: counts[k] for k in ("requests", "refused_method", "refused_path", "refused_too_large",
                                       "refused_body", "events")} == {
            "requests": 9, "refused_method": 1, "refused_path": 1, "refused_too_large": 1, "refused_body": 6,
            "events": 0}

    def test_tls(self, tmp_path: Path) -> None:
        """With tls.cert/key set, deliveries arrive over HTTPS."""
        cert, key = self_signed(tmp_path)
        client = ssl.create_default_context(cafile=str(cert))
        with running(section(tls=ListenerTls(cert=str(cert), key=str(key)))) as (ingest, collected):
            assert deliver(ingest.port, gs.sample("ping"), "ping", context=client) == 202
            [(_, doc)] = collected.wait_for(1)
        assert doc["webhook_type"] == "ping"


class TestScans:
    def test_push_secret_scan(self) -> None:
        """A push is compared through the API; its added lines are scanned; the public-repository rule fires."""
        with FakeGitHubApi({COMPARE_PATH: (200, COMPARE_ANSWER)}) as api, \
                running(section(api_url=api.url, token=TOKEN)) as (ingest, collected):
            assert deliver(ingest.port, synthetic_push(), "push") == 202
            [(_, doc)] = collected.wait_for(1)
        counts = ingest.counters()
        assert api.requests == [(COMPARE_PATH, {}, f"Bearer {TOKEN}")]
        assert doc["files"] == [
            {"name": "settings.py", "matches": [{"line": 2, "type": "key", "desc": "aws_access_key_id",
                                                 "platform": "AWS"}]},
            {"name": "logo.png", "matches": []}, {"name": "notes.md", "matches": []}]
        assert (counts["api_calls"], counts["api_errors"]) == (1, 0)
        assert fired(SPEC.extractor(), [gs.RULES], events([json.dumps(doc).encode()])) == [
            "Secret pushed into a public repository"]

    def test_workflow_miner_scan(self) -> None:
        """A workflow_run's file is fetched at the run's commit and scanned; the miner rule fires."""
        with FakeGitHubApi({CONTENTS_PATH: (200, CONTENTS_ANSWER)}) as api, \
                running(section(api_url=api.url, token=TOKEN)) as (ingest, collected):
            assert deliver(ingest.port, WORKFLOW_SAMPLE, "workflow_run") == 202
            [(_, doc)] = collected.wait_for(1)
        assert api.requests == [(CONTENTS_PATH, {"ref": WORKFLOW_SAMPLE["workflow_run"]["head_sha"]},
                                 f"Bearer {TOKEN}")]
        assert doc["workflow_miner_detections"] == {"name": ".github/workflows/test.yml",
                                                    "matches": [{"line": 7, "type": "xmrig"}]}
        assert fired(SPEC.extractor(), [gs.RULES], events([json.dumps(doc).encode()])) == [
            "Github action with miners"]

    @pytest.mark.parametrize("answer", [(500, {"message": "boom"}), (200, b"not json"), (200, {"no": "files"})])
    def test_api_failure_still_emits(self, answer: Any) -> None:
        """An API error, a non-JSON or a malformed answer is counted; the event goes out unscanned."""
        with FakeGitHubApi({COMPARE_PATH: answer}) as api, \
                running(section(api_url=api.url, token=TOKEN)) as (ingest, collected):
            assert deliver(ingest.port, synthetic_push(), "push") == 202
            [(_, doc)] = collected.wait_for(1)
        counts = ingest.counters()
        assert "files" not in doc and doc["after"] == PUSH_AFTER
        assert (counts["api_calls"], counts["api_errors"], counts["events"]) == (1, 1, 1)

    def test_no_call_for_ref_deletion_or_without_token(self) -> None:
        """A push deleting a ref (after = zeros) needs no diff; without a token nothing is fetched at all."""
        with FakeGitHubApi({}) as api:
            with running(section(api_url=api.url, token=TOKEN)) as (ingest, collected):
                assert deliver(ingest.port, gs.sample("push"), "push") == 202
                collected.wait_for(1)
            with running(section(api_url=api.url)) as (ingest, collected):
                assert deliver(ingest.port, synthetic_push(), "push") == 202
                assert deliver(ingest.port, WORKFLOW_SAMPLE, "workflow_run") == 202
                collected.wait_for(2)
        assert api.requests == []
        assert "files" not in collected.docs[0] and "workflow_miner_detections" not in collected.docs[1]

    def test_order_kept_behind_slow_scan(self) -> None:
        """Events leave in arrival order even when an earlier one waits for a slow API answer."""
        with FakeGitHubApi({CONTENTS_PATH: (200, CONTENTS_ANSWER)}, delay=0.3) as api, \
                running(section(api_url=api.url, token=TOKEN)) as (ingest, collected):
            assert deliver(ingest.port, WORKFLOW_SAMPLE, "workflow_run") == 202
            assert deliver(ingest.port, gs.sample("ping"), "ping") == 202
            items = collected.wait_for(2)
        assert [doc["webhook_type"] for _, doc in items] == ["workflow_run", "ping"]
        assert items[0][0] <= items[1][0]
        assert "workflow_miner_detections" in items[0][1]

    def test_stop_releases_stalled_scan(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """At stop, a scan that does not finish in time is cancelled and its event goes out unscanned."""
        monkeypatch.setattr(webhook, "DRAIN_SECONDS", 0.2)
        with FakeGitHubApi({COMPARE_PATH: "stall"}) as api:
            with running(section(api_url=api.url, token=TOKEN)) as (ingest, collected):
                assert deliver(ingest.port, synthetic_push(), "push") == 202
                wait_until(lambda: api.requests)  # the scan has reached the API
            # `running` has stopped and joined the source here
            assert [doc["webhook_type"] for doc in collected.docs] == ["push"]
            assert "files" not in collected.docs[0]

    def test_busy_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """When too many accepted deliveries wait behind a scan, GitHub is told to retry (503), counted."""
        monkeypatch.setattr(webhook, "MAX_PENDING", 1)
        monkeypatch.setattr(webhook, "DRAIN_SECONDS", 0.2)
        with FakeGitHubApi({COMPARE_PATH: "stall"}) as api:
            with running(section(api_url=api.url, token=TOKEN)) as (ingest, collected):
                assert deliver(ingest.port, synthetic_push(), "push") == 202  # taken, waiting for its scan
                wait_until(lambda: api.requests)
                assert deliver(ingest.port, gs.sample("ping"), "ping") == 202  # queued
                assert deliver(ingest.port, gs.sample("ping"), "ping") == 503
                assert ingest.counters()["refused_busy"] == 1
            assert [doc["webhook_type"] for doc in collected.docs] == ["push", "ping"]


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cert path, key path)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path

