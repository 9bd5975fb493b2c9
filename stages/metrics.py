"""The sensor's metrics: a prometheus-client collector over the shared counters, and the periodic log line.

Metrics are read from the shared counters when asked for (a /metrics scrape, a log interval): nothing is
counted twice and the stages pay nothing per event for being observable.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Iterable

from prometheus_client.core import (CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily,
                                   InfoMetricFamily)
from prometheus_client.registry import Collector

from config.schema import Metrics, duration_seconds
from pipeline.counters import LATENCY_BUCKETS, MAX_RULES, SENSOR_COUNTERS, STATE_STATS, WORKER_COUNTERS, Counters

PREFIX = "saker"


class SensorCollector(Collector):
    """Turns the shared counters (and any extra gauges) into Prometheus metric families."""

    def __init__(self, counters: Counters, version: str, gauges: Callable[[], dict[str, float]] | None = None,
                 rule_names: list[str] = (),
                 source_stats: Callable[[], dict[str, dict[str, int]]] | None = None):
        self.counters = counters
        self.source_stats = source_stats
        self.version = version
        self.gauges = gauges
        self.rule_names = list(rule_names)[:MAX_RULES]

    def collect(self) -> Iterable[Any]:
        info = InfoMetricFamily(f"{PREFIX}_version", "Saker version")
        info.add_metric([], {"version": self.version})
        yield info
        for name, help_text in SENSOR_COUNTERS:
            yield CounterMetricFamily(f"{PREFIX}_{name}", help_text, value=self.counters.get(name))
        for name, help_text in WORKER_COUNTERS:
            family = CounterMetricFamily(f"{PREFIX}_worker_{name}", help_text, labels=["worker"])
            for worker in range(self.counters.workers):
                family.add_metric([str(worker)], self.counters.get_worker(worker, name))
            yield family
        yield from self._rules()
        yield from self._state()
        yield from self._outputs()
        yield self._latency()
        yield from self._sources()
        for name, value in (self.gauges() if self.gauges else {}).items():
            yield GaugeMetricFamily(f"{PREFIX}_{name}", name.replace("_", " "), value=value)

    def _rules(self) -> Iterable[Any]:
        totals = self.counters.rule_totals()
        evaluated = CounterMetricFamily(f"{PREFIX}_rule_evaluations", "events a rule was evaluated on", labels=["rule"])
        matched = CounterMetricFamily(f"{PREFIX}_rule_matches", "events a rule matched", labels=["rule"])
        for index, name in enumerate(self.rule_names):
            evaluated.add_metric([name], int(totals[index, 0]))
            matched.add_metric([name], int(totals[index, 1]))
        yield evaluated
        yield matched

    def _state(self) -> Iterable[Any]:
        values = self.counters.state()
        for name, kind, help_text in STATE_STATS:
            family = GaugeMetricFamily if kind == "gauge" else CounterMetricFamily
            yield family(f"{PREFIX}_state_{name}", help_text, value=values[name])

    def _outputs(self) -> Iterable[Any]:
        stats = self.counters.output_stats()
        names = sorted({stat for values in stats.values() for stat in values})
        for stat in names:
            family = CounterMetricFamily(f"{PREFIX}_output_{stat}", f"per output: {stat.replace('_', ' ')}",
                                         labels=["output"])
            for output, values in stats.items():
                family.add_metric([output], values[stat])
            yield family

    def _sources(self) -> Iterable[Any]:
        """The plugin sources' own counters (requests, refusals, dropped events...), by source and name."""
        stats = self.source_stats() if self.source_stats else {}
        if not stats:
            return
        family = CounterMetricFamily(f"{PREFIX}_source_events", "per event source: its own counters "
                                     "(requests, refused, events, dropped...)", labels=["source", "counter"])
        for source, counters in sorted(stats.items()):
            for name, value in sorted(counters.items()):
                family.add_metric([source, name], value)
        yield family

    def _latency(self) -> Any:
        counts, total = self.counters.latency()
        cumulative, buckets = 0, []
        for bound, count in zip([*map(str, LATENCY_BUCKETS), "+Inf"], counts):
            cumulative += count
            buckets.append((bound, cumulative))
        return HistogramMetricFamily(f"{PREFIX}_event_alert_latency_seconds", "time from an event to its alert "
                                     "reaching the outputs", buckets=buckets, sum_value=total)

    def summary(self) -> dict[str, Any]:
        """The counters as one flat dict, for the periodic metrics log line."""
        out: dict[str, Any] = dict(self.counters.snapshot())
        counts, total = self.counters.latency()
        out["alerts_latency_mean_ms"] = round(1000 * total / sum(counts), 3) if sum(counts) else None
        out["state"] = self.counters.state()
        out["outputs"] = self.counters.output_stats()
        if self.source_stats:
            out["sources"] = self.source_stats()
        out.update(self.gauges() if self.gauges else {})
        return out


class MetricsReporter:
    """Logs a metrics snapshot every `metrics.interval`, as Falco's metrics do (and once at stop)."""

    def __init__(self, collector: SensorCollector, settings: Metrics, log: Any) -> None:
        self.collector = collector
        self.interval = duration_seconds(settings.interval)
        self.log = log
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="saker-metrics", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.log.info("metrics snapshot", **self.collector.summary())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.log.info("metrics snapshot", **self.collector.summary())
