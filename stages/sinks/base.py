"""What every sink is: `deliver(alerts)` that raises on failure, `close()`, and how it likes its batches.

A sink knows one destination and nothing about retries, rate limits, routing or counters: the router
(`stages.output`) does those once for all sinks. A sink is built from its config section without any I/O
(connections open on the first delivery), is only ever called from its output's own thread, and must keep
secrets (passwords, tokens, webhook URLs, signed URLs) out of every exception message and log line: wrap
library errors with `SinkError(..., secrets=...)` raised `from None`.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Iterable
from urllib.parse import urlsplit

from stages.alert import Alert


class SinkError(Exception):
    """A delivery that failed. `delivered` = how many alerts at the start of the batch did reach the
    destination before the failure (they are not sent again)."""

    def __init__(self, message: str, *, delivered: int = 0, secrets: Iterable[str] = ()) -> None:
        self.delivered = delivered
        super().__init__(redact(message, secrets))


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every non-empty secret (and its URL-quoted form) replaced by `***`."""
    from urllib.parse import quote

    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        for form in {secret, quote(secret, safe=""), quote(secret)}:
            text = text.replace(form, "***")
    return text


def safe_url(url: str) -> str:
    """scheme://host:port of a URL: what may be logged of it (paths, queries and user info can hold tokens)."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname or ''}{port}"
    except ValueError:
        return "<invalid url>"


def describe(exc: BaseException) -> str:
    """A one-line account of a library exception: its type and message, whitespace squeezed."""
    return re.sub(r"\s+", " ", f"{type(exc).__name__}: {exc}").strip()


class Sink:
    """Base class: subclasses set `name` and implement `deliver`; they may override the rest."""

    name: ClassVar[str] = ""

    def __init__(self, settings: Any, config: Any) -> None:
        """`settings` is the output's config section, `config` the whole config (json_output, json_include_*,
        time_format_iso_8601, buffered_outputs)."""
        self.settings = settings
        self.config = config

    def deliver(self, alerts: list[Alert]) -> None:
        """Hand every alert to the destination, in order; raise SinkError when one could not be."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections, files and processes. The sink is not used afterwards."""

    def reopen(self) -> None:
        """Drop open files/processes/connections so the next delivery opens them anew (SIGUSR1)."""

    def batching(self) -> tuple[int, float]:
        """(most alerts per `deliver` call, seconds worth waiting to fill a batch). 0 s = send what is there."""
        return int(getattr(self.settings, "batch_size", 256)), 0.0

    def secrets(self) -> tuple[str, ...]:
        """Values that must never be printed (the router redacts them from anything it logs)."""
        return ()
