"""Syslog sink: exact RFC 5424 messages over UDP, TCP (octet counting) and a local datagram socket."""

from __future__ import annotations

import os
import socket
import threading

import pytest

from rules.priority import Priority
from stages.sinks import SinkError
from stages.sinks.syslog import SyslogSink, rfc5424
from tests.outputs.conftest import make_alert, make_config


def _sink(address: str, **extra) -> SyslogSink:
    config = make_config(syslog_output={"enabled": True, "address": address, "facility": "local3", **extra})
    return SyslogSink(config.syslog_output, config)


def _expected(alert, facility=19) -> bytes:
    line = alert.to_text(make_config())
    return (f"<{facility * 8 + int(alert.priority)}>1 2026-01-31T09:41:22.118204Z build-07 saker {os.getpid()}"
            f" - - {line}").encode()


def test_rfc5424_header_maps_priority_to_severity():
    """PRI = facility*8 + priority number; timestamp in UTC with microseconds; nil fields as '-'."""
    alert = make_alert(priority=Priority.CRITICAL, hostname="")
    message = rfc5424(alert, "text", facility=1, app_name="saker", pid=42)
    assert message == b"<10>1 2026-01-31T09:41:22.118204Z - saker 42 - - text"


def test_udp_datagrams_reach_a_local_listener():
    """One datagram per alert, byte for byte."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.settimeout(5)
        sink = _sink(f"udp://127.0.0.1:{listener.getsockname()[1]}")
        alerts = [make_alert(0, priority=Priority.ERROR), make_alert(1, priority=Priority.DEBUG)]
        sink.deliver(alerts)
        received = [listener.recv(65535), listener.recv(65535)]
        sink.close()
    assert received == [_expected(alerts[0]), _expected(alerts[1])]


def test_tcp_stream_uses_octet_counting_framing():
    """Over TCP each message is preceded by its length and a space (RFC 6587)."""
    chunks: list[bytes] = []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)

        def serve():
            connection, _ = listener.accept()
            with connection:
                while data := connection.recv(65535):
                    chunks.append(data)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        sink = _sink(f"tcp://127.0.0.1:{listener.getsockname()[1]}")
        alerts = [make_alert(0), make_alert(1)]
        sink.deliver(alerts)
        sink.close()
        thread.join(5)
    expected = b"".join(str(len(m)).encode() + b" " + m for m in map(_expected, alerts))
    assert b"".join(chunks) == expected


def test_local_datagram_socket_like_dev_log(tmp_path):
    """A socket path is used as /dev/log would be, with JSON documents when json_output is on."""
    path = str(tmp_path / "log.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(path)
        listener.settimeout(5)
        config = make_config(json_output=True, syslog_output={"enabled": True, "address": path})
        sink = SyslogSink(config.syslog_output, config)
        sink.deliver([make_alert(3)])
        data = listener.recv(65535)
        sink.close()
    assert data.startswith(b"<12>1 2026-01-31T09:41:22.118204Z build-07 saker ")
    assert data.endswith(make_alert(3).to_falco_json(config).encode())


def test_unreachable_tcp_collector_raises_sink_error():
    """A refused connection is a SinkError (the router retries it)."""
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    sink = _sink(f"tcp://127.0.0.1:{port}")
    with pytest.raises(SinkError, match="syslog to tcp://127.0.0.1"):
        sink.deliver([make_alert(0)])
