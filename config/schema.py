"""The configuration schema: every key Saker reads, its type, default and allowed values.

Falco's key names wherever Falco has the concept (see ../shared/spec/config-and-outputs.md), Saker's own
under `pipeline`, `engine`, `capture` and the extra outputs. Models are frozen and forbid unknown keys, so
a typo is an error that names the key instead of a setting silently ignored.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from config.falco_plugins import source_settings

PRIORITY_NAMES = ("emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug")
_PRIORITY_ALIASES = {"info": "informational"}
_DURATION = re.compile(r"^(?:(\d+)(ms|s|m|h|d))+$")
_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def normalise_priority(value: str) -> str:
    """Case-insensitive priority name, with Falco's one alias (info)."""
    name = str(value).strip().lower()
    name = _PRIORITY_ALIASES.get(name, name)
    if name not in PRIORITY_NAMES:
        raise ValueError(f"invalid priority {value!r}; expected one of {', '.join(PRIORITY_NAMES)}")
    return name


def duration_seconds(text: str) -> float:
    """Prometheus-style duration ("1h", "15m", "500ms", "1m30s") in seconds."""
    if not _DURATION.match(text):
        raise ValueError(f"invalid duration {text!r}; write it like 500ms, 30s, 15m, 1h")
    return sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(text))


Priority = Annotated[str, Field(description="priority name")]


