"""The output router: every alert to every output that wants it, each output on its own thread.

Per output, in this order: minimum priority and routing (rule name, tags, source; include/exclude with `*`
wildcards) -> dedup window (identical rule + output_fields collapse into one alert carrying the count) ->
token-bucket rate limit (suppressed alerts are counted and reported by one alert
"N alerts suppressed by rate limit for <output>") -> a bounded in-memory queue -> the output's thread, which
hands batches to its sink.

A failed delivery moves the batch to the output's spool (`stages.spool`, on disk when `outputs_spool.dir` is
set) and the thread retries the spool's head with exponential backoff and jitter until it goes through;
meanwhile new alerts for that output join the spool behind it, so nothing is lost while a destination is down
(up to the spool's size cap, whose overflow is counted), nothing is delivered twice once acknowledged, and the
spool is delivered by the next router started on the same directory. Outputs never wait for each other: a
slow or dead destination fills only its own queue and spool. When a queue is full the excess goes straight to
the spool; order is kept while a destination keeps up.

`close(timeout)` (SIGTERM) stops intake, releases what the dedup windows and rate limiters hold, lets each
output deliver until the deadline and spools whatever is left, including a batch stuck in a hung delivery
(which may then come twice if that delivery later succeeds: at-least-once, the only case).
"""

from __future__ import annotations

import json
import random
import re
import socket
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from config.logs import get_logger
from rules.priority import Priority
from stages.alert import Alert, internal_alert
from stages.sinks import Sink, SinkError, load_sink, redact
from stages.spool import DiskSpool, MemorySpool, Spool

OUTPUT_NAMES = ("stdout", "file", "syslog", "program", "http", "slack", "email", "s3")
RATE_LIMIT_RULE = "Saker internal: alerts suppressed by rate limit"
_IDLE_TICK = 0.25  # seconds a worker sleeps at most while idle, to release dedup windows and summaries

Clock = Callable[[], float]


# ---------------------------------------------------------------------------- counters

@dataclass
class OutputStats:
    """Counters of one output (monotonic; exported as-is by `OutputRouter.stats`)."""

    alerts_in: int = 0            # accepted by priority and routing
    filtered: int = 0             # refused by priority or routing
    deduplicated: int = 0         # folded into an earlier identical alert
    dropped_rate_limit: int = 0   # suppressed by the token bucket (reported by summary alerts)
    delivered: int = 0            # handed to the destination successfully
    failed_attempts: int = 0      # deliveries that raised
    retried: int = 0              # delivery attempts made after a failure
    spooled: int = 0              # alerts written to the spool
    spool_overflow: int = 0       # alerts the full spool could not take (lost, logged)


# ---------------------------------------------------------------------------- admission

def _wildcard(patterns: Iterable[str]) -> re.Pattern[str] | None:
    """One regex for patterns where `*` matches any run of characters and everything else is literal."""
    parts = [".*".join(re.escape(piece) for piece in p.split("*")) for p in patterns]
    return re.compile("(?:" + "|".join(parts) + r")\Z", re.DOTALL) if parts else None


