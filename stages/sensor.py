"""The running sensor: check everything, then run capture -> workers -> output under the supervisor.

Event sources: `engine.kind: ebpf` (live capture of this host, kernel/) and `engine.kind: replay` (a .scap file
or Saker Arrow capture, `--replay PATH`). Either can also write what it reads to Arrow files (`--capture`).
"""

from __future__ import annotations

import functools
import os
import socket
import time
from typing import Callable

from config.load import ConfigError
from config.logs import get_logger
from config.schema import Config
from pipeline.supervisor import Supervisor
from stages.alert import Alert
from stages.arrow_capture import CaptureWriter
from stages.capture import capture_stage
from pipeline.messages import ALERTS
from stages.drops import DropMonitor
from stages.evaluate import RuleProcessor
from stages.output_process import output_stage
from stages.sources import EnrichingSource, LiveSource, SourceUnavailable, SyscallReplay
from stages.output import OUTPUT_NAMES
from stages.watch import ConfigWatcher
from stages.webserver import MetricsReporter, SensorCollector, WebServer
from stages.worker import encode_alerts, worker_stage

from stages import VERSION
ALERT_RING_BYTES = 16 << 20


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
        source = _source(config, functools.partial(rule_plan, load, log))
    except SourceUnavailable as exc:
        log.error("event source unavailable", engine=config.engine.kind, detail=str(exc))
        return 1
    workers = config.pipeline.workers or os.cpu_count() or 1
    log.info("sensor starting", rules=len(result.rules), enabled=sum(r.enabled for r in result.rules),
             engine=config.engine.kind, workers=workers)
    supervisor = Supervisor(workers=workers, event_ring_bytes=config.pipeline.ring_bytes,
                            alert_ring_bytes=ALERT_RING_BYTES, ring_full=config.pipeline.ring_full, log=log,
                            outputs=OUTPUT_NAMES)
    collector = SensorCollector(supervisor.control.counters, VERSION, rule_names=[r.name for r in result.rules],
                                gauges=supervisor.ring_depths)
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
            functools.partial(capture_stage, source=source.batches, prepare=source.prepare, on_reload=source.reload,
                              make_poll=functools.partial(_drop_monitor, config, source, hostname)),
            functools.partial(worker_stage, make_processor=lambda _index: RuleProcessor(
                load, rule_matching=config.rule_matching, hostname=hostname)),
            functools.partial(output_stage, make_sink=lambda: RouterSink(config),
                              measure_latency=config.engine.kind != "replay"),
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


def rule_plan(load, log) -> tuple[set[str], frozenset[str] | None]:
    """The fields and event types the configured syscall rules need (see stages.sources.Plan)."""
    result = load()
    if not result.ok:
        raise SourceUnavailable("rules failed to load:\n" + "\n".join(m.render_text() for m in result.errors))
    rules = [r for r in result.rules if r.source == "syscall" and r.enabled]
    processor = RuleProcessor(lambda: result)
    types: set[str] | None = set()
    for rule in rules:
        types = None if types is None or rule.event_types is None else types | rule.event_types
    log.debug("rules plan", fields=len(processor.required_fields), event_types=None if types is None else len(types))
    return processor.required_fields, None if types is None else frozenset(types)


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
    raise SourceUnavailable("engine.kind none: no syscall source, and no other source is built yet")


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
    web = WebServer(address=config.webserver.listen_address, port=config.webserver.listen_port,
                    healthz_path=config.webserver.k8s_healthz_endpoint,
                    metrics=config.webserver.prometheus_metrics_enabled, collector=collector,
                    healthy=supervisor.control.capture_running.is_set)
    web.start()
    return web
