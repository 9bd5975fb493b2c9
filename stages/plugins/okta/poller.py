"""Polling the Okta System Log API (`GET /api/v1/logs`) so that every event is delivered once, in order.

Okta's documented way to follow the log: ask once with `since` and `sortOrder=ASCENDING`, then keep following
the `Link: <...>; rel="next"` URL of each page (it carries an `after` cursor). A page that comes back empty
means the poll has caught up; its next link is where the next poll starts. The last next link is therefore
the whole cursor: no event is skipped or delivered twice across pages and polls (upstream moved `since` to
the last event's second + 1 s and dropped events sharing that second).

Rate limits: a 429 is retried after the time in `X-Rate-Limit-Reset` (epoch seconds), or after an
exponential backoff without one. Any other failure (HTTP status, network, malformed body) is logged and
counted and the same URL is tried again at the next interval, so nothing is lost.

A next link to another origin is refused: following it would send the API token elsewhere. Should a server
send no next link at all (a proxy dropping headers), the poller falls back to a `since` query at the last
event's exact time and drops the events it already delivered at that instant (by `uuid`).

HTTP client: aiohttp, on a private event loop in the ingest thread, so setting `stop` cancels even a request
in flight.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from calendar import timegm
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import aiohttp
from yarl import URL

from config.logs import get_logger
from stages.plugins.base import Emit

if TYPE_CHECKING:
    from config.schema import OktaSource

LOGS_PATH = "/api/v1/logs"
REQUEST_TIMEOUT_S = 30.0
MAX_BACKOFF_S = 300.0
RESET_MARGIN_S = 0.1  # X-Rate-Limit-Reset has whole seconds: retry just after the new window opens
NS = 1_000_000_000

_ORGANIZATION = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})")

COUNTERS = ("requests", "pages", "events", "rate_limited", "errors", "bad_events", "duplicates", "no_next_link")


def published_ns(text: Any) -> int | None:
    """An RFC 3339 time (`2024-05-01T12:00:00.123Z`) in ns since the epoch; None when it is not one."""
    match = _RFC3339.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, offset = match.group(7) or "", match.group(8)
    try:
        seconds = timegm(datetime(year, month, day, hour, minute, second).timetuple())
    except ValueError:
        return None
    if offset not in ("Z", "z"):
        sign = 1 if offset[0] == "+" else -1
        seconds -= sign * (int(offset[1:3]) * 3600 + int(offset[4:6]) * 60)
    return seconds * NS + int(fraction.ljust(9, "0"))


def rfc3339(time_ns: int) -> str:
    """A time as RFC 3339 UTC with milliseconds, as Okta writes `published`."""
    moment = datetime.fromtimestamp(time_ns // NS, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{time_ns % NS // 1_000_000:03d}Z"


def base_url(section: OktaSource) -> str:
    """The API's base URL: `api_url`, else https://<organization>.okta.com. ValueError when neither is usable."""
    if section.api_url:
        url = URL(section.api_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"okta: api_url must be an http(s) URL, got {section.api_url!r}")
        return str(url).rstrip("/")
    if not _ORGANIZATION.fullmatch(section.organization):
        raise ValueError("okta: set organization (the <organization>.okta.com subdomain) or api_url")
    return f"https://{section.organization}.okta.com"


