"""The running sensor: check everything, then run capture -> workers -> output under the supervisor.

Syscall events: `engine.kind: ebpf` (live capture of this host, kernel/) or `engine.kind: replay` (a .scap file
or Saker Arrow capture, `--replay PATH`); either can also write what it reads to Arrow files (`--capture`).
Other sources (`sources:` in the config: k8s audit, CloudTrail, GitHub, Okta) form a second stream beside it,
each evaluated with the rules of its `source:`.
"""

from __future__ import annotations

import functools
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from config.load import ConfigError
from config.logs import get_logger
from config.schema import Config
from rules import ast
from rules.compiler import compile_condition, condition_fields
from rules.ruleset import EVENT_TYPE_COLUMN, rule_fields
from pipeline.supervisor import Supervisor
from stages.alert import Alert
from stages.arrow_capture import CaptureWriter, source_captures
from stages.capture import capture_stage
from stages.dns import compared_names
from pipeline.messages import ALERTS
from stages.drops import DropMonitor
from stages.evaluate import TIME_COLUMN, RuleProcessor, SourceProcessors
from stages.gates import ROW_BY_ROW_FIELDS, FieldGates
from stages.plugins import MODULES as PLUGIN_MODULES
from stages.plugins.stream import CaptureReplay, PluginStream
from stages.output_process import output_stage
from stages.sources import (BASE_FIELDS, EnrichingSource, LiveSource, RulePlan, SourceUnavailable, SyscallReplay,
                           is_scap)
from stages.output import OUTPUT_NAMES
from stages.watch import ConfigWatcher
from stages.metrics import MetricsReporter, SensorCollector
from stages.worker import encode_alerts, worker_stage

from stages import VERSION

if TYPE_CHECKING:
    from stages.webserver import WebServer

ALERT_RING_BYTES = 16 << 20
PLUGIN_RING_BYTES = 16 << 20  # plugin events are few and small next to syscalls


class RouterSink:
    """The output stage's end: alert records from the workers into the output router."""

    def __init__(self, config: Config) -> None:
        from stages.output import OutputRouter

        self.router = OutputRouter.from_config(config)

    def deliver(self, records: list[dict]) -> None:
        self.router.submit_many(Alert.from_record(r) for r in records)

    def stats(self) -> dict[str, dict[str, int]]:
        return self.router.stats()

    def close(self) -> None:
        self.router.close()


def run_sensor(config: Config, duration: float | None = None, config_path: str | None = None,
               reread: Callable[[], Config] | None = None) -> int:
    """Run until the source ends, -M passes or a signal. `reread` gives the config afresh (the file with the
    command line's overrides) for reloads: rules files, rule selectors and priority take effect then; outputs
    and the pipeline's shape keep their start-up settings."""
    from stages.commands import checked_rules

    log = get_logger("main")
    result = checked_rules(config, log)
    if result is None:
        return 1
    load = functools.partial(_reload_rules, config, reread or (lambda: config), log)
    hostname = os.environ.get("SAKER_HOSTNAME") or socket.gethostname()
    try:
        streams = _streams(config, load, log, hostname)
    except SourceUnavailable as exc:
        log.error("event source unavailable", engine=config.engine.kind, detail=str(exc))
        return 1
    _warn_idle_rules(result, [source for stream in streams for source in stream.sources], log)
    workers = config.pipeline.workers or os.cpu_count() or 1
    log.info("sensor starting", rules=len(result.rules), enabled=sum(r.enabled for r in result.rules),
             engine=config.engine.kind, sources=[s for stream in streams for s in stream.sources], workers=workers)
    supervisor = Supervisor(workers=workers, event_ring_bytes=[stream.ring_bytes for stream in streams],
                            alert_ring_bytes=ALERT_RING_BYTES, ring_full=config.pipeline.ring_full, log=log,
                            outputs=OUTPUT_NAMES)
    plugin_stream = next((stream.source for stream in streams if isinstance(stream.source, PluginStream)), None)
    collector = SensorCollector(supervisor.control.counters, VERSION, rule_names=[r.name for r in result.rules],
                                gauges=supervisor.ring_depths,
                                source_stats=plugin_stream.source_stats if plugin_stream else None)
    web = _webserver(config, supervisor, collector)
    watcher = None
    if config.watch_config_files:
        from stages.commands import rules_paths

        watched = [config_path] + rules_paths(config.rules_files) if config_path else rules_paths(config.rules_files)
        watcher = ConfigWatcher(watched, lambda: supervisor.request_reload("a config or rules file changed"))
    reporter = MetricsReporter(collector, config.metrics, log) if config.metrics.enabled else None
    started = time.monotonic()
    try:
        status = supervisor.run(
            [stream.capture for stream in streams],
            functools.partial(worker_stage, make_processor=lambda _index, s: streams[s].processor(
                reloaded=supervisor.control.reload_requests.value > 0)),
            functools.partial(output_stage, make_sink=lambda: RouterSink(config),
                              measure_latency=[stream.live for stream in streams]),
            duration=duration,
        )
    finally:
        if watcher is not None:
            watcher.stop()
        if reporter is not None:
            reporter.stop()
        if web is not None:
            web.stop()
    counters = supervisor.control.counters.snapshot()
    log.info("sensor stopped", seconds=round(time.monotonic() - started, 3), **counters)
    return status


