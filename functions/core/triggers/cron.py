"""Cron schedules: parse the three accepted forms, preview fire times, convert for AWS.

Accepted: a 5-field Unix cron (`0 9 * * 1-5`), EventBridge's own `cron(m h dom mon dow
year)` and `rate(n unit)`. croniter parses and evaluates (day-of-month OR day-of-week when
both are restricted, as Unix cron does); this module only translates between the forms.

EventBridge cron needs `?` in day-of-month or day-of-week, so a Unix expression that
restricts both (`0 9 1 * MON`: the 1st, and every Monday) becomes two schedules, one per
field; their union fires exactly when the Unix one does. A minute that both would fire
(a Monday the 1st) starts one run: the dispatcher is idempotent on the scheduled time.

Time zones follow the wall clock (what Scheduler's `ScheduleExpressionTimezone` does): a
time skipped by a spring-forward change fires at the first minute after it; a time that a
fall-back change repeats fires once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import ModuleType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_AWS_CRON = re.compile(r"^cron\((.+)\)$")
_RATE_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
# Field (name, minimum, maximum) of a Unix expression, in order.
_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day-of-month", 1, 31), ("month", 1, 12))
_AWS_DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


def _croniter() -> ModuleType:
    # Imported on first use: every function loads this module with the workflow model, but
    # only the api, the dispatcher and the trigger sync evaluate an expression, and croniter
    # costs a node function's cold start ~20 ms.
    import croniter  # noqa: PLC0415 - on first use (see above)

    module: ModuleType = croniter
    return module


class CronError(ValueError):
    """An expression or time zone that cannot be scheduled; the message says why."""


@dataclass(frozen=True)
class Schedule:
    """A validated schedule: `expression` as the user wrote it, in `timezone`."""

    expression: str
    timezone: str
    # The equivalent croniter expression, or None for a rate.
    unix: str | None
    rate_seconds: int | None = None
    # Years an EventBridge cron is limited to (None: every year).
    years: frozenset[int] | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def next_runs(self, count: int, after: datetime | None = None) -> list[datetime]:
        """The next `count` fire times after `after` (default now), in the schedule's zone."""
        start = (after or datetime.now(UTC)).astimezone(self.zone)
        if self.rate_seconds is not None:
            step = timedelta(seconds=self.rate_seconds)
            first = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
            return [first + step * i for i in range(count)]
        assert self.unix is not None
        found: list[datetime] = []
        croniter = _croniter()
        iterator = croniter.croniter(self.unix, start)
        # Bounded: an expression limited to past years or to Feb 30 never fires again.
        for _ in range(count * 400):
            try:
                fire: datetime = iterator.get_next(datetime)
            except croniter.CroniterBadDateError:
                break  # no such date within croniter's search (Feb 30)
            if self.years is not None and fire.year not in self.years:
                if fire.year > max(self.years):
                    break
                continue
            if found and fire.replace(tzinfo=None) == found[-1].replace(tzinfo=None):
                continue  # the hour a fall-back change repeats: fire once
            found.append(fire)
            if len(found) == count:
                break
        return found

    def fires_at(self, minute: datetime) -> bool:
        """Whether the schedule fires in the minute that starts at `minute`."""
        start = minute.replace(second=0, microsecond=0) - timedelta(seconds=1)
        upcoming = self.next_runs(1, start)
        return bool(upcoming) and upcoming[0] == minute.replace(second=0, microsecond=0)

    def eventbridge_expressions(self) -> list[str]:
        """What EventBridge Scheduler is given: one or two expressions (see above)."""
        if self.rate_seconds is not None or self.unix is None or self.years is not None:
            return [self.expression]
        if self.expression.startswith("cron("):
            return [self.expression]
        (minutes, hours, days, months, weekdays), nth = _croniter().croniter.expand(self.unix)
        head = [_aws_field(values, *_FIELDS[i][1:]) for i, values in enumerate((minutes, hours))]
        month = _aws_field(months, 1, 12)
        day = _aws_field(days, 1, 31)
        weekday = _aws_weekdays(weekdays, nth)
        if day == "*" and weekday == "*":
            return [_aws(head, "*", month, "?")]
        if weekday == "*":
            return [_aws(head, day, month, "?")]
        if day == "*":
            return [_aws(head, "?", month, weekday)]
        return [_aws(head, day, month, "?"), _aws(head, "?", month, weekday)]


