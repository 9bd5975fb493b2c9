"""`s3_interval`: which CloudTrail log files of a bucket to read, by the time in their key.

Forms (as the cloudtrail plugin's `s3Interval`): a start, `5d` (now minus 5 days; units w d h m s) or
`2021-03-30T18:07:17Z`; or a span `start-end` such as `3d-1d` or `2023-04-05T06:00:00Z-5d`. It filters files,
not events: a key whose name carries CloudTrail's `_<YYYYMMDDTHHmm>Z_` stamp is kept when that minute is not
before the start and not after the end; keys without a stamp are kept. Absolute times are read with a 24-hour
clock (upstream's layout uses a 12-hour one, so `18:07:17` fails there; the intended reading is clear).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_SPAN = re.compile(r"(.*)\s*-\s*(\d+[wdhms]|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)\Z")
_RELATIVE = re.compile(r"(\d+)([wdhms])\Z")
_UNITS = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1),
          "s": timedelta(seconds=1)}
_KEY_STAMP = re.compile(r"_(\d{8}T\d{4})Z_")


def _endpoint(text: str) -> timedelta | datetime:
    """A relative endpoint as the time to go back, an absolute one as a UTC time; ValueError otherwise."""
    relative = _RELATIVE.match(text)
    if relative:
        return int(relative.group(1)) * _UNITS[relative.group(2)]
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _resolve(endpoint: timedelta | datetime | None, now: datetime) -> datetime | None:
    if endpoint is None or isinstance(endpoint, datetime):
        return endpoint
    return now - endpoint


@dataclass(frozen=True)
class Bounds:
    """An interval resolved against a clock: the files of [start, end] (None = unbounded)."""

    start: datetime | None
    end: datetime | None

    def admits(self, key: str) -> bool:
        """Whether a log file key lies in the interval (keys without a time stamp always do)."""
        stamp = _KEY_STAMP.search(key)
        if stamp is None:
            return True
        minute = datetime.strptime(stamp.group(1), "%Y%m%dT%H%M").replace(tzinfo=UTC)
        return not (self.start and minute < self.start) and not (self.end and minute > self.end)

    def start_after(self, region_prefix: str) -> str | None:
        """The StartAfter that skips a region folder's earlier days (`…/CloudTrail/<region>/YYYY/MM/DD/`)."""
        return None if self.start is None else region_prefix + self.start.strftime("%Y/%m/%d/")


@dataclass(frozen=True)
class Interval:
    """A parsed `s3_interval`; relative endpoints are resolved when a listing starts."""

    start: timedelta | datetime | None = None
    end: timedelta | datetime | None = None

    @classmethod
    def parse(cls, text: str) -> Interval:
        """Parse the setting; "" means every file. Raises ValueError with the offending text."""
        text = text.strip()
        if not text:
            return cls()
        try:
            span = _SPAN.match(text)
            if span:
                return cls(_endpoint(span.group(1).strip()), _endpoint(span.group(2)))
            return cls(_endpoint(text))
        except ValueError:
            raise ValueError(f"s3_interval {text!r}: expected 5d, 3d-1d, 2021-03-30T18:07:17Z or "
                             f"2023-04-05T06:00:00Z-5d (units w, d, h, m, s)") from None

    def bounds(self, now: datetime) -> Bounds:
        return Bounds(_resolve(self.start, now), _resolve(self.end, now))
