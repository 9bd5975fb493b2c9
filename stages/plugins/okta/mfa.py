"""Bounded memory of MFA failures and denied pushes, per (event type, actor), for the `countlast[N]` fields.

The okta plugin counts, for a failed MFA verification or a denied Okta Verify push, how many events of the
same kind the same actor had in the last N seconds. It keeps, per (event type, actor ID), the distinct event
times seen (at most `max_stamps`, the oldest dropped first) in a cache of 10000 keys whose entries expire
`ttl_seconds` after their last update.

Two choices differ from upstream, both so that a replay gives the same counts as a live run:
- expiry runs on event time (the newest event time seen), not on the wall clock;
- the key bound evicts the least recently updated key (LRU), where upstream's cache evicts the least
  frequently used one: a sliding window only needs recent keys, and under LFU a burst of new actors (an
  attack spraying many accounts) would evict each other while old, busy keys stayed.
Because entries are kept in update order and every entry lives the same TTL, the expired ones are at the
front, so expiry is a cheap sweep.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

NS = 1_000_000_000
MAX_KEYS = 10_000


@dataclass
class _Stamps:
    times: list[int] = field(default_factory=list)  # distinct event times (ns), in arrival order
    updated_ns: int = 0  # event time of the last update; the entry expires TTL after it


class MfaWindows:
    """Event times per key, bounded in keys, stamps per key and age."""

    def __init__(self, *, ttl_seconds: int, max_stamps: int, max_keys: int = MAX_KEYS) -> None:
        self.ttl_ns = ttl_seconds * NS
        self.max_stamps = max_stamps
        self.max_keys = max_keys
        self._entries: OrderedDict[tuple[str, str], _Stamps] = OrderedDict()
        self._newest_ns = 0

    def __len__(self) -> int:
        return len(self._entries)

    def record(self, key: tuple[str, str], time_ns: int) -> tuple[int, ...]:
        """Add one event at `time_ns` for `key`; the key's times afterwards (equal times are kept once)."""
        self._newest_ns = max(self._newest_ns, time_ns)
        self._expire()
        entry = self._entries.pop(key, None)
        if entry is None or time_ns > entry.updated_ns + self.ttl_ns:
            entry = _Stamps()
        if time_ns not in entry.times:
            entry.times.append(time_ns)
            if len(entry.times) > self.max_stamps:
                del entry.times[0]
        entry.updated_ns = max(entry.updated_ns, time_ns)
        self._entries[key] = entry
        if len(self._entries) > self.max_keys:
            self._entries.popitem(last=False)
        return tuple(entry.times)

    def _expire(self) -> None:
        while self._entries:
            oldest = next(iter(self._entries.values()))
            if self._newest_ns <= oldest.updated_ns + self.ttl_ns:
                return
            self._entries.popitem(last=False)


def count_within(times: tuple[int, ...], time_ns: int, seconds: int) -> int:
    """How many of `times` fall in the `seconds` before `time_ns`, `time_ns` itself included."""
    oldest = time_ns - seconds * NS
    return sum(1 for t in times if oldest < t <= time_ns)
