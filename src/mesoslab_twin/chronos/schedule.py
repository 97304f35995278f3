"""Chronos 2.5's ISO 8601 repeating schedules ``R[n]/<start>/<period>`` and how they advance.

As ``Iso8601Expressions`` parses them: the regex ``(R[0-9]*)/(.*)/(P.*)``; ``R`` alone is
forever (-1); an empty start is *now*; a start without an offset is in the server's own
time zone (Joda's default zone); ``scheduleTimeZone`` (a tz name) keeps the clock fields
and replaces the zone (``withZoneRetainFields``), an unknown name being GMT. Periods are
Joda's standard ``PnYnMnWnDTnHnMnS``. A schedule is printed back as
``R<n>/<yyyy-MM-ddTHH:mm:ss.SSSZZ>/<period>`` (``R/...`` when forever).

When a job is registered, a start already older than its epsilon is *skipped forward*
(``JobUtils.skipForward``: whole periods that fit between start and now, fewer repeats); a
run more than epsilon late is skipped, not caught up (``JobScheduler.next``).
"""

from __future__ import annotations

import calendar
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo

FOREVER = -1
_SCHEDULE_RE = re.compile(r"(R[0-9]*)/(.*)/(P.*)", re.DOTALL)
_PERIOD_RE = re.compile(
    r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
    r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:[.,](\d{1,3}))?S)?)?"
)
_UNITS = ("years", "months", "weeks", "days", "hours", "minutes", "seconds", "millis")


@dataclass(frozen=True)
class Period:
    """A Joda ``Period``: calendar fields, not a fixed length."""

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: int = 0
    millis: int = 0

    def __str__(self) -> str:  # ISOPeriodFormat.standard().print
        date = "".join(
            f"{v}{u}"
            for v, u in ((self.years, "Y"), (self.months, "M"), (self.weeks, "W"), (self.days, "D"))
            if v
        )
        clock = "".join(f"{v}{u}" for v, u in ((self.hours, "H"), (self.minutes, "M")) if v)
        if self.seconds or self.millis:
            clock += f"{self.seconds}.{self.millis:03d}S" if self.millis else f"{self.seconds}S"
        if not date and not clock:
            return "PT0S"
        return "P" + date + ("T" + clock if clock else "")

    @property
    def fixed(self) -> timedelta:
        """The part of fixed length (weeks and smaller)."""
        return timedelta(
            weeks=self.weeks,
            days=self.days,
            hours=self.hours,
            minutes=self.minutes,
            seconds=self.seconds,
            milliseconds=self.millis,
        )

    @property
    def calendar_months(self) -> int:
        return self.years * 12 + self.months

    def standard_seconds(self) -> int:
        """``Period.toStandardSeconds`` (a month or year has no standard length)."""
        return int(self.fixed.total_seconds())

    def add_to(self, moment: datetime, times: int = 1) -> datetime:
        """``DateTime.plus(period.multipliedBy(times))``: months on the calendar, the rest
        on the clock of the moment's own zone."""
        if self.calendar_months:
            moment = _add_months(moment, self.calendar_months * times)
        if self.weeks or self.days:
            local = moment.replace(tzinfo=None) + timedelta(
                days=(self.weeks * 7 + self.days) * times
            )
            moment = local.replace(tzinfo=moment.tzinfo)
        clock = timedelta(
            hours=self.hours, minutes=self.minutes, seconds=self.seconds, milliseconds=self.millis
        )
        if clock:
            zone = moment.tzinfo
            moment = (moment.astimezone(UTC) + clock * times).astimezone(zone)
        return moment


def _add_months(moment: datetime, months: int) -> datetime:
    total = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(total, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def parse_period(text: str) -> Period:
    """``ISOPeriodFormat.standard().parsePeriod``. Raises ValueError."""
    match = _PERIOD_RE.fullmatch(text.strip())
    if not match or text.strip() in ("P", "PT") or text.strip().endswith("T"):
        raise ValueError(f'Invalid format: "{text}"')
    groups = list(match.groups())
    millis = int((groups.pop() or "0").ljust(3, "0"))
    y, mo, w, d, h, mi, sec = (int(g) if g else 0 for g in groups)
    return Period(y, mo, w, d, h, mi, sec, millis)


def local_zone() -> tzinfo:
    """The server's own zone (what Joda uses for a time written without an offset)."""
    offset = -time.altzone if time.daylight and time.localtime().tm_isdst else -time.timezone
    return timezone(timedelta(seconds=offset)) if offset else UTC


def zone_named(name: str) -> tzinfo:
    """``TimeZone.getTimeZone(name)``: a tz database name; anything unknown is GMT."""
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except (ImportError, ValueError, OSError, KeyError):
        pass
    match = re.fullmatch(r"(?:GMT|UTC)([+-])(\d{1,2})(?::?(\d{2}))?", name)
    if match:
        sign = -1 if match.group(1) == "-" else 1
        return timezone(
            sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3) or 0))
        )
    return UTC


