"""Cron schedules: the three forms, previews in time zones, and the conversion to
EventBridge's cron, which must fire exactly when the Unix expression does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from functions.core.triggers import cron

START = datetime(2026, 1, 1, tzinfo=UTC)


def _fires(schedule: cron.Schedule, days: int) -> set[datetime]:
    """Every fire time in the next `days` days, by croniter."""
    end = START + timedelta(days=days)
    found: set[datetime] = set()
    after = START - timedelta(seconds=1)
    while fires := schedule.next_runs(50, after):
        found.update(fire for fire in fires if fire < end)
        if fires[-1] >= end:
            break
        after = fires[-1]
    return found


@pytest.mark.parametrize(
    "unix",
    [
        "0 9 * * *",
        "*/15 9-17 * * 1-5",
        "0 9 1 * MON",  # both days restricted: the 1st OR every Monday
        "30 6 1,15 * 5",
        "0 0 */2 * 0",
        "5 4 * JAN,JUL 7",
        "0 12 L * *",
        "0 8 * * 5#2",
        "0 0 29 2 *",
        "0,30 */6 10-20 * SAT,SUN",
    ],
)
def test_the_eventbridge_expressions_fire_exactly_when_the_unix_one_does(unix: str) -> None:
    schedule = cron.parse(unix, "Europe/Berlin")
    expressions = schedule.eventbridge_expressions()
    assert 1 <= len(expressions) <= 2
    union: set[datetime] = set()
    for expression in expressions:
        assert expression.startswith("cron(") and expression.endswith(" *)")
        fields = expression.removeprefix("cron(").removesuffix(")").split(" ")
        assert len(fields) == 6 and (fields[2] == "?") != (fields[4] == "?")
        union |= _fires(cron.parse(expression, "Europe/Berlin"), 120)
    assert union == _fires(schedule, 120)


def test_both_days_restricted_become_two_schedules() -> None:
    assert cron.parse("0 9 1 * MON").eventbridge_expressions() == [
        "cron(0 9 1 * ? *)",
        "cron(0 9 ? * MON *)",
    ]


def test_aws_forms_pass_through_unchanged() -> None:
    for expression in ("cron(0 9 ? * MON-FRI *)", "rate(5 minutes)", "rate(1 hour)"):
        assert cron.parse(expression).eventbridge_expressions() == [expression]


def test_next_runs_are_in_the_schedule_time_zone() -> None:
    after = datetime(2026, 6, 1, 12, tzinfo=UTC)
    fires = cron.parse("0 9 * * *", "Asia/Shanghai").next_runs(3, after)
    assert [f.isoformat() for f in fires] == [
        "2026-06-02T09:00:00+08:00",
        "2026-06-03T09:00:00+08:00",
        "2026-06-04T09:00:00+08:00",
    ]


def test_a_time_skipped_by_spring_forward_fires_at_the_first_minute_after() -> None:
    after = datetime(2026, 3, 7, 12, tzinfo=ZoneInfo("America/New_York"))
    fires = cron.parse("30 2 * * *", "America/New_York").next_runs(2, after)
    assert [f.isoformat() for f in fires] == [
        "2026-03-08T03:00:00-04:00",
        "2026-03-09T02:30:00-04:00",
    ]


def test_a_time_repeated_by_fall_back_fires_once() -> None:
    after = datetime(2026, 10, 31, 12, tzinfo=ZoneInfo("America/New_York"))
    fires = cron.parse("30 1 * * *", "America/New_York").next_runs(2, after)
    assert [f.isoformat() for f in fires] == [
        "2026-11-01T01:30:00-04:00",
        "2026-11-02T01:30:00-05:00",
    ]


def test_fires_at_names_the_minute_in_its_zone() -> None:
    schedule = cron.parse("0 9 * * *", "Asia/Shanghai")
    assert schedule.fires_at(datetime(2026, 6, 2, 1, 0, tzinfo=UTC))  # 09:00 in Shanghai
    assert not schedule.fires_at(datetime(2026, 6, 2, 9, 0, tzinfo=UTC))


def test_aws_cron_years_limit_the_preview() -> None:
    fires = cron.parse("cron(0 9 ? * MON *)").next_runs(1, START)
    assert fires[0].year == 2026
    assert cron.parse("cron(0 9 1 1 ? 2020)").next_runs(1, START) == []


@pytest.mark.parametrize(
    ("expression", "timezone", "reason"),
    [
        ("every blue moon", "UTC", "is not a schedule"),
        ("0 9 * * * *", "UTC", "is not a schedule"),
        ("61 9 * * *", "UTC", "is not a schedule"),
        ("cron(0 9 * * * *)", "UTC", "exactly one of day-of-month and day-of-week"),
        ("cron(0 9 15W * ? *)", "UTC", "'W'"),
        ("cron(0 9 ? * 8 *)", "UTC", "out of range"),
        ("rate(1 minutes)", "UTC", "rate(1 minute)"),
        ("rate(0 minutes)", "UTC", "positive"),
        ("0 9 * * *", "Mars/Base", "IANA"),
    ],
)
def test_bad_schedules_say_why(expression: str, timezone: str, reason: str) -> None:
    with pytest.raises(cron.CronError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        cron.parse(expression, timezone)
