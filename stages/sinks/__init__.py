"""The output sinks by config name: `<name>_output` in the config file selects `SINKS[name]`.

Classes are imported on first use (`load_sink`), so a sensor that writes to stdout does not import boto3 or
slack-sdk. Adding a sink: write `stages/sinks/<name>.py` with a `Sink` subclass (see `base.py` for the
contract: deliver raises `SinkError`, no retries or counters in the sink, no secrets in messages), add it
below, add `<name>_output` to the config schema, and a test against a real local server in tests/outputs/.
"""

from __future__ import annotations

import importlib

from stages.sinks.base import Sink, SinkError, redact, safe_url

# config name -> "module:class"
SINKS: dict[str, str] = {
    "stdout": "stages.sinks.stdout:StdoutSink",
    "file": "stages.sinks.file:FileSink",
    "syslog": "stages.sinks.syslog:SyslogSink",
    "program": "stages.sinks.program:ProgramSink",
    "http": "stages.sinks.http:HttpSink",
    "slack": "stages.sinks.slack:SlackSink",
    "email": "stages.sinks.email:EmailSink",
    "s3": "stages.sinks.s3:S3Sink",
}


def load_sink(name: str) -> type[Sink]:
    """The sink class registered under `name`; KeyError for an unknown name."""
    module_name, class_name = SINKS[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)


__all__ = ["SINKS", "Sink", "SinkError", "load_sink", "redact", "safe_url"]
