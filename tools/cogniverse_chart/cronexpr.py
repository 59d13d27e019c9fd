"""Cron expressions as Argo Workflows reads them (robfig/cron v3 standard parser), parsed for real.

Accepted: five fields `minute hour day-of-month month day-of-week` with `*`, `?`, lists, ranges,
steps and month/day names (jan-dec, sun-sat); descriptors @yearly @annually @monthly @weekly @daily
@midnight @hourly and `@every <duration>`; an optional `CRON_TZ=Zone ` / `TZ=Zone ` prefix.
Day matching follows robfig/cron: when both day fields are restricted, either may match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_MONTHS = {m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())}
_DAYS = {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())}
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day-of-month", 1, 31, {}),
           ("month", 1, 12, _MONTHS), ("day-of-week", 0, 6, _DAYS))
_DESCRIPTORS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
                "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
_DURATION_RE = re.compile(r"(?:([0-9]+(?:\.[0-9]+)?)(h|m|s|ms))+\Z")  # ASCII digits, as Go's parser


class CronError(ValueError):
    """An invalid cron expression or time zone; the message says which part and why."""


def zone(name: str) -> ZoneInfo:
    if not name:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CronError(f"unknown time zone '{name}' (use an IANA name such as UTC or Europe/Berlin)") from None


@dataclass(frozen=True)
class Schedule:
    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    dom_star: bool
    dow_star: bool
    tz: str = ""  # from a CRON_TZ= prefix
    every: timedelta | None = None  # @every schedules

    def day_matches(self, d: date) -> bool:
        if d.month not in self.months:
            return False
        dom = d.day in self.days
        dow = (d.isoweekday() % 7) in self.weekdays
        if self.dom_star or self.dow_star:
            return dom and dow
        return dom or dow

    def fire_times(self, tz: str, start: date, days: int) -> Iterator[datetime]:
        """UTC datetimes the schedule fires on `days` days from `start` (in its own time zone)."""
        z = zone(self.tz or tz)
        if self.every is not None:
            t = datetime(start.year, start.month, start.day, tzinfo=timezone.utc)
            end = t + timedelta(days=days)
            while t < end:
                yield t
                t += self.every
            return
        hm = sorted((h, m) for h in self.hours for m in self.minutes)
        for i in range(days):
            d = start + timedelta(days=i)
            if not self.day_matches(d):
                continue
            for h, m in hm:
                local = datetime(d.year, d.month, d.day, h, m, tzinfo=z)
                utc = local.astimezone(timezone.utc)
                if utc.astimezone(z).replace(tzinfo=None) != local.replace(tzinfo=None):
                    continue  # a wall-clock time skipped by a DST change never fires
                yield utc


def _field(text: str, name: str, lo: int, hi: int, names: dict[str, int]) -> tuple[frozenset[int], bool]:
    values: set[int] = set()
    star = False
    for part in text.split(","):
        if not part:
            raise CronError(f"{name} field '{text}': empty list element")
        rng, _, step_s = part.partition("/")
        step = 1
        if _:
            if not _digits(step_s) or int(step_s) == 0:
                raise CronError(f"{name} field '{part}': step must be a positive number")
            step = int(step_s)
        if rng in ("*", "?"):
            start, end = lo, hi
            star = star or step == 1
        else:
            a, dash, b = rng.partition("-")
            start = _number(a, name, lo, hi, names)
            end = _number(b, name, lo, hi, names) if dash else (hi if _ else start)
            if start > end:
                raise CronError(f"{name} field '{part}': range start {start} is after end {end}")
        values.update(range(start, end + 1, step))
    return frozenset(values), star


def _digits(s: str) -> bool:
    """ASCII digits only: str.isdigit() and int() also take '０' and '５' (fullwidth), which Argo's parser refuses."""
    return s.isascii() and s.isdigit()


def _number(s: str, name: str, lo: int, hi: int, names: dict[str, int]) -> int:
    low = s.lower()
    if low in names:
        return names[low]
    if not _digits(s):
        raise CronError(f"{name} field: '{s}' is not a number" + (f" or a name ({', '.join(names)})" if names else ""))
    n = int(s)
    if not lo <= n <= hi:
        raise CronError(f"{name} field: {n} is out of range {lo}-{hi}")
    return n


def _duration(s: str) -> timedelta:
    total = 0.0
    if not s or not _DURATION_RE.match(s):
        raise CronError(f"@every '{s}': expected a duration like 1h30m, 15m or 90s")
    for num, unit in re.findall(r"([0-9]+(?:\.[0-9]+)?)(ms|h|m|s)", s):
        total += float(num) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
    if total < 1:
        raise CronError(f"@every '{s}': the interval must be at least one second")
    return timedelta(seconds=total)


def parse(expression: str) -> Schedule:
    """Parse a cron expression; raise CronError naming the bad field."""
    expr = expression.strip()
    tz = ""
    m = re.match(r"^(?:CRON_TZ|TZ)=(\S+)\s+(.*)$", expr)
    if m:
        tz, expr = m.group(1), m.group(2).strip()
        zone(tz)
    if not expr:
        raise CronError("empty schedule")
    if expr.startswith("@every"):
        every = _duration(expr[len("@every"):].strip())
        full: frozenset[int] = frozenset()
        return Schedule(expression, full, full, full, full, full, True, True, tz, every)
    if expr.startswith("@"):
        if expr not in _DESCRIPTORS:
            raise CronError(f"unknown descriptor '{expr}' (known: {', '.join(_DESCRIPTORS)}, @every <duration>)")
        expr = _DESCRIPTORS[expr]
    fields = expr.split()
    if len(fields) != 5:
        raise CronError(f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}")
    parsed = [_field(f, *spec) for f, spec in zip(fields, _FIELDS)]
    (mi, _), (ho, _), (dom, dom_star), (mon, _), (dow, dow_star) = parsed
    return Schedule(expression, mi, ho, dom, mon, dow, dom_star, dow_star, tz)