class Section(BaseModel):
    """Base of every config section: strict about keys, immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class PrioritySection(Section):
    @field_validator("min_priority", mode="before", check_fields=False)
    @classmethod
    def _priority(cls, value: object) -> str:
        return normalise_priority(str(value))


class Selector(Section):
    rule: str | None = None
    tag: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> "Selector":
        if (self.rule is None) == (self.tag is None):
            raise ValueError("a selector names exactly one of 'rule' or 'tag'")
        return self


class RuleSelection(Section):
    """One entry of `rules:`: `- enable: {rule: P}` / `- disable: {tag: T}`."""

    enable: Selector | None = None
    disable: Selector | None = None

    @model_validator(mode="after")
    def _one_of(self) -> "RuleSelection":
        if (self.enable is None) == (self.disable is None):
            raise ValueError("each entry of 'rules' has exactly one of 'enable' or 'disable'")
        return self


class AppendMatch(Section):
    rule: str | None = None
    source: str | None = None
    tags: list[str] = []


class AppendOutput(Section):
    match: AppendMatch = AppendMatch()
    extra_output: str = ""
    extra_fields: list[str | dict[str, str]] = []
    suggested_output: bool = False


class OutputsQueue(Section):
    capacity: int = Field(0, ge=0, description="alerts queued for the output stage; 0 = unbounded")


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


class StdoutOutput(PrioritySection, Delivery):
    enabled: bool = True
    min_priority: str = "debug"


class FileOutput(PrioritySection, Delivery):
    enabled: bool = False
    keep_alive: bool = False
    filename: str = "./events.txt"
    min_priority: str = "debug"
    rotate_bytes: int = Field(0, ge=0, description="rotate when the file passes this size; 0 = never")
    rotate_keep: int = Field(5, ge=1)


SyslogFacility = Literal["kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
                         "authpriv", "ftp", "local0", "local1", "local2", "local3", "local4", "local5", "local6",
                         "local7"]


class SyslogOutput(PrioritySection, Delivery):
    enabled: bool = False
    address: str = Field("/dev/log", description="/dev/log, udp://host:port or tcp://host:port")
    facility: SyslogFacility = "user"
    app_name: str = "saker"
    min_priority: str = "debug"


class ProgramOutput(PrioritySection, Delivery):
    enabled: bool = False
    keep_alive: bool = False
    program: str = ""
    min_priority: str = "debug"


class HttpOutput(PrioritySection, Delivery):
    enabled: bool = False
    url: str = ""
    user_agent: str = "saker"
    insecure: bool = False
    ca_cert: str = ""
    ca_bundle: str = ""
    ca_path: str = "/etc/ssl/certs"
    mtls: bool = False
    client_cert: str = ""
    client_key: str = ""
    echo: bool = False
    compress_uploads: bool = False
    keep_alive: bool = False
    max_consecutive_timeouts: int = Field(5, ge=0)
    headers: dict[str, str] = {}
    timeout: float = Field(10.0, gt=0, description="seconds for one POST (connect + response)")
    min_priority: str = "debug"


class SlackOutput(PrioritySection, Delivery):
    enabled: bool = False
    webhook_url: str = ""
    token: str = ""
    channel: str = ""
    username: str = "Saker"
    icon: str = ""
    footer: str = ""
    output_format: Literal["all", "text", "fields"] = "all"
    api_url: str = Field("https://slack.com/api/", description="Web API base used with `token`")
    min_priority: str = "debug"


class EmailOutput(PrioritySection, Delivery):
    enabled: bool = False
    host: str = "localhost"
    port: int = Field(25, ge=1, le=65535)
    tls: Literal["starttls", "ssl", "none"] = "starttls"
    user: str = ""
    password: str = ""
    from_: str = Field("", alias="from")
    to: list[str] = []
    format: Literal["html", "text"] = "html"
    digest: int = Field(1, ge=1, description="alerts per e-mail")
    digest_seconds: float = Field(60.0, gt=0, description="longest wait to fill a digest of `digest` alerts")
    timeout: float = Field(30.0, gt=0)
    ca_cert: str = Field("", description="extra CA file trusted for the server certificate (private relays)")
    min_priority: str = "debug"

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class S3Output(PrioritySection, Delivery):
    enabled: bool = False
    bucket: str = ""
    prefix: str = "saker"
    region: str = ""
    endpoint_url: str = ""
    access_key_id: str = ""
    secret_access_key: str = ""
    batch_size: int = Field(500, ge=1)
    flush_seconds: float = Field(10.0, gt=0)
    min_priority: str = "debug"


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


class Webserver(Section):
    enabled: bool = True
    listen_address: str = "127.0.0.1"
    listen_port: int = Field(8765, ge=0, le=65535)
    k8s_healthz_endpoint: str = "/healthz"
    prometheus_metrics_enabled: bool = True
    ssl_enabled: bool = False
    ssl_certificate: str = ""
    threadiness: int = Field(0, ge=0)


class Metrics(Section):
    enabled: bool = False
    interval: str = "1h"
    output_rule: bool = True
    output_file: str = ""

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: str) -> str:
        if duration_seconds(value) < 0.1:
            raise ValueError("metrics interval must be at least 100ms")
        return value


class SyscallEventDrops(Section):
    threshold: float = Field(0.1, ge=0, le=1)
    actions: list[Literal["ignore", "log", "alert", "exit"]] = ["log", "alert"]
    rate: float = Field(0.03333, gt=0)
    max_burst: int = Field(1, ge=1)
    simulate_drops: bool = False


class SyscallEventTimeouts(Section):
    max_consecutives: int = Field(1000, ge=1)


class BaseSyscalls(Section):
    custom_set: list[str] = []
    repair: bool = False
    all: bool = False


class ReplayEngine(Section):
    path: str = ""


class Engine(Section):
    """Where syscall events come from: live eBPF, a capture to replay, or none (other sources only)."""

    kind: Literal["ebpf", "replay", "none"] = "ebpf"
    replay: ReplayEngine = ReplayEngine()
    ring_bytes: int = Field(8 << 20, ge=1 << 16, description="kernel ring buffer size per ring, bytes (kernel.loader)")

    @field_validator("ring_bytes")
    @classmethod
    def _power_of_two(cls, value: int) -> int:
        if value & (value - 1):
            raise ValueError("ring_bytes must be a power of two")
        return value


class ContainerEngine(Section):
    enabled: bool = True
    sockets: list[str] = []


class ContainerEngines(Section):
    """Where live capture asks for container metadata (name, image, labels, pod): the runtimes' sockets, tried in
    this order for each new container id (`stages.runtimes`); a socket that does not exist is skipped."""

    docker: ContainerEngine = ContainerEngine(sockets=["/var/run/docker.sock"])
    podman: ContainerEngine = ContainerEngine(sockets=["/run/podman/podman.sock"])
    cri_o: ContainerEngine = ContainerEngine(sockets=["/var/run/crio/crio.sock"])
    containerd: ContainerEngine = ContainerEngine(sockets=["/run/containerd/containerd.sock",
                                                           "/run/k3s/containerd/containerd.sock"])
    timeout_ms: int = Field(1000, ge=1, description="per lookup")

    def sockets(self) -> list[tuple[str, str]]:
        """(runtime kind, socket path) of the enabled engines, in order."""
        engines = (("docker", self.docker), ("podman", self.podman), ("cri-o", self.cri_o),
                   ("containerd", self.containerd))
        return [(kind, path) for kind, engine in engines if engine.enabled for path in engine.sockets]


class Pipeline(Section):
    workers: int = Field(0, ge=0, description="rule workers; 0 = one per core")
    batch_size: int = Field(8192, ge=1)
    flush_ms: int = Field(20, ge=1)
    ring_bytes: int = Field(64 << 20, ge=1 << 20, description="shared-memory ring between stages, bytes")
    ring_full: Literal["drop", "block"] = "drop"


class Capture(Section):
    enabled: bool = False
    path: str = "./captures"
    rotate_bytes: int = Field(256 << 20, ge=1 << 20)
    rotate_seconds: int = Field(3600, ge=1)
    compression: Literal["zstd", "lz4", "none"] = "zstd"

class ListenerTls(Section):
    """HTTPS for a webhook listener: PEM files. Empty `cert` = plain HTTP; empty `key` = the key is in `cert`."""

    cert: str = ""
    key: str = ""


class K8sAuditSource(Section):
    """Kubernetes audit events (source `k8s_audit`): the API server's webhook backend, and/or JSONL files."""

    enabled: bool = False
    webhook: bool = Field(True, description="serve the audit webhook; false = read `files` only")
    listen_address: str = "0.0.0.0"
    listen_port: int = Field(9765, ge=0, le=65535)
    path: str = "/k8s-audit"
    tls: ListenerTls = ListenerTls()
    bearer_token: str = Field("", description="when set, a request must carry `Authorization: Bearer <token>`")
    max_body_bytes: int = Field(12582912, ge=1024, description="bigger requests are refused (413)")
    max_event_bytes: int = Field(262144, ge=1024, description="bigger audit events are dropped and counted")
    files: list[str] = Field([], description="JSONL files or folders read once; `file://PATH` follows a file "
                                               "like tail -F")


