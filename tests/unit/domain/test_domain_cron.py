"""Quartz cron expressions as GoCD timers use them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pygocd.domain.cron import CronError, parse_cron

FRIDAY_MORNING = datetime(2026, 11, 27, 9, 0, 0, tzinfo=UTC)  # a Friday


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("0 0 22 ? * MON-FRI", datetime(2026, 11, 27, 22, 0, 0, tzinfo=UTC)),
        ("0 0 22 ? * SAT,SUN", datetime(2026, 11, 28, 22, 0, 0, tzinfo=UTC)),
        ("0/30 * * * * ?", datetime(2026, 11, 27, 9, 0, 30, tzinfo=UTC)),
        ("0 15 10 ? * 6#3", datetime(2026, 12, 18, 10, 15, 0, tzinfo=UTC)),
        ("0 0 12 L * ?", datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)),
        ("0 0 0 1 JAN ? 2027", datetime(2027, 1, 1, 0, 0, 0, tzinfo=UTC)),
        ("0 0 9 * * ?", datetime(2026, 11, 28, 9, 0, 0, tzinfo=UTC)),
        ("5-7 0 9 27 NOV ?", datetime(2026, 11, 27, 9, 0, 5, tzinfo=UTC)),
        ("0 0 1 29 FEB ?", datetime(2028, 2, 29, 1, 0, 0, tzinfo=UTC)),
    ],
)
def test_next_fire_time(spec: str, expected: datetime) -> None:
    assert parse_cron(spec).next_after(FRIDAY_MORNING) == expected


def test_a_schedule_that_never_fires_again_gives_none() -> None:
    assert parse_cron("0 0 0 1 JAN ? 2020").next_after(FRIDAY_MORNING) is None


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("* * * *", "must have 6 or 7 fields"),
        ("0 0 0 1 * MON", "day-of-week AND a day-of-month"),
        ("61 * * ? * *", "outside 0-59"),
        ("0 0 5-1 ? * *", "backwards"),
        ("0/0 * * ? * *", "invalid step"),
        ("x * * ? * *", "invalid value 'x'"),
        ("0 0 0 ? * MON#9", "invalid '#'"),
        ("0,,1 * * ? * *", "empty list item"),
    ],
)
def test_invalid_specs_say_why(spec: str, message: str) -> None:
    with pytest.raises(CronError, match=message):
        parse_cron(spec)


def test_non_ascii_digits_are_invalid_values() -> None:
    with pytest.raises(CronError):
        parse_cron("¹ * * ? * *")
