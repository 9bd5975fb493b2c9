"""Alerts POSTed to an HTTP(S) endpoint (Falco's http_output; Falcosidekick's input), one request per alert.

aiohttp on a private event loop driven by the output's thread: one TCP/TLS connection is kept and reused for
consecutive alerts (`keep_alive: true` keeps it between deliveries too; `false` closes it after each batch).
Body = Falco's JSON document with `Content-Type: application/json` when `json_output`, else the text line
as `text/plain`. TLS: system CAs plus `ca_cert`/`ca_bundle` files and a non-default `ca_path` directory;
`insecure` turns verification off; `mtls` presents `client_cert`/`client_key`. `compress_uploads` gzips
bodies. A response outside 2xx fails the delivery. A timeout is tried again at once up to
`max_consecutive_timeouts` times (Falco's behaviour); every other retry is the router's, with backoff.
The URL (path and query can hold tokens) never appears in messages: only scheme://host:port.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import ssl
import sys
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from stages.alert import Alert
from stages.sinks.base import Sink, SinkError, describe, safe_url

_DEFAULT_CA_PATH = "/etc/ssl/certs"


def tls_context(settings: Any) -> ssl.SSLContext:
    """The client TLS settings of an http_output section."""
    context = ssl.create_default_context()
    for bundle in (settings.ca_cert, settings.ca_bundle):
        if bundle:
            context.load_verify_locations(cafile=bundle)
    if settings.ca_path and settings.ca_path != _DEFAULT_CA_PATH and os.path.isdir(settings.ca_path):
        context.load_verify_locations(capath=settings.ca_path)
    if settings.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if settings.mtls:
        context.load_cert_chain(settings.client_cert, settings.client_key)
    return context


class HttpSink(Sink):
    """POST each alert to `url`."""

    name = "http"

    def __init__(self, settings: Any, config: Any) -> None:
        super().__init__(settings, config)
        self.url = settings.url
        self.where = safe_url(settings.url)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._session: aiohttp.ClientSession | None = None

    def secrets(self) -> tuple[str, ...]:
        parts = urlsplit(self.url)
        extra = [parts.password or "", parts.query, parts.path if len(parts.path) > 1 else ""]
        return (self.url, *extra, *self.settings.headers.values())

    def deliver(self, alerts: list[Alert]) -> None:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        json_output = self.config.json_output
        bodies = [alert.render(self.config, json_output=json_output).encode("utf-8", "replace") for alert in alerts]
        try:
            self._loop.run_until_complete(self._post_all(bodies))
        finally:
            if not self.settings.keep_alive:
                self._loop.run_until_complete(self._close_session())

    def reopen(self) -> None:
        if self._loop is not None:
            self._loop.run_until_complete(self._close_session())

    def close(self) -> None:
        if self._loop is not None:
            self._loop.run_until_complete(self._close_session())
            self._loop.close()
            self._loop = None

    # ------------------------------------------------------------------ requests

    async def _post_all(self, bodies: list[bytes]) -> None:
        for done, body in enumerate(bodies):
            try:
                session = self._session or self._open_session()  # TLS files are read here: errors count too
                await self._post(session, body)
            except SinkError as exc:
                exc.delivered = done
                raise
            except (aiohttp.ClientError, OSError, ValueError) as exc:
                await self._close_session()
                raise SinkError(f"http POST to {self.where}: {describe(exc)}", delivered=done,
                                secrets=self.secrets()) from None

    async def _post(self, session: aiohttp.ClientSession, body: bytes) -> None:
        headers = {"Content-Type": "application/json" if self.config.json_output else "text/plain"}
        if self.settings.compress_uploads:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        for attempt in range(self.settings.max_consecutive_timeouts + 1):
            try:
                async with session.post(self.url, data=body, headers=headers) as response:
                    text = await response.text(errors="replace")
                    break
            except asyncio.TimeoutError:
                if attempt == self.settings.max_consecutive_timeouts:
                    await self._close_session()
                    raise SinkError(f"http POST to {self.where}: timed out "
                                    f"{attempt + 1} times in a row") from None
        if self.settings.echo:
            sys.stdout.write(text + "\n")
        if not 200 <= response.status < 300:
            raise SinkError(f"http POST to {self.where}: status {response.status} {response.reason}")

    def _open_session(self) -> aiohttp.ClientSession:
        use_tls = self.url.lower().startswith("https:")
        connector = aiohttp.TCPConnector(limit=1, ssl=tls_context(self.settings) if use_tls else False)
        headers = {"User-Agent": self.settings.user_agent, **self.settings.headers}
        timeout = aiohttp.ClientTimeout(total=getattr(self.settings, "timeout", 10.0))
        self._session = aiohttp.ClientSession(connector=connector, headers=headers, timeout=timeout)
        return self._session

    async def _close_session(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()
