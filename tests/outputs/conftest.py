"""Helpers for the output tests: config builder, alerts, deadline waits, a recording HTTP server, certificates."""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

import pytest

from config.schema import Config
from rules.priority import Priority
from stages.alert import Alert

T0 = 1769852482118204311  # 2026-01-31T09:41:22.118204311Z


def make_config(**sections: Any) -> Config:
    return Config.model_validate(sections)


def make_alert(n: int = 0, *, rule: str = "Read sensitive file", priority: Priority = Priority.WARNING,
               source: str = "syscall", tags: tuple[str, ...] = ("filesystem", "mitre_credential_access"),
               fields: dict[str, Any] | None = None, hostname: str = "build-07") -> Alert:
    return Alert(rule=rule, priority=priority, source=source, time_ns=T0 + n,
                 message=f"file opened (n={n} file=/etc/shadow)",
                 output_fields={"n": n, "fd.name": "/etc/shadow"} if fields is None else fields,
                 tags=tags, hostname=hostname)


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll `condition` until it is truthy; fail the test at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Recorder:
    """What a local HTTP server received; `status` is the answer it gives."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.reply = b"ok"
        self.delay = 0.0
        self.started = 0
        self.lock = threading.Lock()

    def bodies(self) -> list[bytes]:
        with self.lock:
            return [r["body"] for r in self.requests]

    def json_bodies(self) -> list[Any]:
        return [json.loads(b) for b in self.bodies()]


def _handler(recorder: Recorder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stall

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with recorder.lock:
                recorder.started += 1
            if recorder.delay:
                time.sleep(recorder.delay)
            with recorder.lock:
                recorder.requests.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                          "client": self.client_address})
                status, reply = recorder.status, recorder.reply
            self.send_response(status)
            self.send_header("Content-Length", str(len(reply)))
            self.send_header("Content-Type", "application/json" if reply.startswith(b"{") else "text/plain")
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


class LocalHttpServer:
    """A threaded HTTP(S) server on 127.0.0.1 recording every POST."""

    def __init__(self, port: int = 0, tls: Any = None) -> None:
        self.recorder = Recorder()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self.recorder))
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def url(self, path: str = "/", scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(name="http_server")
def fixture_http_server():
    server = LocalHttpServer()
    yield server
    server.stop()


@pytest.fixture(name="certificate", scope="session")
def fixture_certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for localhost / 127.0.0.1 (cert path, key path); also its own CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path
