"""The GitHub source's ingestion: a webhook receiver (aiohttp) in the Ingest's thread, with its own event loop.

A delivery is answered as soon as it is verified and parsed (202), stamped with its arrival time; scans that
need GitHub's REST API (push diffs, workflow files) then run concurrently in the background, and a single
deliverer hands the events to the pipeline in arrival order, each once its scan is done or has failed. So a
slow API never makes GitHub's delivery time out, and never reorders events.

Unlike upstream's plugin, the sensor does not create webhooks in GitHub: users add the webhook (URL, content
type, the secret) in the repository's or organization's settings. A sensor then needs no admin token, and
stopping it leaves the hooks as the users configured them.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiohttp
from aiohttp import web

from config.logs import get_logger
from config.schema import GitHubSource, ListenerTls
from stages.plugins.base import Emit
from stages.plugins.github import delivery
from stages.plugins.github.api import ApiError, GitHubApi
from stages.plugins.github.enrich import enrich

log = get_logger("github")

MAX_PENDING = 1000  # deliveries accepted but not yet handed over; beyond, GitHub is asked to retry (503)
STOP_POLL_SECONDS = 0.05
DRAIN_SECONDS = 5.0  # at stop, how long pending scans may still finish before their events go out unscanned

COUNTERS = ("requests", "events", "refused_method", "refused_path", "refused_too_large", "refused_signature",
            "refused_body", "refused_busy", "api_calls", "api_errors", "emit_errors")

_Pending = tuple[int, dict[str, Any], "asyncio.Task[None] | None"]


class GitHubWebhook:
    """Receives GitHub webhook deliveries on `listen_address:listen_port` + `path` (Ingest).

    `port` is the bound port once `ready` is set (useful with listen_port 0). Raises ValueError at
    construction when the section cannot work (no secret, a path without a leading slash, a token with an
    api_url that is no http(s) URL), and OSError or ssl.SSLError for unreadable TLS files.
    """

    def __init__(self, section: GitHubSource) -> None:
        if not section.secret:
            raise ValueError("sources.github.secret is empty: set it to the secret entered in the GitHub "
                             "webhook's settings (e.g. secret: ${GITHUB_WEBHOOK_SECRET}); unsigned deliveries "
                             "are never accepted")
        if not section.path.startswith("/"):
            raise ValueError(f"sources.github.path must start with '/': {section.path!r}")
        if section.token and not section.api_url.startswith(("https://", "http://")):
            raise ValueError(f"sources.github.api_url must be an http(s):// URL: {section.api_url!r}")
        if section.token and section.api_url.startswith("http://"):
            log.warning("github api_url is plain http: the API token travels in clear", api_url=section.api_url)
        self.section = section
        self.port: int | None = None
        self.ready = threading.Event()
        self._secret = section.secret.encode()
        self._ssl = _ssl_context(section.tls)
        self._api = GitHubApi(section.api_url, section.token) if section.token else None
        self._counts = dict.fromkeys(COUNTERS, 0)
        self._pending: asyncio.Queue[_Pending | None] | None = None
        self._scans: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    def counters(self) -> dict[str, int]:
        counts = dict(self._counts)
        counts["api_calls"] = self._api.calls if self._api else 0
        return counts

    def run(self, emit: Emit, stop: threading.Event) -> None:
        """Serve until `stop` is set, then hand over what was accepted and return. A port that cannot be bound
        raises OSError (a start-up error), with `ready` left unset."""
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._serve(emit, stop))
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())  # the API client's resolver threads
            loop.close()

    # ---- serving ----------------------------------------------------------------------------------------

    async def _serve(self, emit: Emit, stop: threading.Event) -> None:
        app = web.Application(client_max_size=self.section.max_body_bytes)
        app.router.add_route("*", self.section.path, self._receive)
        app.router.add_route("*", "/{tail:.*}", self._unknown_path)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.section.listen_address, self.section.listen_port,
                               ssl_context=self._ssl)
            await site.start()
            self.port = runner.addresses[0][1]
            await self._deliver_until(stop, emit, runner)
        finally:
            await runner.cleanup()

    async def _deliver_until(self, stop: threading.Event, emit: Emit, runner: web.AppRunner) -> None:
        self._pending = asyncio.Queue()  # bounded by MAX_PENDING at the door; the stop marker always fits
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="saker-github-emit")
        self._session = self._api.session() if self._api else None
        deliverer = asyncio.create_task(self._deliver(emit, executor))
        log.info("github webhook listening", address=self.section.listen_address, port=self.port,
                 path=self.section.path, tls=self._ssl is not None, api_scans=self._api is not None)
        self.ready.set()
        drained = False
        try:
            while not stop.is_set():
                await asyncio.sleep(STOP_POLL_SECONDS)
            await runner.cleanup()  # no new deliveries; accepted ones still go out
            await self._pending.put(None)
            drained = await self._drain(deliverer)
        finally:
            if self._session is not None:
                await self._session.close()
            executor.shutdown(wait=drained, cancel_futures=True)

    async def _drain(self, deliverer: asyncio.Task[None]) -> bool:
        """Let pending scans finish for a while, then cancel them (their events go out unscanned)."""
        done, _ = await asyncio.wait({deliverer}, timeout=DRAIN_SECONDS)
        if not done:
            for scan in list(self._scans):
                scan.cancel()
            done, _ = await asyncio.wait({deliverer}, timeout=DRAIN_SECONDS)
        if not done:  # emit itself is stuck: give up on what is left
            deliverer.cancel()
            log.warning("github events not handed over at stop", pending=self._pending.qsize())
            return False
        return True

    async def _deliver(self, emit: Emit, executor: ThreadPoolExecutor) -> None:
        """Hand accepted deliveries over in arrival order, each after its scan (emit may block: a thread)."""
        loop = asyncio.get_running_loop()
        while (item := await self._pending.get()) is not None:
            arrival, doc, scan = item
            if scan is not None:
                await asyncio.wait({scan})
            payload = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
            try:
                await loop.run_in_executor(executor, emit, [(arrival, payload)])
                self._counts["events"] += 1
            except Exception:  # the pipeline's failure must not end the source
                self._counts["emit_errors"] += 1
                log.exception("github event could not be handed over")

    # ---- requests ---------------------------------------------------------------------------------------

    async def _receive(self, request: web.Request) -> web.Response:
        self._counts["requests"] += 1
        if request.method != "POST":
            return self._refuse("refused_method", 405, "only POST is accepted", request, headers={"Allow": "POST"})
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._refuse("refused_too_large", 413, f"body over {self.section.max_body_bytes} bytes", request)
        problem = delivery.signature_problem(self._secret, body, request.headers)
        if problem is not None:
            return self._refuse("refused_signature", 401, problem, request)
        try:
            event_type = delivery.event_type(request.headers)
            doc = delivery.document(request.content_type, body)
        except delivery.BadDelivery as err:
            return self._refuse("refused_body", err.status, str(err), request)
        arrival = time.time_ns()
        if self._pending is None or self._pending.qsize() >= MAX_PENDING:
            return self._refuse("refused_busy", 503, "too many deliveries waiting", request)
        doc["webhook_type"] = event_type
        self._pending.put_nowait((arrival, doc, self._start_scan(event_type, doc)))
        return web.json_response({"accepted": event_type}, status=202)

    async def _unknown_path(self, request: web.Request) -> web.Response:
        self._counts["requests"] += 1
        return self._refuse("refused_path", 404, "not the webhook path", request)

    def _refuse(self, counter: str, status: int, reason: str, request: web.Request,
                headers: dict[str, str] | None = None) -> web.Response:
        self._counts[counter] += 1
        log.warning("github delivery refused", status=status, reason=reason, remote=request.remote,
                    method=request.method, path=request.path,
                    delivery=request.headers.get("X-GitHub-Delivery"))
        return web.json_response({"error": reason}, status=status, headers=headers)

    # ---- scans ------------------------------------------------------------------------------------------

    def _start_scan(self, event_type: str, doc: dict[str, Any]) -> asyncio.Task[None] | None:
        if self._api is None or self._session is None or event_type not in ("push", "workflow_run"):
            return None
        scan = asyncio.create_task(self._scan(event_type, doc))
        self._scans.add(scan)
        scan.add_done_callback(self._scans.discard)
        return scan

    async def _scan(self, event_type: str, doc: dict[str, Any]) -> None:
        """Enrich the delivery; whatever goes wrong, the event still goes out, without the scan's key."""
        assert self._api is not None and self._session is not None
        try:
            await enrich(self._api, self._session, event_type, doc)
        except ApiError as err:
            self._counts["api_errors"] += 1
            log.warning("github api call failed; event goes out unscanned", event_type=event_type, error=str(err))
        except Exception:  # a bug in a scan must not lose the delivery
            self._counts["api_errors"] += 1
            log.exception("github scan failed; event goes out unscanned", event_type=event_type)


def _ssl_context(tls: ListenerTls) -> ssl.SSLContext | None:
    if not tls.cert:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls.cert, tls.key or None)
    return context
