"""The Okta poller against a local System Log API (aiohttp on loopback): paging, cursor, rate limits, errors.

The fake server keeps a log of SYNTHETIC events (tests/plugins/okta_synthetic.py) and answers
`GET /api/v1/logs` the way Okta documents polling: `since` (inclusive) or an `after` cursor, `limit`,
ascending order, and a `Link: <...>; rel="next"` header on every page, also on an empty one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Self

import pytest
from aiohttp import web

from config.schema import OktaSource
from stages.plugins.okta.poller import OktaPoller, base_url, published_ns, rfc3339
from tests.plugins.okta_synthetic import log_event

TOKEN = "synthetic-token-0001"
NS = 1_000_000_000
DEADLINE_S = 10.0


@pytest.fixture(autouse=True)
def no_leftover_threads() -> Iterator[None]:
    """Every test stops and joins what it started: the poller, its executor thread and the fake server."""
    before = set(threading.enumerate())
    yield
    assert set(threading.enumerate()) - before == set()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


class FakeOkta:
    """Okta's System Log API as far as the poller uses it, in a thread with its own event loop."""

    def __init__(self, *, links: bool = True) -> None:
        self.links = links
        self.lock = threading.Lock()
        self.log: list[dict] = []  # the events, ascending by published
        self.requests: list[dict] = []  # every request: time, query, status
        self.throttle: dict[int, str | None] = {}  # request number -> X-Rate-Limit-Reset (None: no header)
        self.fail: dict[int, tuple[int, bytes]] = {}  # request number -> (status, body)
        self.next_origin = ""  # set to make next links point to another origin
        self.hang = False
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="fake-okta")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add(self, *docs: dict) -> None:
        with self.lock:
            self.log.extend(docs)

    def statuses(self) -> list[int]:
        with self.lock:
            return [r["status"] for r in self.requests]

    # ---- serving ---------------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self._thread.start()
        assert self._ready.wait(DEADLINE_S)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._stopping is not None
        self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(DEADLINE_S)
        assert not self._thread.is_alive()

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._main())
        finally:
            self._loop.close()

    async def _main(self) -> None:
        self._stopping = asyncio.Event()
        app = web.Application()
        app.router.add_get("/api/v1/logs", self._logs)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = runner.addresses[0][1]
        self._ready.set()
        await self._stopping.wait()
        await runner.cleanup()

    async def _logs(self, request: web.Request) -> web.StreamResponse:
        if self.hang:
            await self._stopping.wait()
        with self.lock:
            number = len(self.requests)
            record = {"time": time.time(), "query": dict(request.query), "status": 200}
            self.requests.append(record)
            response = self._answer(request, number)
            record["status"] = response.status
        return response

    def _answer(self, request: web.Request, number: int) -> web.Response:
        if request.headers.get("Authorization") != f"SSWS {TOKEN}" or request.headers.get("Accept") != \
                "application/json":
            return web.json_response({"errorCode": "E0000011", "errorSummary": "Invalid token provided"},
                                     status=401)
        if number in self.throttle:
            reset = self.throttle[number]
            return web.json_response({"errorCode": "E0000047"}, status=429,
                                     headers={} if reset is None else {"X-Rate-Limit-Reset": reset})
        if number in self.fail:
            status, body = self.fail[number]
            return web.Response(status=status, body=body, content_type="application/json")
        query = request.query
        limit = int(query["limit"])
        if "after" in query and self.links:
            start = int(query["after"])
        else:
            since = published_ns(query["since"])
            start = next((i for i, e in enumerate(self.log) if published_ns(e["published"]) >= since), len(self.log))
        page = self.log[start:start + limit]
        headers = {}
        if self.links:
            origin = self.next_origin or self.url
            after = f"{origin}/api/v1/logs?limit={limit}&after={start + len(page)}&sortOrder=ASCENDING"
            headers["Link"] = f'<{request.url}>; rel="self", <{after}>; rel="next"'
        return web.json_response(page, headers=headers)


@contextlib.contextmanager
def polling(poller: OktaPoller) -> Iterator[list[tuple[int, bytes]]]:
    """Run the poller in a thread; yields the list its emit fills; always stops and joins it."""
    delivered: list[tuple[int, bytes]] = []
    stop = threading.Event()
    thread = threading.Thread(target=poller.run, args=(delivered.extend, stop), name="okta-poller")
    thread.start()
    try:
        yield delivered
    finally:
        stop.set()
        thread.join(DEADLINE_S)
        assert not thread.is_alive()