def _reload_rules(config: Config, reread: Callable[[], Config], log):
    """The rules of the config as it is now on disk; the start-up config if the file no longer loads."""
    from stages.commands import load_ruleset

    try:
        current = reread()
    except ConfigError as exc:
        log.error("config does not load; reloading rules with the previous config", detail=str(exc))
        current = config
    return load_ruleset(current)


def rule_plan(load, log) -> RulePlan:
    """The fields and event types the configured syscall rules need (see stages.sources.RulePlan)."""
    result = load()
    if not result.ok:
        raise SourceUnavailable("rules failed to load:\n" + "\n".join(m.render_text() for m in result.errors))
    rules = [r for r in result.rules if r.source == "syscall" and r.enabled]
    # What the worker's processor reads (`RuleProcessor.required_fields`), without compiling the rules here.
    required = frozenset({TIME_COLUMN, EVENT_TYPE_COLUMN}.union(*map(rule_fields, rules)))
    types: set[str] | None = set()
    for rule in rules:
        types = None if types is None or rule.event_types is None else types | rule.event_types
    log.debug("rules plan", fields=len(required), event_types=None if types is None else len(types))
    every_type, by_type = _fields_by_type(rules)
    # What the processor reads besides the rules' own fields (for every alert) goes with every batch.
    every_type |= required.difference(*by_type.values(), every_type)
    return RulePlan(required, None if types is None else frozenset(types), _narrowed(rules), by_type, every_type,
                    _gates(rules), FieldGates(rules, ungated=BASE_FIELDS),
                    compared_names(rule.condition for rule in rules))


def _fields_by_type(rules) -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    """The fields of the rules that match any event type, and for each event type those of its rules."""
    every_type: set[str] = set()
    by_type: dict[str, set[str]] = {}
    for rule in rules:
        read = rule_fields(rule)
        if rule.event_types is None:
            every_type |= read
        for event_type in rule.event_types or ():
            by_type.setdefault(event_type, set()).update(read)
    return frozenset(every_type), {t: frozenset(f) for t, f in by_type.items()}


def _narrowed(rules) -> dict[str, frozenset[str]]:
    """For each row-by-row field, the event types of the rules that read it (left out if one reads it for
    every type)."""
    narrowed: dict[str, frozenset[str]] = {}
    for name in ROW_BY_ROW_FIELDS:
        users = [r for r in rules if name in rule_fields(r)]
        if users and all(r.event_types is not None for r in users):
            narrowed[name] = frozenset().union(*(r.event_types for r in users))
    return narrowed


def _gates(rules) -> dict[str, Any]:
    """For each row-by-row field that the rules reading it print but do not test: their conditions joined with
    `or`, so the capture builds the field only on rows some of them match (its other rows never print it)."""
    gates = {}
    for name in ROW_BY_ROW_FIELDS:
        users = [r for r in rules if name in rule_fields(r)]
        if not users or any(name in {ref.name for ref in condition_fields(r.condition)} for r in users):
            continue
        gates[name] = compile_condition(ast.Or(tuple(r.condition for r in users)) if len(users) > 1
                                        else users[0].condition)
    return gates


@dataclass
class Stream:
    """One capture process and what goes with it: the sources it carries, its capture stage, the processor
    a worker evaluates its batches with, its ring size, and whether its events are live (latency counted)."""

    source: Any
    sources: list[str]
    capture: Callable
    processor: Callable[..., Any]  # processor(reloaded=...): a worker's rule processor for the stream
    ring_bytes: int
    live: bool


class _BuiltBeforeFork:
    """A stream's rule processor, built once in the main process: the workers forked from it share its pages
    (the rules parsed and compiled once, not once per worker). A worker started after a reload builds its
    own from the rule files as they are now."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self.build = build
        self.built = build()

    def __call__(self, *, reloaded: bool) -> Any:
        return self.build() if reloaded else self.built


def _streams(config: Config, load, log, hostname: str) -> list[Stream]:
    """The syscall stream (unless engine.kind is none) and the plugin sources' stream (if any is enabled)."""
    streams = []
    replayed = _replayed_sources(config)
    if config.engine.kind != "none" and (config.engine.kind != "replay" or _replays_syscalls(config, replayed)):
        source = _source(config, functools.partial(rule_plan, load, log))
        streams.append(Stream(
            source=source, sources=["syscall"],
            capture=functools.partial(capture_stage, source=source.batches, prepare=source.prepare,
                                      on_reload=source.reload, state=source.state_stats,
                                      make_poll=functools.partial(_drop_monitor, config, source, hostname)),
            processor=_BuiltBeforeFork(lambda: RuleProcessor(load, rule_matching=config.rule_matching,
                                                             hostname=hostname)),
            ring_bytes=config.pipeline.ring_bytes, live=config.engine.kind != "replay"))
    sections = {name: section for name, section in config.sources if section.enabled or name in replayed}
    if sections:
        try:
            plugins = PluginStream(sections, plan=functools.partial(plugin_plan, load, list(sections)),
                                   hostname=hostname, batch_size=config.pipeline.batch_size,
                                   ingests={source: CaptureReplay(str(path)) for source, path in replayed.items()},
                                   capture_to=_capture_writer(config) if config.capture.enabled else None)
        except (ValueError, OSError) as exc:
            raise SourceUnavailable(str(exc)) from None
        streams.append(Stream(
            source=plugins, sources=plugins.sources,
            capture=functools.partial(capture_stage, source=plugins.batches, prepare=plugins.prepare,
                                      on_reload=plugins.reload),
            processor=lambda reloaded: SourceProcessors(load, plugins.sources, completers=plugins.completers(),
                                               rule_matching=config.rule_matching, hostname=hostname),
            ring_bytes=PLUGIN_RING_BYTES, live=False))
    if not streams:
        raise SourceUnavailable("engine.kind is none and no source is enabled under `sources:`; enable one, "
                                "e.g. -o sources.k8s_audit.enabled=true")
    return streams


