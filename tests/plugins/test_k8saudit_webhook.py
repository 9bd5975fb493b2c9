"""The audit webhook over real loopback HTTP and HTTPS: what it accepts, what it refuses and how."""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import json
import socket
import ssl
from pathlib import Path

import pytest
import structlog

from config.schema import K8sAuditSource
from stages.plugins.k8saudit.parse import NOT_RECOGNIZED
from stages.plugins.k8saudit.webhook import bearer_matches
from tests.plugins.k8saudit_events import TRACES, audit_event, payload, running, wait_for

JSON = {"Content-Type": "application/json"}


def section(**settings) -> K8sAuditSource:
    return K8sAuditSource(**{"enabled": True, "listen_address": "127.0.0.1", "listen_port": 0, **settings})


def request(port: int, body: bytes = b"", *, method: str = "POST", path: str = "/k8s-audit",
            headers: dict[str, str] | None = None, context: ssl.SSLContext | None = None,
            chunked: bool = False) -> tuple[int, dict[str, str], bytes]:
    if context is None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    else:
        connection = http.client.HTTPSConnection("localhost", port, timeout=10, context=context)
    try:
        if chunked:
            connection.request(method, path, body=iter([body]), headers=headers if headers is not None else JSON,
                               encode_chunked=True)
        else:
            connection.request(method, path, body=body, headers=headers if headers is not None else JSON)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def event_list(*events: dict) -> bytes:
    return payload({"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": list(events)})


def names(documents: list[dict]) -> list[str]:
    return [d["objectRef"]["name"] for d in documents]


def test_event_list_single_event_and_array_are_accepted_in_order() -> None:
    with running(section()) as (ingest, got):
        assert ingest.port and ingest.port > 0
        assert request(ingest.port, event_list(audit_event("get", "pods", name="a"),
                                               audit_event("get", "pods", name="b")))[0] == 200
        assert request(ingest.port, payload(audit_event("get", "pods", name="c")))[0] == 200
        array = payload([audit_event("get", "pods", name="d"), json.loads(event_list(audit_event("get", "pods",
                                                                                                   name="e")))])
        assert request(ingest.port, array, headers={"Content-Type": "application/json; charset=utf-8"})[0] == 200
        # a 200 means the events were handed on: no waiting needed
        assert names(got.documents()) == ["a", "b", "c", "d", "e"]
        assert [len(call) for call in got.calls] == [2, 1, 2]
        assert got.events[0][1] == payload(audit_event("get", "pods", name="a"))
    assert ingest.counters() == {"requests": 3, "accepted": 3, "events": 5}


def test_refusals() -> None:
    big = event_list(audit_event("create", "configmaps", name="big", request={"data": {"x": "y" * 4000}}))
    with running(section(max_body_bytes=2048)) as (ingest, got):
        port = ingest.port
        status, headers, _ = request(port, method="GET")
        assert (status, headers.get("Allow")) == (405, "POST")
        assert request(port, method="PUT", body=b"{}")[0] == 405
        assert request(port, payload(audit_event("get", "pods")), path="/other")[0] == 404
        assert request(port, payload(audit_event("get", "pods")), path="/k8s-audit/")[0] == 404
        assert request(port, payload(audit_event("get", "pods")), headers={"Content-Type": "text/plain"})[0] == 400
        assert request(port, payload(audit_event("get", "pods")), headers={})[0] == 400
        assert request(port, big)[0] == 413
        assert request(port, big, chunked=True)[0] == 413
        status, _, text = request(port, b'{"items": [')
        assert status == 400 and text.startswith(b"invalid JSON")
        assert request(port, payload(audit_event("get", "pods", name="ok")),
                       headers={"Content-Type": "APPLICATION/JSON"})[0] == 200
        assert names(got.documents()) == ["ok"]
    assert ingest.counters() == {
        "requests": 10, "refused_method": 2, "refused_path": 2, "refused_content_type": 2, "refused_too_large": 2,
        "invalid_json": 1, "refused_payload": 1, "accepted": 1, "events": 1}


