"""The audit webhook: an aiohttp server the Kubernetes API server's webhook backend posts EventLists to.

What a request must be, in the order it is checked:
- the configured path (else 404) and POST (else 405 with `Allow: POST`);
- when a bearer token is configured, `Authorization: Bearer <token>` (else 401), compared in constant time;
- a Content-Type containing `application/json`, in any letter case (else 400);
- a body of at most `max_body_bytes` (else 413; upstream answers 400, but 413 names the cause);
- audit data: JSON holding an EventList, an Event or an array of those (else 400).

Unlike upstream, which answers 200 before parsing and only logs bad bodies, the body is parsed before the
reply: a sender learns that its payload was not JSON or not audit data (400) instead of believing it was
delivered, and a 200 means the events were handed on. Parsing the biggest body allowed takes milliseconds.
"""

from __future__ import annotations

import hmac
import ssl
from collections.abc import Callable

from aiohttp import web

Deliver = Callable[[bytes], "str | None"]  # takes a body; an error text means "refuse with 400"
Count = Callable[[str], None]


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    """A server TLS context from PEM files; the key may sit in the certificate file."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile=cert, keyfile=key or None)
    return context


def bearer_matches(header: str | None, token: str) -> bool:
    """Whether an Authorization header carries exactly this bearer token (the scheme is case-insensitive)."""
    scheme, _, credentials = (header or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(credentials.strip().encode("utf-8", "surrogateescape"), token.encode())


class AuditWebhook:
    """The HTTP(S) endpoint; `start()` listens, `port` is then the bound port, `close()` stops it."""

    def __init__(self, *, path: str, bearer_token: str, max_body_bytes: int, deliver: Deliver,
                 count: Count) -> None:
        self.path = path if path.startswith("/") else "/" + path
        self.bearer_token = bearer_token
        self.max_body_bytes = max_body_bytes
        self.deliver = deliver
        self.count = count
        self.port: int | None = None
        self._runner: web.AppRunner | None = None

    async def start(self, host: str, port: int, context: ssl.SSLContext | None) -> int:
        app = web.Application(client_max_size=self.max_body_bytes)
        # One catch-all route: the handler tells a wrong path (404) from a wrong method (405) itself, and the
        # configured path is compared as text, so characters aiohttp's route syntax reserves mean nothing.
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, ssl_context=context)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self.port

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def handle(self, request: web.Request) -> web.Response:
        self.count("requests")
        refusal = self._check_request(request)
        if refusal is not None:
            return refusal
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._refuse("refused_too_large", 413, "request body too large")
        error = self.deliver(body)
        if error is not None:
            return self._refuse("refused_payload", 400, error)
        self.count("accepted")
        return web.Response(status=200)

    def _check_request(self, request: web.Request) -> web.Response | None:
        if request.path != self.path:
            return self._refuse("refused_path", 404, "not found")
        if request.method != "POST":
            return self._refuse("refused_method", 405, f"{request.method} method not allowed",
                                {"Allow": "POST"})
        if self.bearer_token and not bearer_matches(request.headers.get("Authorization"), self.bearer_token):
            return self._refuse("refused_auth", 401, "unauthorized", {"WWW-Authenticate": "Bearer"})
        if "application/json" not in request.headers.get("Content-Type", "").lower():
            return self._refuse("refused_content_type", 400, "wrong Content Type")
        if request.content_length is not None and request.content_length > self.max_body_bytes:
            return self._refuse("refused_too_large", 413, "request body too large")
        return None

    def _refuse(self, counter: str, status: int, text: str, headers: dict[str, str] | None = None) -> web.Response:
        self.count(counter)
        return web.Response(status=status, text=text + "\n", headers=headers)
