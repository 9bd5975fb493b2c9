"""HTTP sink against a local server: bodies, content types, headers, a reused connection, TLS, gzip, errors."""

from __future__ import annotations

import gzip
import json
import ssl

import pytest

from stages.sinks import SinkError
from stages.sinks.http import HttpSink
from tests.outputs.conftest import LocalHttpServer, make_alert, make_config


def _sink(url: str, json_output: bool = True, **settings) -> HttpSink:
    config = make_config(json_output=json_output, http_output={"enabled": True, "url": url, **settings})
    return HttpSink(config.http_output, config)


def test_json_posts_one_request_per_alert_on_one_connection(http_server):
    """Each alert is POSTed as Falco's JSON document; consecutive requests share one TCP connection."""
    sink = _sink(http_server.url("/falco"), keep_alive=True, user_agent="saker-test",
                 headers={"X-Team": "blue"})
    sink.deliver([make_alert(0), make_alert(1)])
    sink.deliver([make_alert(2)])
    sink.close()
    requests = http_server.recorder.requests
    assert [json.loads(r["body"])["output_fields"]["n"] for r in requests] == [0, 1, 2]
    assert json.loads(requests[0]["body"]) == json.loads(make_alert(0).to_falco_json(make_config()))
    assert {r["path"] for r in requests} == {"/falco"}
    assert requests[0]["headers"]["Content-Type"] == "application/json"
    assert requests[0]["headers"]["User-Agent"] == "saker-test"
    assert requests[0]["headers"]["X-Team"] == "blue"
    assert len({r["client"] for r in requests}) == 1


def test_text_body_without_json_output_and_new_connection_per_batch(http_server):
    """Without json_output the body is the text line as text/plain; keep_alive false closes after a batch."""
    sink = _sink(http_server.url(), json_output=False, keep_alive=False)
    sink.deliver([make_alert(0), make_alert(1)])
    sink.deliver([make_alert(2)])
    sink.close()
    requests = http_server.recorder.requests
    assert requests[0]["headers"]["Content-Type"] == "text/plain"
    assert requests[0]["body"].decode().endswith(": Warning file opened (n=0 file=/etc/shadow)")
    clients = [r["client"] for r in requests]
    assert clients[0] == clients[1] != clients[2]


def test_compressed_uploads_are_gzip(http_server):
    """compress_uploads gzips the body and says so in Content-Encoding."""
    sink = _sink(http_server.url(), compress_uploads=True)
    sink.deliver([make_alert(5)])
    sink.close()
    request = http_server.recorder.requests[0]
    assert request["headers"]["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(request["body"]))["output_fields"]["n"] == 5


def test_https_with_ca_bundle_verifies_and_unknown_ca_fails(certificate):
    """HTTPS works with the server's CA in ca_bundle; without it verification fails; insecure skips it."""
    cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = LocalHttpServer(tls=context)
    try:
        good = _sink(server.url("/", scheme="https"), ca_bundle=str(cert))
        good.deliver([make_alert(1)])
        good.close()
        bad = _sink(server.url("/", scheme="https"))
        with pytest.raises(SinkError, match="certificate verify failed"):
            bad.deliver([make_alert(2)])
        bad.close()
        insecure = _sink(server.url("/", scheme="https"), insecure=True)
        insecure.deliver([make_alert(3)])
        insecure.close()
        assert [json.loads(b)["output_fields"]["n"] for b in server.recorder.bodies()] == [1, 3]
    finally:
        server.stop()


def test_error_status_fails_with_partial_count_and_no_secret(http_server):
    """A 5xx answer raises SinkError naming the status, the alerts already accepted, and never the URL path."""
    sink = _sink(http_server.url("/hook/s3cr3t-token?key=hunter2"))
    sink.deliver([make_alert(0)])
    http_server.recorder.status = 503
    with pytest.raises(SinkError) as caught:
        sink.deliver([make_alert(1), make_alert(2)])
    sink.close()
    message = str(caught.value)
    assert message == f"http POST to http://127.0.0.1:{http_server.port}: status 503 Service Unavailable"
    assert caught.value.delivered == 0
    assert "s3cr3t" not in message and "hunter2" not in message


def test_refused_connection_is_a_sink_error_without_the_url_path():
    """Nothing listening: SinkError that names host and port only."""
    from tests.outputs.conftest import free_port

    port = free_port()
    sink = _sink(f"http://127.0.0.1:{port}/path/secret-in-path")
    with pytest.raises(SinkError) as caught:
        sink.deliver([make_alert(0)])
    sink.close()
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert "secret-in-path" not in str(caught.value)
