"""Chronos 2.5's ISO 8601 schedules as the twin reads and advances them (Iso8601Expressions,
JobUtils.makeScheduleStream/skipForward, ScheduleStream.tail; sources: docs/sources/lesson-6.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mesoslab_twin.chronos.schedule import (
    FOREVER,
    can_parse,
    parse_period,
    parse_schedule,
    registered,
    window,
)

NOW = datetime(2026, 12, 2, 12, 0, 30, tzinfo=UTC)
MINUTE = parse_period("PT60S")


def test_the_parts_of_a_schedule() -> None:
    forever = parse_schedule("R/2026-12-01T00:00:00Z/PT1M")
    assert forever.repeats == FOREVER and forever.start == datetime(2026, 12, 1, tzinfo=UTC)
    assert str(forever) == "R/2026-12-01T00:00:00.000Z/PT1M"
    assert str(forever.tail()) == "R/2026-12-01T00:01:00.000Z/PT1M"
    five = parse_schedule("R5//PT10S", now=NOW)
    assert five.repeats == 5 and five.start == NOW  # an empty start is now
    last = parse_schedule("R1/2026-12-01T00:00:00Z/P1D").tail()
    assert last is not None and last.repeats == 0 and last.tail() is None


def test_a_time_zone_name_keeps_the_clock_and_replaces_the_zone() -> None:
    paris = parse_schedule("R/2026-12-01T00:00:00Z/P1D", "Europe/Paris")
    assert paris.start.astimezone(UTC) == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    assert str(paris) == "R/2026-12-01T00:00:00.000+01:00/P1D"
    unknown = parse_schedule("R/2026-12-01T00:00:00Z/P1D", "Mars/Olympus")
    assert unknown.start == datetime(2026, 12, 1, tzinfo=UTC)  # GMT, like TimeZone


@pytest.mark.parametrize(
    "text",
    ["R/2026-13-01T00:00:00Z/PT1M", "R//1D", "X//PT1M", "R//P", "R//PT1M5", "R5/now/PT1M", ""],
)
def test_what_chronos_cannot_parse(text: str) -> None:
    assert not can_parse(text)


def test_periods_print_as_joda_does() -> None:
    assert str(parse_period("P1Y2M3DT4H5M6S")) == "P1Y2M3DT4H5M6S"
    assert str(parse_period("PT60S")) == "PT60S"
    month = parse_period("P1M")
    assert month.add_to(datetime(2026, 1, 31, tzinfo=UTC)) == datetime(2026, 2, 28, tzinfo=UTC)


def test_a_start_older_than_epsilon_is_skipped_forward() -> None:
    old = parse_schedule("R/2016-01-01T00:00:00Z/PT1M")
    moved = registered(old, MINUTE, NOW)
    assert moved is not None and moved.repeats == FOREVER
    assert moved.start == datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # whole minutes: 30 s ago
    low, high = window(NOW, MINUTE, timedelta(seconds=60))
    assert low < moved.start < high  # so it runs at once
    counted = registered(parse_schedule("R5/2026-12-02T11:58:00Z/PT1M"), MINUTE, NOW)
    assert counted is not None and counted.repeats == 3  # two runs skipped, not caught up
    assert registered(parse_schedule("R1/2016-01-01T00:00:00Z/PT1M"), MINUTE, NOW) is None
    assert registered(parse_schedule("R1/2016-01-01T00:00:00Z/P1M"), MINUTE, NOW) is None
    fresh = parse_schedule("R1/2026-12-02T12:00:00Z/PT1M")
    assert registered(fresh, MINUTE, NOW) == fresh  # within epsilon: kept as it is
