"""Quartz cron expressions, as GoCD's `<timer>` takes them (seconds first).

Fields: seconds, minutes, hours, day-of-month, month, day-of-week, optional year. Supported:
`*`, `?`, numbers, ranges `a-b`, steps `x/n`, lists, month names JAN–DEC, day names SUN–SAT
(Quartz numbers days 1=SUN … 7=SAT), `L` (last day of the month) and `d#n` (n-th weekday).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

_MONTHS = {name: i for i, name in enumerate(calendar.month_abbr) if name}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_SEARCH_YEARS = 5


class CronError(ValueError):
    pass


def _number(text: str, names: dict[str, int], low: int, high: int, field: str) -> int:
    key = text.upper()
    if key in names:
        return names[key]
    if not (text.isascii() and text.isdigit()):
        raise CronError(f"invalid value '{text}' in the {field} field")
    value = int(text)
    if not low <= value <= high:
        raise CronError(f"{field} value {value} is outside {low}-{high}")
    return value


def _parse_field(
    text: str, low: int, high: int, field: str, names: dict[str, int] | None = None
) -> frozenset[int]:
    names = {k.upper(): v for k, v in (names or {}).items()}
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise CronError(f"empty list item in the {field} field")
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not (step_text.isascii() and step_text.isdigit()) or int(step_text) == 0:
                raise CronError(f"invalid step '{step_text}' in the {field} field")
            step = int(step_text)
        if base in ("*", "?"):
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start = _number(first, names, low, high, field)
            end = _number(last, names, low, high, field)
        else:
            start = _number(base, names, low, high, field)
            end = high if slash else start
        if start > end:
            raise CronError(f"range {base} is backwards in the {field} field")
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class CronSchedule:
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None  # None: any day of month (`?` or `*` with a weekday rule)
    last_day: bool
    months: frozenset[int]
    weekdays: frozenset[int] | None  # Quartz numbering, 1 = Sunday
    nth_weekday: tuple[int, int] | None
    years: frozenset[int] | None

    def _day_matches(self, day: date) -> bool:
        quartz_weekday = (day.isoweekday() % 7) + 1
        if self.last_day and day.day != calendar.monthrange(day.year, day.month)[1]:
            return False
        if self.days is not None and day.day not in self.days:
            return False
        if self.nth_weekday is not None:
            weekday, nth = self.nth_weekday
            if quartz_weekday != weekday or (day.day - 1) // 7 + 1 != nth:
                return False
        return self.weekdays is None or quartz_weekday in self.weekdays

    def next_after(self, moment: datetime) -> datetime | None:
        """The first fire time strictly after `moment` (same time zone), or None."""
        start = moment.replace(microsecond=0) + timedelta(seconds=1)
        day = start.date()
        for _ in range(366 * _SEARCH_YEARS):
            if (
                day.month in self.months
                and (self.years is None or day.year in self.years)
                and self._day_matches(day)
            ):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        for second in sorted(self.seconds):
                            candidate = start.replace(
                                year=day.year,
                                month=day.month,
                                day=day.day,
                                hour=hour,
                                minute=minute,
                                second=second,
                            )
                            if candidate >= start:
                                return candidate
            day += timedelta(days=1)
            start = start.replace(hour=0, minute=0, second=0) if day > start.date() else start
        return None


def parse_cron(spec: str) -> CronSchedule:
    fields = spec.split()
    if len(fields) not in (6, 7):
        raise CronError(
            f"'{spec}' must have 6 or 7 fields: seconds minutes hours day-of-month month "
            "day-of-week [year]"
        )
    seconds = _parse_field(fields[0], 0, 59, "seconds")
    minutes = _parse_field(fields[1], 0, 59, "minutes")
    hours = _parse_field(fields[2], 0, 23, "hours")
    day_text, month_text, weekday_text = fields[3], fields[4], fields[5]
    if day_text != "?" and weekday_text != "?":
        raise CronError(
            "Support for specifying both a day-of-week AND a day-of-month parameter "
            "is not implemented: use '?' in one of them"
        )
    last_day = day_text.upper() == "L"
    days = (
        None
        if day_text in ("?", "*") or last_day
        else _parse_field(day_text, 1, 31, "day-of-month")
    )
    months = _parse_field(month_text, 1, 12, "month", _MONTHS)
    nth_weekday = None
    weekdays: frozenset[int] | None = None
    if "#" in weekday_text:
        weekday, _, nth = weekday_text.partition("#")
        if not (nth.isascii() and nth.isdigit()) or not 1 <= int(nth) <= 5:
            raise CronError(f"invalid '#' value in '{weekday_text}'")
        nth_weekday = (_number(weekday, _DAYS, 1, 7, "day-of-week"), int(nth))
    elif weekday_text not in ("?", "*"):
        weekdays = _parse_field(weekday_text, 1, 7, "day-of-week", _DAYS)
    years = _parse_field(fields[6], 1970, 2199, "year") if len(fields) == 7 else None
    return CronSchedule(
        seconds, minutes, hours, days, last_day, months, weekdays, nth_weekday, years
    )