def parse_time(text: str) -> datetime:
    """``DateTime.parse`` of an ISO 8601 date-time. Raises ValueError."""
    value = text.strip()
    if not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?(T[\d:.,]+)?(Z|[+-]\d{2}(:?\d{2})?)?", value):
        raise ValueError(f'Invalid format: "{text}"')
    value = value.replace(",", ".")
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    if re.fullmatch(r"\d{4}", value):
        value += "-01-01"
    elif re.fullmatch(r"\d{4}-\d{2}", value):
        value += "-01"
    fraction = re.search(r"\.(\d+)", value)
    if fraction and len(fraction.group(1)) > 6:
        value = value.replace(fraction.group(0), "." + fraction.group(1)[:6])
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=local_zone())


def format_time(moment: datetime) -> str:
    """``ISODateTimeFormat.dateTime().print``: ``2026-12-01T00:00:00.000Z``."""
    offset = moment.utcoffset() or timedelta(0)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    if not offset:
        return text + "Z"
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return text + f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def utc_now_text() -> str:
    """``DateTime.now(DateTimeZone.UTC).toString`` (what lastSuccess/lastError hold)."""
    return format_time(datetime.now(UTC))


@dataclass(frozen=True)
class Schedule:
    repeats: int  # FOREVER or what is left
    start: datetime
    period: Period

    def __str__(self) -> str:  # Iso8601Expressions.create
        count = "" if self.repeats == FOREVER else str(self.repeats)
        return f"R{count}/{format_time(self.start)}/{self.period}"

    def tail(self) -> Schedule | None:
        """``ScheduleStream.tail``: the schedule after this run (None after the last)."""
        if self.repeats == FOREVER:
            return Schedule(FOREVER, self.period.add_to(self.start), self.period)
        if self.repeats > 0:
            return Schedule(self.repeats - 1, self.period.add_to(self.start), self.period)
        return None


def parse_schedule(text: str, zone_name: str = "", now: datetime | None = None) -> Schedule:
    """``Iso8601Expressions.parse``. Raises ValueError when Chronos cannot parse it."""
    match = _SCHEDULE_RE.fullmatch(text or "")
    if not match:
        raise ValueError(f"cannot parse schedule {text!r}")
    repeat_text, start_text, period_text = match.groups()
    repeats = FOREVER if len(repeat_text) == 1 else int(repeat_text[1:])
    if start_text:
        start = parse_time(start_text)
        if zone_name:
            start = start.replace(tzinfo=zone_named(zone_name))
    else:
        start = now or datetime.now(UTC)
    return Schedule(repeats, start, parse_period(period_text))


def can_parse(text: str, zone_name: str = "") -> bool:
    try:
        parse_schedule(text, zone_name)
    except ValueError:
        return False
    return True


def skips_until(now: datetime, start: datetime, period: Period) -> int:
    """``JobUtils.calculateSkips``: whole periods from ``start`` to ``now`` (a calendar loop
    when the period has months, else whole seconds divided by the period's seconds)."""
    if period.calendar_months >= 1:
        skips, moment = 0, start
        while moment < now:
            moment = period.add_to(moment)
            skips += 1
        return skips
    seconds = period.standard_seconds()
    if seconds <= 0:
        return 0
    return int((now - start).total_seconds()) // seconds


def registered(schedule: Schedule, epsilon: Period, now: datetime) -> Schedule | None:
    """``JobUtils.makeScheduleStream``: the stream a job starts with when it is registered
    (None: it will never run)."""
    if epsilon.add_to(schedule.start) >= now:
        return schedule
    skip = skips_until(now, schedule.start, schedule.period)
    start = schedule.period.add_to(schedule.start, skip)
    if schedule.repeats == FOREVER:
        return Schedule(FOREVER, start, schedule.period)
    if schedule.repeats < skip:
        return None
    return Schedule(schedule.repeats - skip, start, schedule.period)


def window(now: datetime, epsilon: Period, horizon: timedelta) -> tuple[datetime, datetime]:
    """Runs due in (now - epsilon, now + horizon) are launched (``JobScheduler.next``)."""
    return now - epsilon.fixed - _months_back(now, epsilon), now + horizon


def _months_back(now: datetime, epsilon: Period) -> timedelta:
    if not epsilon.calendar_months:
        return timedelta(0)
    return now - _add_months(now, -epsilon.calendar_months)