def make_poller(server: FakeOkta, *, token: str = TOKEN, page_limit: int = 3, **options: Any) -> OktaPoller:
    section = OktaSource(enabled=True, api_url=server.url, api_token=token, refresh_interval=0.05,
                         page_limit=page_limit, lookback_seconds=30)
    return OktaPoller(section, **options)


def recent(count: int, *, start_s: float = -20.0, step_ms: int = 1, prefix: str = "e") -> list[dict]:
    """`count` synthetic events published from `start_s` seconds from now on, `step_ms` apart."""
    now_ns = time.time_ns()
    docs = []
    for i in range(count):
        doc = log_event("user.session.start", uuid=f"{prefix}{i}")
        doc["published"] = rfc3339(now_ns + int(start_s * NS) + i * step_ms * 1_000_000)
        docs.append(doc)
    return docs


def uuids(delivered: list[tuple[int, bytes]]) -> list[str]:
    return [json.loads(p)["uuid"] for _, p in delivered]


class TestPaging:
    def test_pages_rate_limit_and_new_events_arrive_once_in_order(self) -> None:
        """Linked pages, a 429 with X-Rate-Limit-Reset and events added between polls: each emitted once."""
        with FakeOkta() as server:
            old = log_event("user.session.start", uuid="too-old")
            old["published"] = rfc3339(time.time_ns() - 3600 * NS)  # before the 30 s lookback
            first = recent(7)
            server.add(old, *first)
            reset = int(time.time()) + 1
            server.throttle[1] = str(reset)  # the second request is refused until the next second
            poller = make_poller(server)
            started = time.time()
            with polling(poller) as delivered:
                wait_for(lambda: len(delivered) == 7 and server.statuses().count(200) >= 4, "the first events")
                # Events arriving later, two sharing one millisecond with each other and one with the
                # last delivered event (upstream's whole-second `since` dropped such events).
                later = recent(4, start_s=-5, step_ms=0, prefix="late")
                later[0]["published"] = first[-1]["published"]
                server.add(*later)
                wait_for(lambda: len(delivered) == 11, "the later events")
                polls_before = len(server.requests)
                wait_for(lambda: len(server.requests) >= polls_before + 3, "three more idle polls")
            assert uuids(delivered) == [f"e{i}" for i in range(7)] + [f"late{i}" for i in range(4)]
            expected = first + later
            assert [json.loads(p) for _, p in delivered] == expected
            assert [t for t, _ in delivered] == [published_ns(d["published"]) for d in expected]

            requests = server.requests
            assert 401 not in server.statuses()
            assert requests[0]["query"]["limit"] == "3" and requests[0]["query"]["sortOrder"] == "ASCENDING"
            since_s = published_ns(requests[0]["query"]["since"]) / NS
            assert started - 30 - 1 <= since_s <= started - 30 + 1
            assert requests[1]["status"] == 429
            assert requests[2]["time"] >= reset  # retried once the rate-limit window reset
            assert requests[2]["query"] == requests[1]["query"]
            assert all("after" in r["query"] for r in requests[1:])
            counters = poller.counters()
            assert counters["events"] == 11
            assert counters["rate_limited"] == 1
            assert counters["errors"] == counters["duplicates"] == counters["bad_events"] == 0
            assert counters["requests"] == len(requests)

    def test_exponential_backoff_without_reset_header(self) -> None:
        """429 without X-Rate-Limit-Reset: retried after backoff_base, then twice that."""
        with FakeOkta() as server:
            server.add(*recent(2))
            server.throttle.update({0: None, 1: None})
            with polling(make_poller(server, backoff_base=0.2)) as delivered:
                wait_for(lambda: len(delivered) == 2, "the events")
            times = [r["time"] for r in server.requests[:3]]
            assert times[1] - times[0] >= 0.2 - 0.01
            assert times[2] - times[1] >= 0.4 - 0.01
            assert uuids(delivered) == ["e0", "e1"]

    def test_cursor_is_kept_after_failures(self) -> None:
        """A 500 and a page that is not JSON are counted; the same page is fetched again, nothing repeats."""
        with FakeOkta() as server:
            server.add(*recent(5))
            server.fail.update({1: (500, b'{"errorCode":"E0000009"}'), 2: (200, b"<html>proxy</html>")})
            poller = make_poller(server)
            with polling(poller) as delivered:
                wait_for(lambda: len(delivered) == 5 and len(server.requests) >= 6, "the events")
            assert uuids(delivered) == [f"e{i}" for i in range(5)]
            assert server.requests[3]["query"] == server.requests[1]["query"]  # the failed page, asked again
            assert poller.counters()["errors"] == 2

    def test_bad_entries_are_counted(self) -> None:
        """A non-object entry is dropped; an event without a valid published time comes at the poll time."""
        with FakeOkta() as server:
            good, undated = recent(2)
            undated["published"] = "yesterday"
            server.add(good, "not an event", undated)
            poller = make_poller(server, page_limit=10, clock=lambda: 1_800_000_000.5)
            poller.cursor = f"{server.url}/api/v1/logs?limit=10&after=0&sortOrder=ASCENDING"
            with polling(poller) as delivered:
                wait_for(lambda: len(delivered) == 2, "the events")
            assert [t for t, _ in delivered] == [published_ns(good["published"]), 1_800_000_000_500_000_000]
            assert poller.counters()["bad_events"] == 2