def parse(expression: str, timezone: str = "UTC") -> Schedule:
    """A schedule from any accepted form, or CronError naming what is wrong."""
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CronError(f"'{timezone}' is not an IANA time zone name") from exc
    text = " ".join(expression.split())
    if rate := _RATE.match(text):
        return _rate(text, int(rate.group(1)), rate.group(2), timezone)
    if aws := _AWS_CRON.match(text):
        unix, years = _from_aws(aws.group(1))
        return Schedule(text, timezone, unix=unix, years=years)
    fields = text.split(" ")
    if len(fields) != 5 or not _croniter().croniter.is_valid(text):
        raise CronError(
            f"'{expression}' is not a schedule: expected 5-field cron ('0 9 * * *'), "
            "cron(m h dom mon dow year) or rate(n minutes|hours|days)"
        )
    if "l" in fields[4].lower():
        raise CronError("'L' in the day-of-week field is not supported; use day-of-month 'L'")
    return Schedule(text, timezone, unix=text)


def _rate(text: str, amount: int, unit: str, timezone: str) -> Schedule:
    singular = unit.rstrip("s")
    if amount < 1:
        raise CronError("a rate needs a positive amount")
    if (amount == 1) != (unit == singular):
        # EventBridge refuses rate(1 minutes) and rate(5 minute).
        raise CronError(f"write rate({amount} {singular if amount == 1 else singular + 's'})")
    return Schedule(text, timezone, unix=None, rate_seconds=amount * _RATE_UNITS[singular])


def _from_aws(body: str) -> tuple[str, frozenset[int] | None]:
    """The croniter form of an EventBridge cron body, and the years it is limited to."""
    fields = body.split(" ")
    if len(fields) != 6:
        raise CronError(f"cron({body}) needs 6 fields: minutes hours dom month dow year")
    minute, hour, day, month, weekday, year = fields
    if (day == "?") == (weekday == "?"):
        raise CronError(f"cron({body}): exactly one of day-of-month and day-of-week must be '?'")
    if "W" in day.upper():
        raise CronError(f"cron({body}): the 'W' (nearest weekday) form is not supported")
    unix_weekday = "*" if weekday == "?" else _unix_weekdays(weekday)
    unix = " ".join((minute, hour, "*" if day == "?" else day, month, unix_weekday))
    if not _croniter().croniter.is_valid(unix):
        raise CronError(f"cron({body}) is not a valid EventBridge cron expression")
    return unix, _years(year, body)


def _unix_weekdays(field: str) -> str:
    """EventBridge day-of-week (1-7 = SUN-SAT, or names) in Unix numbering (0-6)."""

    def number(match: re.Match[str]) -> str:
        value = int(match.group(0))
        if not 1 <= value <= 7:
            raise CronError(f"day-of-week {value} is out of range 1-7")
        return str(value - 1)

    if "L" in field.upper():
        raise CronError("'L' in the day-of-week field is not supported")
    # Numbers after '#' count weeks, not days.
    return re.sub(r"(?<!#)\b\d+\b", number, field)


def _years(field: str, body: str) -> frozenset[int] | None:
    if field == "*":
        return None
    years: set[int] = set()
    for part in field.split(","):
        low, _, high = part.partition("-")
        if not (low.isdigit() and (not high or high.isdigit())):
            raise CronError(f"cron({body}): the year field must be '*', years or ranges")
        years.update(range(int(low), int(high or low) + 1))
    return frozenset(years)


def _aws(head: list[str], day: str, month: str, weekday: str) -> str:
    return f"cron({head[0]} {head[1]} {day} {month} {weekday} *)"


def _aws_field(values: list[int | str], low: int, high: int) -> str:
    """Expanded values as EventBridge writes them: `*`, `start/step`, ranges and lists."""
    if values == ["*"]:
        return "*"
    if values == ["l"]:
        return "L"
    numbers = sorted(int(v) for v in values if str(v).isdigit())
    if len(numbers) < len(values):
        raise CronError("'L' cannot be combined with other days of the month")
    if len(numbers) > 2:
        step = numbers[1] - numbers[0]
        if step > 1 and numbers == list(range(numbers[0], high + 1, step)):
            return f"{numbers[0]}/{step}"
    return _ranges(numbers)


def _aws_weekdays(values: list[int | str], nth: dict[int, set[int]]) -> str:
    if values == ["*"] and not nth:
        return "*"
    if nth:
        if len(values) != 1 or len(nth) != 1 or len(next(iter(nth.values()))) != 1:
            raise CronError("'#' (nth weekday) cannot be combined with other days of the week")
        day, weeks = next(iter(nth.items()))
        return f"{_AWS_DAY_NAMES[int(day) % 7]}#{next(iter(weeks))}"
    return ",".join(_AWS_DAY_NAMES[int(v) % 7] for v in sorted({int(v) % 7 for v in values}))


def _ranges(numbers: list[int]) -> str:
    parts: list[str] = []
    start = previous = numbers[0]
    for value in [*numbers[1:], None]:
        if value is not None and value == previous + 1:
            previous = value
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if value is not None:
            start = previous = value
    return ",".join(parts)