class _Matcher:
    """Include/exclude patterns for one alert attribute (rule name, tags or source)."""

    def __init__(self, include: Iterable[str], exclude: Iterable[str]) -> None:
        self.include = _wildcard(include)
        self.exclude = _wildcard(exclude)

    def passes(self, values: Iterable[str]) -> bool:
        values = list(values)
        if self.include is not None and not any(self.include.match(v) for v in values):
            return False
        return self.exclude is None or not any(self.exclude.match(v) for v in values)


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up; rate 0 means unlimited."""

    def __init__(self, rate: float, burst: int, clock: Clock = time.monotonic) -> None:
        self.rate = rate
        self.burst = max(1, burst or int(rate) or 1)
        self.clock = clock
        self.tokens = float(self.burst)
        self.stamp = clock()

    def take(self) -> bool:
        if not self.rate:
            return True
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Gate:
    """Priority, routing, dedup and rate limit of one output; thread-safe. Returns the alerts to queue."""

    def __init__(self, name: str, settings: Any, stats: OutputStats, *, hostname: str, summary_seconds: float,
                 clock: Clock = time.monotonic) -> None:
        self.name = name
        self.stats = stats
        self.hostname = hostname
        self.summary_seconds = summary_seconds
        self.clock = clock
        self.minimum = Priority.parse(settings.min_priority)
        routing = settings.routing
        self.rules = _Matcher(routing.rules.include, routing.rules.exclude)
        self.tags = _Matcher(routing.tags.include, routing.tags.exclude)
        self.sources = _Matcher(routing.sources.include, routing.sources.exclude)
        self.dedup_seconds = settings.dedup_seconds
        self.bucket = TokenBucket(settings.rate_limit.rate, settings.rate_limit.burst, clock)
        self._held: dict[tuple[str, str], list[Any]] = {}   # key -> [alert, count, release time]
        self._suppressed = 0
        self._suppressed_since = 0.0
        self._lock = threading.Lock()

    def wants(self, alert: Alert) -> bool:
        """Priority and routing only."""
        return (alert.priority.allowed_by(self.minimum) and self.rules.passes((alert.rule,))
                and self.sources.passes((alert.source,)) and self._tags_pass(alert))

    def _tags_pass(self, alert: Alert) -> bool:
        if self.tags.include is None and self.tags.exclude is None:
            return True
        if not alert.tags:  # no tag can match an include list, none can hit an exclude list
            return self.tags.include is None
        return self.tags.passes(alert.tags)

    def admit(self, alerts: Iterable[Alert]) -> list[Alert]:
        with self._lock:
            out: list[Alert] = []
            now = self.clock()
            for alert in alerts:
                if not self.wants(alert):
                    self.stats.filtered += 1
                    continue
                self.stats.alerts_in += 1
                if self.dedup_seconds:
                    self._hold(alert, now)
                else:
                    self._limit(alert, now, out)
            self._summary_if_due(now, out)
            return out

    def due(self) -> list[Alert]:
        """Alerts whose dedup window closed, and a rate-limit summary if one is due."""
        with self._lock:
            now = self.clock()
            out: list[Alert] = []
            for key in [k for k, (_, _, release) in self._held.items() if release <= now]:
                alert, count, _ = self._held.pop(key)
                self._limit(alert.with_count(count), now, out)
            self._summary_if_due(now, out)
            return out

    def drain(self) -> list[Alert]:
        """Everything held, and the final summary (shutdown)."""
        with self._lock:
            now = self.clock()
            out: list[Alert] = []
            for alert, count, _ in self._held.values():
                self._limit(alert.with_count(count), now, out)
            self._held.clear()
            self._summary_if_due(now, out, force=True)
            return out

    def _hold(self, alert: Alert, now: float) -> None:
        fields = {k: v for k, v in alert.output_fields.items() if k != "evt.time"}
        key = (alert.rule, json.dumps(fields, sort_keys=True, default=str))
        held = self._held.get(key)
        if held is None:
            self._held[key] = [alert, 1, now + self.dedup_seconds]
        else:
            held[1] += 1
            self.stats.deduplicated += 1

    def _limit(self, alert: Alert, now: float, out: list[Alert]) -> None:
        if self.bucket.take():
            out.append(alert)
            return
        if not self._suppressed:
            self._suppressed_since = now
        self._suppressed += 1
        self.stats.dropped_rate_limit += 1

    def _summary_if_due(self, now: float, out: list[Alert], force: bool = False) -> None:
        if not self._suppressed or (not force and now - self._suppressed_since < self.summary_seconds):
            return
        count, self._suppressed = self._suppressed, 0
        out.append(internal_alert(
            RATE_LIMIT_RULE, f"{count} alerts suppressed by rate limit for {self.name}", priority=Priority.WARNING,
            time_ns=time.time_ns(), hostname=self.hostname,
            output_fields={"saker.output": self.name, "saker.suppressed": count}))


# ---------------------------------------------------------------------------- retry timing

class Backoff:
    """Exponential delays with jitter: initial * multiplier**n, capped, times a factor in [1-j, 1+j]."""

    def __init__(self, settings: Any, rng: random.Random | None = None) -> None:
        self.initial = settings.initial_seconds
        self.maximum = settings.max_seconds
        self.multiplier = settings.multiplier
        self.jitter = settings.jitter
        self.rng = rng or random.Random()
        self.failures = 0

    def next_delay(self) -> float:
        base = min(self.maximum, self.initial * self.multiplier ** self.failures)
        self.failures += 1
        return base * self.rng.uniform(1 - self.jitter, 1 + self.jitter)

    def reset(self) -> None:
        self.failures = 0


# ---------------------------------------------------------------------------- one output

class OutputChannel:
    """One output: its gate, queue, spool, sink and delivery thread."""

    def __init__(self, name: str, sink: Sink, settings: Any, spool: Spool, *, hostname: str = "",
                 summary_seconds: float = 10.0, clock: Clock = time.monotonic) -> None:
        self.name = name
        self.sink = sink
        self.spool = spool
        self.stats = OutputStats()
        self.gate = Gate(name, settings, self.stats, hostname=hostname, summary_seconds=summary_seconds,
                         clock=clock)
        self.capacity = settings.queue_capacity
        self.backoff = Backoff(settings.retry)
        self.log = get_logger("output").bind(output=name)
        self._queue: deque[Alert] = deque()
        self._cond = threading.Condition()
        self._stats_lock = threading.Lock()
        self._inflight: list[Alert] = []
        self._retry_at = 0.0
        self._failing = False
        self._overflow_logged = 0
        self._reopen = False
        self._stopping = False
        self._abandoned = False
        self._deadline = float("inf")
        self._thread = threading.Thread(target=self._run, name=f"saker-output-{name}", daemon=True)

    # -- intake (any thread)

    def start(self) -> None:
        self._thread.start()

    def offer(self, alerts: Iterable[Alert]) -> None:
        admitted = self.gate.admit(alerts)
        if admitted:
            self._enqueue(admitted)

    def _enqueue(self, alerts: list[Alert]) -> None:
        with self._cond:
            room = max(0, self.capacity - len(self._queue))
            self._queue.extend(alerts[:room])
            excess = alerts[room:]
            self._cond.notify()
        if excess:
            self._to_spool(excess)

    def request_reopen(self) -> None:
        with self._cond:
            self._reopen = True
            self._cond.notify()

    # -- shutdown (router thread)

    def begin_stop(self, deadline: float) -> None:
        released = self.gate.drain()
        if released:
            self._enqueue(released)
        with self._cond:
            self._stopping = True
            self._deadline = deadline
            self._cond.notify()

    def join(self, timeout: float) -> bool:
        self._thread.join(max(0.0, timeout))
        return not self._thread.is_alive()

    def abandon(self) -> None:
        """The thread is stuck in a delivery past the deadline: spool its batch and queue, and leave it."""
        with self._cond:
            self._abandoned = True
            left = self._inflight + list(self._queue)
            self._queue.clear()
        self.log.error("output still delivering at shutdown; its alerts were spooled", alerts=len(left))
        self._to_spool(left)

    # -- the output's thread

    def _run(self) -> None:
        max_batch, linger = self.sink.batching()
        try:
            while self._step(max_batch, linger):
                pass
        finally:
            if not self._abandoned:
                self._spool_leftovers()
                self._close_sink()

    def _step(self, max_batch: int, linger: float) -> bool:
        """One round of the loop; False when the thread should end."""
        released = self.gate.due()
        if released:
            self._enqueue(released)
        now = time.monotonic()
        if self._stopping and now >= self._deadline:
            return False
        if len(self.spool):
            self._spill_queue()
            if now < self._retry_at:
                self._wait(min(self._retry_at, self._deadline) - now)
            else:
                self._deliver_spooled(max_batch)
            return True
        batch = self._take(max_batch, linger)
        if batch:
            self._deliver_fresh(batch)
            return True
        return not (self._stopping and not self._queue and not len(self.spool))

    def _wait(self, seconds: float) -> None:
        """Sleep until a retry is due; new alerts wake it early (to be spilled), stopping does not."""
        with self._cond:
            if not self._reopen:
                self._cond.wait(max(0.0, min(seconds, _IDLE_TICK * 4)))

    def _take(self, max_batch: int, linger: float) -> list[Alert]:
        with self._cond:
            if not self._queue and not self._stopping:
                self._cond.wait(_IDLE_TICK)
            if linger and self._queue and len(self._queue) < max_batch and not self._stopping:
                until = time.monotonic() + linger
                while len(self._queue) < max_batch and not self._stopping and not self._reopen:
                    left = until - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(min(left, _IDLE_TICK))
                    self._release_due_locked()
            count = min(max_batch, len(self._queue))
            batch = [self._queue.popleft() for _ in range(count)]
            self._inflight = batch
            return batch

    def _release_due_locked(self) -> None:
        # Called with the condition held while a batch lingers: dedup windows close on time all the same.
        released = self.gate.due()
        room = max(0, self.capacity - len(self._queue))
        self._queue.extend(released[:room])
        if released[room:]:
            self._to_spool(released[room:])

    def _deliver_fresh(self, batch: list[Alert]) -> None:
        done, error = self._attempt(batch)
        with self._cond:
            self._inflight = []
            if self._abandoned:
                return
        self.stats.delivered += done
        if error is None:
            self._recovered()
        else:
            self._failed(error)
            self._to_spool(batch[done:])

    def _deliver_spooled(self, max_batch: int) -> None:
        entries = self.spool.peek(max_batch)
        if not entries:
            return
        if self._failing:
            self.stats.retried += 1
        done, error = self._attempt([entry.alert for entry in entries])
        if done:
            self.spool.ack(entries[done - 1].end)
            self.stats.delivered += done
        if error is None:
            self._recovered()
        else:
            self._failed(error)

    def _attempt(self, alerts: list[Alert]) -> tuple[int, Exception | None]:
        """Deliver; (how many got through, the error or None)."""
        self._maybe_reopen()  # a reopen asked for before these alerts were taken applies to them
        try:
            self.sink.deliver(alerts)
        except Exception as exc:  # a sink bug must not kill the output's thread: count it, retry, log it
            return (exc.delivered if isinstance(exc, SinkError) else 0), exc
        return len(alerts), None

    def _failed(self, error: Exception) -> None:
        self.stats.failed_attempts += 1
        delay = self.backoff.next_delay()
        self._retry_at = time.monotonic() + delay
        message = redact(str(error), self.sink.secrets())
        if not self._failing:
            self.log.warning("output delivery failed; alerts kept in the spool and retried", error=message)
        else:
            self.log.debug("output delivery failed again", error=message, retry_in=round(delay, 3))
        self._failing = True

    def _recovered(self) -> None:
        if self._failing:
            self.log.info("output delivering again", failed_attempts=self.stats.failed_attempts)
        self._failing = False
        self.backoff.reset()
        self._retry_at = 0.0

    def _spill_queue(self) -> None:
        """Queued alerts go behind the spooled ones, so the spool is delivered first and order is kept."""
        with self._cond:
            alerts = list(self._queue)
            self._queue.clear()
        if alerts:
            self._to_spool(alerts)

    def _to_spool(self, alerts: list[Alert]) -> None:
        if not alerts:
            return
        kept = self.spool.append(alerts)
        lost = len(alerts) - kept
        with self._stats_lock:  # called from the intake threads and the output's thread
            self.stats.spooled += kept
            self.stats.spool_overflow += lost
            first_loss = lost and not self._overflow_logged
            self._overflow_logged = self._overflow_logged + lost if lost else 0
        if first_loss:
            self.log.error("output spool full; alerts dropped", dropped=lost)

    def _spool_leftovers(self) -> None:
        with self._cond:
            left = list(self._queue)
            self._queue.clear()
        self._to_spool(left)

    def _maybe_reopen(self) -> None:
        with self._cond:
            wanted, self._reopen = self._reopen, False
        if wanted:
            try:
                self.sink.reopen()
            except Exception as exc:  # reopening is best effort; the next delivery reports real trouble
                self.log.warning("output reopen failed", error=redact(str(exc), self.sink.secrets()))

    def _close_sink(self) -> None:
        try:
            self.sink.close()
        except Exception as exc:  # closing must not hide the shutdown of the other outputs
            self.log.warning("output close failed", error=redact(str(exc), self.sink.secrets()))

    def snapshot(self) -> dict[str, int]:
        values = asdict(self.stats)
        values["queued"] = len(self._queue)
        values["spool_pending"] = len(self.spool)
        return values


# ---------------------------------------------------------------------------- the router

class OutputRouter:
    """Fan-out of alerts to the configured outputs. `submit` never blocks on a destination."""

    def __init__(self, channels: list[OutputChannel]) -> None:
        self.channels = {channel.name: channel for channel in channels}
        self._closed = False
        for channel in channels:
            channel.start()

    @classmethod
    def from_config(cls, config: Any, *, hostname: str | None = None, names: Iterable[str] = OUTPUT_NAMES,
                    summary_seconds: float = 10.0) -> "OutputRouter":
        """Routers for every enabled `<name>_output` section, with spools per `outputs_spool`."""
        hostname = hostname if hostname is not None else socket.gethostname()
        channels = []
        for name in names:
            settings = getattr(config, f"{name}_output")
            if not settings.enabled:
                continue
            sink = load_sink(name)(settings, config)
            channels.append(OutputChannel(name, sink, settings, make_spool(config.outputs_spool, name),
                                          hostname=hostname, summary_seconds=summary_seconds))
        return cls(channels)

    def submit(self, alert: Alert) -> None:
        self.submit_many((alert,))

    def submit_many(self, alerts: Iterable[Alert]) -> None:
        """Offer alerts to every output (thread-safe); raises RuntimeError after `close`."""
        if self._closed:
            raise RuntimeError("the output router is closed")
        alerts = list(alerts)
        for channel in self.channels.values():
            channel.offer(alerts)

    def reopen(self) -> None:
        """SIGUSR1: files and programs are reopened before their next delivery."""
        for channel in self.channels.values():
            channel.request_reopen()

    def stats(self) -> dict[str, dict[str, int]]:
        """Counters per output name, plus `queued` and `spool_pending` gauges."""
        return {name: channel.snapshot() for name, channel in self.channels.items()}

    def close(self, timeout: float = 10.0) -> None:
        """Stop intake; deliver until `timeout` seconds have passed, then spool what is left."""
        if self._closed:
            return
        self._closed = True
        deadline = time.monotonic() + timeout
        for channel in self.channels.values():
            channel.begin_stop(deadline)
        for channel in self.channels.values():
            if not channel.join(deadline - time.monotonic()):
                channel.abandon()
        for channel in self.channels.values():
            channel.spool.close()


def make_spool(settings: Any, name: str) -> Spool:
    """The spool of output `name` per the `outputs_spool` section."""
    if not settings.dir:
        return MemorySpool(max_bytes=settings.max_bytes)
    return DiskSpool(Path(settings.dir) / name, max_bytes=settings.max_bytes, segment_bytes=settings.segment_bytes,
                     fsync=settings.fsync, fsync_seconds=settings.fsync_seconds)