class TestRefusals:
    def test_wrong_token_is_counted_and_retried(self) -> None:
        """A 401 delivers nothing and is counted; the poller keeps trying at each interval."""
        with FakeOkta() as server:
            server.add(*recent(2))
            poller = make_poller(server, token="wrong-token")
            with polling(poller) as delivered:
                wait_for(lambda: server.statuses().count(401) >= 3, "three refused polls")
            assert delivered == []
            assert poller.counters()["errors"] >= 3

    def test_next_link_to_another_origin_is_not_followed(self) -> None:
        """A next link elsewhere would receive the API token: the page is refused and nothing is emitted."""
        with FakeOkta() as server:
            server.add(*recent(2))
            server.next_origin = "http://127.0.0.2:9"
            poller = make_poller(server)
            with polling(poller) as delivered:
                wait_for(lambda: poller.counters()["errors"] >= 2, "two refused pages")
            assert delivered == []
            assert all("after" not in r["query"] for r in server.requests)


class TestWithoutNextLinks:
    def test_since_fallback_delivers_each_event_once(self) -> None:
        """Without Link headers the poller continues from the last event's time, skipping what it sent."""
        with FakeOkta(links=False) as server:
            first = recent(3, step_ms=0)  # all in one millisecond
            server.add(*first)
            poller = make_poller(server, page_limit=10)
            with polling(poller) as delivered:
                wait_for(lambda: len(delivered) == 3 and len(server.requests) >= 3, "the first events")
                later = recent(2, start_s=-1, prefix="late")
                later[0]["published"] = first[-1]["published"]  # same instant as the delivered ones
                server.add(*later)
                wait_for(lambda: len(delivered) == 5, "the later events")
                count = len(server.requests)
                wait_for(lambda: len(server.requests) >= count + 2, "two more polls")
            assert uuids(delivered) == ["e0", "e1", "e2", "late0", "late1"]
            assert server.requests[1]["query"]["since"] == first[-1]["published"]
            assert poller.counters()["duplicates"] >= 3


class TestStop:
    def test_stop_cancels_a_request_in_flight(self) -> None:
        """Setting stop ends the poller at once, even while a request hangs."""
        with FakeOkta() as server:
            server.hang = True
            stop = threading.Event()
            poller = make_poller(server)
            thread = threading.Thread(target=poller.run, args=(lambda chunk: None, stop))
            thread.start()
            wait_for(lambda: poller.counters()["requests"] == 1, "the request")
            stopped_at = time.monotonic()
            stop.set()
            thread.join(DEADLINE_S)
            assert not thread.is_alive()
            assert time.monotonic() - stopped_at < 2.0

    def test_stop_interrupts_the_wait_between_polls(self) -> None:
        """With an hour between polls, stop still ends the poller at once."""
        with FakeOkta() as server:
            section = OktaSource(api_url=server.url, api_token=TOKEN, refresh_interval=3600)
            poller = OktaPoller(section)
            with polling(poller):
                wait_for(lambda: len(server.requests) == 1, "the first poll")
                stopped_at = time.monotonic()
            assert time.monotonic() - stopped_at < 2.0


class TestConfiguration:
    def test_base_url(self) -> None:
        """The organization gives https://<org>.okta.com; api_url wins and loses a trailing slash."""
        assert base_url(OktaSource(organization="acme")) == "https://acme.okta.com"
        assert base_url(OktaSource(organization="acme", api_url="http://127.0.0.1:8080/")) == "http://127.0.0.1:8080"

    @pytest.mark.parametrize(("section", "message"), [
        ({"api_token": "t"}, "set organization"),
        ({"api_token": "t", "organization": "evil.com/x?"}, "set organization"),
        ({"api_token": "t", "api_url": "ftp://okta.example"}, "http(s) URL"),
        ({"organization": "acme"}, "api_token is required"),
    ])
    def test_incomplete_configuration_is_refused(self, section: dict, message: str) -> None:
        """Without a usable organization or api_url, or without a token, the source does not start."""
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
            OktaPoller(OktaSource(**section))
