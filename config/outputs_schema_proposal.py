"""Proposed config keys for the output router (helper "outputs"), to merge into config/schema.py.

Every output section gains the same delivery keys (routing, rate limit, retry, dedup, batching, queue), the
Slack section gains `api_url` (the Web API base, for S3-style compatible endpoints and for tests), the e-mail
section `digest_seconds`, `timeout` and `ca_cert`, the syslog section `app_name` and a checked `facility`, the HTTP section `timeout`, and a new top-level
`outputs_spool` section holds the durable on-disk spool settings. Models subclass the lead's ones, so the
existing keys and defaults are unchanged; `stages.output` reads only these names.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from config import schema
from config.schema import Section


class RoutingList(Section):
    """Patterns for one alert attribute; `*` matches any run of characters. Empty include = everything."""

    include: list[str] = []
    exclude: list[str] = []


class Routing(Section):
    """Which alerts an output takes, by rule name, tag and source. An alert goes to the output when, for each
    attribute with an include list, it matches one of its patterns, and it matches no exclude pattern.
    A tag pattern matches when any of the alert's tags matches it."""

    rules: RoutingList = RoutingList()
    tags: RoutingList = RoutingList()
    sources: RoutingList = RoutingList()


class RateLimit(Section):
    """Token bucket per output: `rate` alerts per second on average, bursts of `burst`. rate 0 = no limit.
    Suppressed alerts are counted and reported by one alert "N alerts suppressed by rate limit for <output>"."""

    rate: float = Field(0.0, ge=0)
    burst: int = Field(0, ge=0, description="bucket size; 0 = max(1, rate)")


class Retry(Section):
    """Exponential backoff between delivery attempts of a failed batch: initial * multiplier**n, capped at
    `max_seconds`, each wait scaled by a random factor in [1 - jitter, 1 + jitter]. Attempts never stop while
    the alerts are in the spool; they stop at shutdown (the spool keeps them for the next start)."""

    initial_seconds: float = Field(0.5, gt=0)
    max_seconds: float = Field(30.0, gt=0)
    multiplier: float = Field(2.0, ge=1)
    jitter: float = Field(0.2, ge=0, le=1)


class Delivery(Section):
    """Keys shared by every output section (mixed into each one below)."""

    routing: Routing = Routing()
    rate_limit: RateLimit = RateLimit()
    retry: Retry = Retry()
    dedup_seconds: float = Field(0.0, ge=0, description="collapse identical (rule, output_fields) alerts "
                                 "seen within this window into one carrying the count; 0 = off")
    queue_capacity: int = Field(10000, ge=1, description="alerts held in memory for this output; the excess "
                                "goes to the spool")
    batch_size: int = Field(256, ge=1, description="most alerts handed to the destination in one delivery")


class StdoutOutput(schema.StdoutOutput, Delivery):
    pass


class FileOutput(schema.FileOutput, Delivery):
    pass


SyslogFacility = Literal["kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
                         "authpriv", "ftp", "local0", "local1", "local2", "local3", "local4", "local5", "local6",
                         "local7"]


class SyslogOutput(schema.SyslogOutput, Delivery):
    facility: SyslogFacility = "user"
    app_name: str = "saker"


class ProgramOutput(schema.ProgramOutput, Delivery):
    pass


class HttpOutput(schema.HttpOutput, Delivery):
    timeout: float = Field(10.0, gt=0, description="seconds for one POST (connect + response)")


class SlackOutput(schema.SlackOutput, Delivery):
    api_url: str = Field("https://slack.com/api/", description="Web API base used with `token`")


class EmailOutput(schema.EmailOutput, Delivery):
    digest_seconds: float = Field(60.0, gt=0, description="longest wait to fill a digest of `digest` alerts")
    timeout: float = Field(30.0, gt=0)
    ca_cert: str = Field("", description="extra CA file trusted for the server certificate (private relays)")


class S3Output(schema.S3Output, Delivery):
    pass


class OutputsSpool(Section):
    """Durable per-output spool: alerts a destination could not take wait here, across restarts.
    `dir` empty = keep them in memory only (lost on restart). `max_bytes` caps each output's spool; alerts
    past it are dropped and counted (`spool_overflow`). fsync: after every write (`always`), at most once
    per `fsync_seconds` (`interval`), or left to the OS (`never`)."""

    dir: str = ""
    max_bytes: int = Field(256 << 20, ge=4096)
    segment_bytes: int = Field(16 << 20, ge=4096)
    fsync: Literal["always", "interval", "never"] = "interval"
    fsync_seconds: float = Field(1.0, gt=0)


class Config(schema.Config):
    """The whole configuration file with the output keys above."""

    stdout_output: StdoutOutput = StdoutOutput()
    file_output: FileOutput = FileOutput()
    syslog_output: SyslogOutput = SyslogOutput()
    program_output: ProgramOutput = ProgramOutput()
    http_output: HttpOutput = HttpOutput()
    slack_output: SlackOutput = SlackOutput()
    email_output: EmailOutput = EmailOutput()
    s3_output: S3Output = S3Output()
    outputs_spool: OutputsSpool = OutputsSpool()