class CloudTrailSource(Section):
    """AWS CloudTrail logs (source `aws_cloudtrail`): local files/folders, s3://bucket/prefix, sqs://queue."""

    enabled: bool = False
    paths: list[str] = []
    endpoint_url: str = Field("", description="S3 and SQS endpoint (an S3-compatible server); empty = AWS")
    region: str = ""
    s3_download_concurrency: int = Field(8, ge=1, le=128)
    s3_interval: str = Field("", description="only log files in this time span: 5d, 3d-1d, "
                                              "2021-03-30T18:07:17Z, 2023-04-05T06:00:00Z-5d")
    sqs_delete: bool = Field(True, description="delete a queue message once its log files are read")
    sqs_owner_account: str = ""
    sqs_wait_seconds: int = Field(5, ge=0, le=20, description="long-poll wait of one receive")
    use_s3_sns: bool = Field(False, description="queue messages are S3 event notifications (via SNS)")


class GitHubSource(Section):
    """GitHub webhooks (source `github`), verified with the hook's secret (X-Hub-Signature-256)."""

    enabled: bool = False
    listen_address: str = "0.0.0.0"
    listen_port: int = Field(9766, ge=0, le=65535)
    path: str = "/github"
    tls: ListenerTls = ListenerTls()
    secret: str = Field("", description="the webhook secret; required (write ${GITHUB_WEBHOOK_SECRET})")
    max_body_bytes: int = Field(25 << 20, ge=1024)
    api_url: str = Field("https://api.github.com", description="REST API used to scan pushes and workflows")
    token: str = Field("", description="API token (write ${GITHUB_TOKEN}); without one, pushed diffs and "
                                       "workflow files are not fetched, so secret and miner checks stay absent")


class OktaSource(Section):
    """Okta System Log (source `okta`), polled."""

    enabled: bool = False
    organization: str = Field("", description="the Okta subdomain: <organization>.okta.com")
    api_url: str = Field("", description="API base URL; empty = https://<organization>.okta.com")
    api_token: str = Field("", description="SSWS API token (write ${OKTA_API_TOKEN})")
    refresh_interval: float = Field(10.0, gt=0, description="seconds between polls")
    page_limit: int = Field(1000, ge=1, le=1000)
    lookback_seconds: float = Field(30.0, ge=0, description="how far back the first poll starts")
    cache_expiration: int = Field(84600, ge=1, description="seconds the MFA counters remember an actor")
    cache_usermaxsize: int = Field(200, ge=1, description="timestamps kept per (event type, actor)")


