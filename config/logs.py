"""Saker's own logs (lifecycle, errors, counters) — never alerts. structlog, configured once per process.

JSON lines on stderr when stderr is not a terminal (what log collectors want); a readable console format on
a terminal. Levels use Falco's names (emergency ... debug), mapped to the standard logging levels.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog

_LEVELS = {
    "emergency": logging.CRITICAL,
    "alert": logging.CRITICAL,
    "critical": logging.CRITICAL,
    "error": logging.ERROR,
    "warning": logging.WARNING,
    "notice": logging.INFO,
    "informational": logging.INFO,
    "info": logging.INFO,
    "debug": logging.DEBUG,
}


def configure(level: str = "info", stream: TextIO | None = None, json: bool | None = None) -> None:
    """Set up structlog for this process; `json=None` picks JSON unless the stream is a TTY."""
    stream = stream or sys.stderr
    if json is None:
        json = not stream.isatty()
    renderer = (
        structlog.processors.JSONRenderer(sort_keys=False)
        if json
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )


def get_logger(component: str) -> structlog.typing.FilteringBoundLogger:
    """A logger whose lines carry `component=<name>` (capture, worker, output...)."""
    return structlog.get_logger().bind(component=component)