def test_not_recognized_data_is_logged_refused_and_the_source_goes_on() -> None:
    unknown = (TRACES / "fal_01_003.json").read_bytes()
    with structlog.testing.capture_logs() as logs, running(section()) as (ingest, got):
        status, _, text = request(ingest.port, unknown)
        assert (status, text) == (400, NOT_RECOGNIZED.encode() + b"\n")
        assert request(ingest.port, payload(audit_event("get", "pods", name="after")))[0] == 200
        assert names(got.documents()) == ["after"]
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == [NOT_RECOGNIZED]
    assert ingest.counters()["unrecognized"] == 1


def test_dropped_events_are_counted_and_the_rest_accepted() -> None:
    no_time = {k: v for k, v in audit_event("get", "pods", name="x").items() if k != "stageTimestamp"}
    big = audit_event("create", "configmaps", name="big", request={"data": {"x": "y" * 3000}})
    with running(section(max_event_bytes=2048)) as (ingest, got):
        body = event_list(no_time, big, audit_event("get", "pods", name="kept"))
        assert request(ingest.port, body)[0] == 200
        assert names(got.documents()) == ["kept"]
    counters = ingest.counters()
    assert (counters["dropped_no_timestamp"], counters["dropped_too_large"], counters["events"]) == (1, 1, 1)


def test_bearer_token() -> None:
    body = payload(audit_event("get", "pods", name="t"))
    with running(section(bearer_token="s3cret-token")) as (ingest, got):
        port = ingest.port
        status, headers, _ = request(port, body)
        assert (status, headers.get("WWW-Authenticate")) == (401, "Bearer")
        for wrong in ("Bearer nope", "Basic s3cret-token", "Bearer s3cret-token2", "s3cret-token", "Bearer"):
            assert request(port, body, headers={**JSON, "Authorization": wrong})[0] == 401, wrong
        assert request(port, body, method="GET", headers={"Authorization": "Bearer s3cret-token"})[0] == 405
        assert request(port, body, headers={**JSON, "Authorization": "Bearer s3cret-token"})[0] == 200
        assert request(port, body, headers={**JSON, "Authorization": "bearer s3cret-token"})[0] == 200
        assert len(got.events) == 2
    assert ingest.counters()["refused_auth"] == 6


def test_bearer_matches_compares_exactly() -> None:
    assert bearer_matches("Bearer abc", "abc")
    assert not bearer_matches("Bearer ab", "abc")
    assert not bearer_matches(None, "abc")
    assert not bearer_matches("Bearer \udcff", "?")


def test_custom_path() -> None:
    with running(section(path="/audit/{cluster}")) as (ingest, _got):
        assert request(ingest.port, payload(audit_event("get", "pods")), path="/audit/x")[0] == 404
        assert request(ingest.port, payload(audit_event("get", "pods")), path="/audit/{cluster}")[0] == 200


def test_plain_files_are_read_before_serving(tmp_path: Path) -> None:
    with running(section(files=[str(TRACES / "create_deployment.json")])) as (ingest, got):
        assert len(got.events) == 1  # read before `ready`
        assert request(ingest.port, payload(audit_event("get", "pods", name="live")))[0] == 200
        documents = got.documents()
    assert documents[0]["objectRef"]["resource"] == "deployments" and names(documents[1:]) == ["live"]


def test_a_port_in_use_fails_the_run() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError), running(section(listen_port=taken.getsockname()[1])):
            pass


# ---- HTTPS -----------------------------------------------------------------------------------------------

def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A throwaway certificate for localhost/127.0.0.1 and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.mark.parametrize("combined", [False, True], ids=["separate-key", "key-in-cert-file"])
def test_https(tmp_path: Path, combined: bool) -> None:
    cert, key = self_signed(tmp_path)
    if combined:
        both = tmp_path / "both.pem"
        both.write_bytes(cert.read_bytes() + key.read_bytes())
        tls = {"cert": str(both), "key": ""}
    else:
        tls = {"cert": str(cert), "key": str(key)}
    client = ssl.create_default_context(cafile=str(cert))
    with running(section(tls=tls)) as (ingest, got):
        assert request(ingest.port, event_list(audit_event("get", "pods", name="tls")), context=client)[0] == 200
        with pytest.raises(ssl.SSLError):  # a client that does not trust the certificate
            request(ingest.port, b"{}", context=ssl.create_default_context())
        with pytest.raises((ConnectionError, http.client.HTTPException)):  # plain HTTP to the TLS port
            request(ingest.port, b"{}")
        wait_for(lambda: len(got.events) == 1, what="the HTTPS event")
        assert names(got.documents()) == ["tls"]
