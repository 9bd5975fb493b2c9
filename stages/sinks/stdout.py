"""Alerts on standard output, one line each (JSON or text per `json_output`), as Falco's stdout_output."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from stages.alert import Alert
from stages.sinks.base import Sink, SinkError, describe


class StdoutSink(Sink):
    """Writes to `stream` (sys.stdout by default); flushes after each batch unless `buffered_outputs`."""

    name = "stdout"

    def __init__(self, settings: Any, config: Any, stream: TextIO | None = None) -> None:
        super().__init__(settings, config)
        self.stream = stream

    def deliver(self, alerts: list[Alert]) -> None:
        stream = self.stream or sys.stdout
        json_output = self.config.json_output
        try:
            stream.write("".join(alert.render(self.config, json_output=json_output) + "\n" for alert in alerts))
            if not self.config.buffered_outputs:
                stream.flush()
        except (OSError, ValueError) as exc:
            raise SinkError(f"stdout write failed: {describe(exc)}") from None