class OktaPoller:
    """The `okta` source's Ingest: polls the System Log every `refresh_interval` seconds."""

    def __init__(self, section: OktaSource, *, backoff_base: float = 1.0,
                 clock: Callable[[], float] = time.time) -> None:
        if not section.api_token:
            raise ValueError("okta: api_token is required (write ${OKTA_API_TOKEN})")
        self.base_url = base_url(section)
        self.api_token = section.api_token
        self.refresh_interval = section.refresh_interval
        self.page_limit = section.page_limit
        self.lookback_seconds = section.lookback_seconds
        self.backoff_base = backoff_base
        self.clock = clock
        self.cursor: str | None = None  # the URL the next poll starts from: the last page's next link
        self._edge_ns = -1  # time of the newest delivered event, and the uuids delivered at that instant
        self._edge_uuids: set[str] = set()
        self._counts = dict.fromkeys(COUNTERS, 0)
        self.log = get_logger("okta")
        if URL(self.base_url).scheme == "http":
            self.log.warning("okta api_url is plain HTTP: the API token travels unencrypted", url=self.base_url)

    def counters(self) -> dict[str, int]:
        return dict(self._counts)

    def run(self, emit: Emit, stop: threading.Event) -> None:
        """Poll until `stop` is set; a request in flight or a wait is cancelled at once."""
        asyncio.run(self._run_until_stopped(emit, stop))

    async def _run_until_stopped(self, emit: Emit, stop: threading.Event) -> None:
        loop = asyncio.get_running_loop()
        stopped = loop.run_in_executor(None, stop.wait)  # ends when stop is set, so the executor joins cleanly
        polling = asyncio.ensure_future(self._poll_forever(emit))
        await asyncio.wait({stopped, polling}, return_when=asyncio.FIRST_COMPLETED)
        polling.cancel()
        try:
            await polling
        except asyncio.CancelledError:
            pass
        except Exception as error:  # noqa: BLE001 - reported, and the source ends with stop as promised
            self._failed("okta poller ended", error=repr(error))
        await stopped

    async def _poll_forever(self, emit: Emit) -> None:
        loop = asyncio.get_running_loop()
        headers = {"Authorization": f"SSWS {self.api_token}", "Accept": "application/json"}
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
            while True:
                started = loop.time()
                try:
                    await self._poll(session, emit)
                except Exception as error:  # noqa: BLE001 - one broken poll must not end the source
                    self._failed("okta poll failed", error=repr(error))
                await asyncio.sleep(max(0.0, self.refresh_interval - (loop.time() - started)))

    # ---- one poll ------------------------------------------------------------------------------------------

    async def _poll(self, session: aiohttp.ClientSession, emit: Emit) -> None:
        """Follow next links from the cursor until a page is empty (caught up) or a request fails."""
        if self.cursor is None:  # fixed once, so a failing first request does not let `since` slide
            self.cursor = self._since_url(int(self.clock() * NS) - int(self.lookback_seconds * NS))
        url = self.cursor
        while True:
            page = await self._fetch(session, url)
            if page is None:
                return  # failed: the cursor stays, the same URL is tried at the next interval
            entries, next_url = page
            self._deliver(entries, emit)
            if next_url is None:
                self._count("no_next_link")
                self.log.warning("okta page without a next link; continuing from the last event's time")
                if self._edge_ns >= 0:
                    self.cursor = self._since_url(self._edge_ns)
                return
            self.cursor = url = next_url
            if not entries:
                return

    def _since_url(self, since_ns: int) -> str:
        query = {"since": rfc3339(since_ns), "limit": str(self.page_limit), "sortOrder": "ASCENDING"}
        return str(URL(self.base_url + LOGS_PATH).with_query(query))

    async def _fetch(self, session: aiohttp.ClientSession, url: str) -> tuple[list[Any], str | None] | None:
        """One page: its entries and next link; retried on 429; None after logging any other failure."""
        attempt = 0
        while True:
            self._count("requests")
            try:
                async with session.get(URL(url, encoded=True), allow_redirects=False) as response:
                    if response.status == 429:
                        delay = self._rate_limit_delay(response.headers.get("X-Rate-Limit-Reset"), attempt)
                        self._count("rate_limited")
                        self.log.warning("okta rate limit reached", retry_in_seconds=round(delay, 3))
                    elif response.status != 200:
                        return self._failed("okta request refused", status=response.status,
                                            body=(await response.text(errors="replace"))[:200])
                    else:
                        body = await response.read()
                        next_link = response.links.get("next")
                        next_url = str(next_link["url"]) if next_link is not None else None
                        return self._page(body, next_url)
            except (TimeoutError, aiohttp.ClientError) as error:
                return self._failed("okta request failed", error=repr(error))
            await asyncio.sleep(delay)
            attempt += 1

    def _rate_limit_delay(self, reset: str | None, attempt: int) -> float:
        """Seconds until the rate limit window resets, else an exponential backoff; at most MAX_BACKOFF_S."""
        try:
            until_reset = float(reset) - self.clock() if reset is not None else 0.0
        except ValueError:
            until_reset = 0.0
        delay = until_reset + RESET_MARGIN_S if until_reset > 0 else self.backoff_base * 2 ** attempt
        return min(delay, MAX_BACKOFF_S)

    def _page(self, body: bytes, next_url: str | None) -> tuple[list[Any], str | None] | None:
        try:
            entries = json.loads(body)
        except ValueError as error:
            return self._failed("okta page is not JSON", error=str(error))
        if not isinstance(entries, list):
            return self._failed("okta page is not a JSON array", kind=type(entries).__name__)
        if next_url is not None and URL(next_url).origin() != URL(self.base_url).origin():
            return self._failed("okta next link points to another origin; not following it", next_url=next_url)
        self._count("pages")
        return entries, next_url

    def _failed(self, message: str, **details: Any) -> None:
        """Log and count a failed request or page; returns None, the failed page, for the caller to return."""
        self._count("errors")
        self.log.error(message, **details)

    # ---- delivery ------------------------------------------------------------------------------------------

    def _deliver(self, entries: list[Any], emit: Emit) -> None:
        """Hand a page's events over in order as (published in ns, the event's JSON)."""
        chunk = []
        for entry in entries:
            if not isinstance(entry, dict):
                self._count("bad_events")
                self.log.warning("okta log entry is not an object", kind=type(entry).__name__)
                continue
            time_ns = published_ns(entry.get("published"))
            if time_ns is None:
                # Delivered all the same (a security event matters more than its stamp), at the time it came.
                self._count("bad_events")
                self.log.warning("okta event without a valid published time", uuid=entry.get("uuid"))
                time_ns = int(self.clock() * NS)
            elif self._already_delivered(time_ns, entry.get("uuid")):
                self._count("duplicates")
                continue
            chunk.append((time_ns, json.dumps(entry, separators=(",", ":"), ensure_ascii=False).encode()))
        if chunk:
            self._counts["events"] += len(chunk)
            emit(chunk)

    def _already_delivered(self, time_ns: int, uuid: Any) -> bool:
        """Whether this event went out before: it has the newest delivered instant and a uuid seen at it.

        Only the `since` fallback (a server sending no next links) can return such an event again.
        """
        if time_ns > self._edge_ns:
            self._edge_ns, self._edge_uuids = time_ns, set()
        elif time_ns < self._edge_ns:
            return False
        if not isinstance(uuid, str):
            return False
        if uuid in self._edge_uuids:
            return True
        self._edge_uuids.add(uuid)
        return False

    def _count(self, name: str) -> None:
        self._counts[name] += 1
