"""Alerts as RFC 5424 syslog messages: local socket (/dev/log), or remote over UDP or TCP.

Falco's syslog_output calls syslog(3) with the alert priority as the severity; here the message is built
in RFC 5424 form so remote collectors get the event time, host and app name without guessing:

    <PRI>1 2026-01-31T09:41:22.118204Z build-07 saker 4242 - - <alert line>

PRI = facility * 8 + severity, severity = the priority number (Emergency 0 ... Debug 7, the same scale).
The alert line is Falco's JSON document when `json_output`, else its text line. TCP uses octet-counting
framing (RFC 6587, "<length> <message>"), which rsyslog, syslog-ng and Vector accept.
"""

from __future__ import annotations

import errno
import os
import socket
import time
from typing import Any
from urllib.parse import urlsplit

from stages.alert import Alert
from stages.sinks.base import Sink, SinkError, describe

FACILITIES = {
    "kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7, "uucp": 8,
    "cron": 9, "authpriv": 10, "ftp": 11, "local0": 16, "local1": 17, "local2": 18, "local3": 19,
    "local4": 20, "local5": 21, "local6": 22, "local7": 23,
}


def rfc5424(alert: Alert, line: str, *, facility: int, app_name: str, pid: int) -> bytes:
    """One RFC 5424 message for an alert whose rendered form is `line`."""
    seconds, nanos = divmod(alert.time_ns, 1_000_000_000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos // 1000:06d}Z"
    pri = facility * 8 + int(alert.priority)
    host = _token(alert.hostname)
    return f"<{pri}>1 {stamp} {host} {_token(app_name)} {pid} - - {line}".encode("utf-8", "replace")


def _token(text: str) -> str:
    """A header field: printable ASCII without spaces, or the nil value `-`."""
    cleaned = "".join(c for c in text if 33 <= ord(c) <= 126)
    return cleaned[:255] or "-"


class SyslogSink(Sink):
    """`address`: a socket path (default /dev/log), `udp://host:port` or `tcp://host:port`."""

    name = "syslog"

    def __init__(self, settings: Any, config: Any) -> None:
        super().__init__(settings, config)
        self.facility = FACILITIES[settings.facility]
        self.app_name = getattr(settings, "app_name", "saker")
        self._socket: socket.socket | None = None
        self._stream = False

    def deliver(self, alerts: list[Alert]) -> None:
        json_output = self.config.json_output
        pid = os.getpid()
        sent = 0
        try:
            sock = self._connect()
            for alert in alerts:
                message = rfc5424(alert, alert.render(self.config, json_output=json_output),
                                  facility=self.facility, app_name=self.app_name, pid=pid)
                self._send(sock, message)
                sent += 1
        except OSError as exc:
            self.close()
            raise SinkError(f"syslog to {self.settings.address}: {describe(exc)}", delivered=sent) from None

    def reopen(self) -> None:
        self.close()

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    # ------------------------------------------------------------------ transport

    def _connect(self) -> socket.socket:
        if self._socket is None:
            self._socket = self._open(self.settings.address)
        return self._socket

    def _open(self, address: str) -> socket.socket:
        if "://" not in address:
            return self._open_local(address)
        parts = urlsplit(address)
        if parts.scheme not in ("udp", "tcp") or not parts.hostname or not parts.port:
            raise OSError(f"syslog address must be a socket path, udp://host:port or tcp://host:port: {address}")
        kind = socket.SOCK_DGRAM if parts.scheme == "udp" else socket.SOCK_STREAM
        family, _, _, _, sockaddr = socket.getaddrinfo(parts.hostname, parts.port, type=kind)[0]
        sock = socket.socket(family, kind)
        sock.settimeout(10)
        sock.connect(sockaddr)
        self._stream = kind == socket.SOCK_STREAM
        return sock

    def _open_local(self, path: str) -> socket.socket:
        # /dev/log is a datagram socket under journald and rsyslog; a stream one on some older setups.
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            sock = socket.socket(socket.AF_UNIX, kind)
            try:
                sock.connect(path)
            except OSError as exc:
                sock.close()
                if kind == socket.SOCK_DGRAM and exc.errno == errno.EPROTOTYPE:
                    continue
                raise
            self._stream = kind == socket.SOCK_STREAM
            return sock
        raise OSError(f"cannot connect to {path}")

    def _send(self, sock: socket.socket, message: bytes) -> None:
        if self._stream:
            sock.sendall(str(len(message)).encode() + b" " + message)
        else:
            sock.send(message)