def _replayed_sources(config: Config) -> dict[str, Path]:
    """Captures of the other sources in the replay path (`<path>/<source>/`, as --capture writes them)."""
    path = config.engine.replay.path
    if config.engine.kind != "replay" or not path or is_scap(path) or not Path(path).exists():
        return {}
    return {source: folder for source, folder in source_captures(path).items() if source in PLUGIN_MODULES}


def _replays_syscalls(config: Config, replayed: dict[str, Path]) -> bool:
    """Whether the replay path holds syscall events too (always, when it holds no other source's capture:
    then SyscallReplay reads it, or says what is wrong with it)."""
    path = Path(config.engine.replay.path)
    if not replayed:
        return True
    if path.is_file() or path in replayed.values():
        return False
    return any(p.suffix == ".arrow" and p.is_file() for p in path.iterdir())


def _capture_writer(config: Config) -> Callable[[str], CaptureWriter]:
    """Writers of the other sources' captures: `<capture.path>/<source>/`, beside the syscall files."""
    def make(source: str) -> CaptureWriter:
        return CaptureWriter(Path(config.capture.path) / source, source=source,
                             rotate_bytes=config.capture.rotate_bytes, rotate_seconds=config.capture.rotate_seconds,
                             compression=config.capture.compression)
    return make


def plugin_plan(load, sources: list[str]) -> dict[str, tuple[set[str], set[str]]]:
    """The fields each plugin source's enabled rules read, by source: (conditions', all incl. outputs)."""
    result = load()
    if not result.ok:
        raise SourceUnavailable("rules failed to load:\n" + "\n".join(m.render_text() for m in result.errors))
    processors = {source: RuleProcessor(lambda: result, source=source) for source in sources}
    return {source: (p.condition_fields, p.required_fields) for source, p in processors.items()}


def _warn_idle_rules(result, running: list[str], log) -> None:
    """Rules of a source that is not running never fire: say so once, at start."""
    idle: dict[str, int] = {}
    for rule in result.rules:
        if rule.enabled and rule.source not in running:
            idle[rule.source] = idle.get(rule.source, 0) + 1
    for source, count in sorted(idle.items()):
        log.warning("rules of a source that is not running", source=source, rules=count,
                    hint=f"enable it under sources: ({source})" if source != "syscall" else "engine.kind is none")


def _source(config: Config, plan) -> EnrichingSource:
    writer = None
    if config.capture.enabled:
        writer = CaptureWriter(config.capture.path, rotate_bytes=config.capture.rotate_bytes,
                               rotate_seconds=config.capture.rotate_seconds, compression=config.capture.compression)
    if config.engine.kind == "replay":
        if not config.engine.replay.path:
            raise SourceUnavailable("engine.kind is replay but no path: use --replay PATH or engine.replay.path")
        return SyscallReplay(config.engine.replay.path, plan=plan, batch_size=config.pipeline.batch_size,
                             capture_to=writer)
    if config.engine.kind == "ebpf":
        return LiveSource(config, plan=plan, sensor_pid=os.getpid(), capture_to=writer)
    raise SourceUnavailable(f"engine.kind {config.engine.kind}: no syscall source")


def _drop_monitor(config: Config, source: EnrichingSource, hostname: str, control):
    """The kernel drop monitor's poll function for the capture stage (live capture only)."""
    read = getattr(source, "kernel_counters", None)
    if read is None:
        return lambda: None

    def emit(record: dict) -> None:
        control.internal.write(ALERTS, encode_alerts([record]))

    return DropMonitor(config.syscall_event_drops, read, control.counters, emit, hostname=hostname).poll


def _webserver(config: Config, supervisor: Supervisor, collector: SensorCollector) -> WebServer | None:
    if not config.webserver.enabled:
        return None
    from stages.webserver import WebServer  # aiohttp is imported only when the endpoints are served

    web = WebServer(address=config.webserver.listen_address, port=config.webserver.listen_port,
                    healthz_path=config.webserver.k8s_healthz_endpoint,
                    metrics=config.webserver.prometheus_metrics_enabled, collector=collector,
                    healthy=supervisor.capturing)
    web.start()
    return web