class Sources(Section):
    """Event sources beside syscalls; each enabled one runs with the rules of its `source:`."""

    k8s_audit: K8sAuditSource = K8sAuditSource()
    aws_cloudtrail: CloudTrailSource = CloudTrailSource()
    github: GitHubSource = GitHubSource()
    okta: OktaSource = OktaSource()


class PluginEntry(Section):
    """One entry of Falco's `plugins:` list, read as settings of a built-in source (config/falco_plugins.py)."""

    name: str
    library_path: str = Field("", description="ignored: the source is built in")
    init_config: dict[str, Any] | str = {}
    open_params: str = ""

    @field_validator("init_config", mode="before")
    @classmethod
    def _init_map(cls, value: object) -> object:
        # Falco also takes init_config as a JSON string; empty means {}.
        if isinstance(value, str):
            return json.loads(value) if value.strip() else {}
        return {} if value is None else value

    @model_validator(mode="after")
    def _translatable(self) -> "PluginEntry":
        self.source_settings()
        return self

    def source_settings(self) -> tuple[str, dict[str, Any]] | None:
        return source_settings(self.name, dict(self.init_config), self.open_params)


class Config(Section):
    """The whole configuration file."""

    rules_files: list[str] = ["rules/default"]
    rules: list[RuleSelection] = []
    priority: str = "debug"
    rule_matching: Literal["first", "all"] = "first"
    append_output: list[AppendOutput] = []
    watch_config_files: bool = True

    json_output: bool = False
    json_include_output_property: bool = True
    json_include_message_property: bool = False
    json_include_output_fields_property: bool = True
    json_include_tags_property: bool = True
    time_format_iso_8601: bool = False
    buffered_outputs: bool = False
    outputs_queue: OutputsQueue = OutputsQueue()

    stdout_output: StdoutOutput = StdoutOutput()
    file_output: FileOutput = FileOutput()
    syslog_output: SyslogOutput = SyslogOutput()
    program_output: ProgramOutput = ProgramOutput()
    http_output: HttpOutput = HttpOutput()
    slack_output: SlackOutput = SlackOutput()
    email_output: EmailOutput = EmailOutput()
    s3_output: S3Output = S3Output()
    outputs_spool: OutputsSpool = OutputsSpool()

    webserver: Webserver = Webserver()
    metrics: Metrics = Metrics()
    syscall_event_drops: SyscallEventDrops = SyscallEventDrops()
    syscall_event_timeouts: SyscallEventTimeouts = SyscallEventTimeouts()
    base_syscalls: BaseSyscalls = BaseSyscalls()

    log_level: str = "info"
    log_stderr: bool = True
    log_syslog: bool = False

    engine: Engine = Engine()
    container_engines: ContainerEngines = ContainerEngines()
    pipeline: Pipeline = Pipeline()
    capture: Capture = Capture()
    sources: Sources = Sources()
    plugins: list[PluginEntry] = []
    load_plugins: list[str] = []

    @field_validator("priority", "log_level", mode="before")
    @classmethod
    def _priority(cls, value: object) -> str:
        return normalise_priority(str(value))

    @model_validator(mode="after")
    def _loaded_plugins(self) -> "Config":
        """Falco's `load_plugins` names entries of `plugins`; each loaded one enables its built-in source with
        the entry's settings (over those written under `sources:`)."""
        entries = {entry.name: entry for entry in self.plugins}
        missing = [name for name in self.load_plugins if name not in entries]
        if missing:
            raise ValueError(f"load_plugins names {', '.join(missing)}, which no entry of plugins: configures")
        sources = self.sources
        for name in self.load_plugins:
            translated = entries[name].source_settings()
            if translated is None:
                continue
            source, settings = translated
            merged = {**getattr(sources, source).model_dump(by_alias=True), **settings, "enabled": True}
            section = type(getattr(sources, source)).model_validate(merged)
            sources = sources.model_copy(update={source: section})
        return self if sources is self.sources else self.model_copy(update={"sources": sources})
