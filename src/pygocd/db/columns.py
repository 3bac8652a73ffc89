"""Column value conversions shared by repositories."""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(value: datetime) -> datetime:
    """SQLite hands timestamps back without a zone; every timestamp we store is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def as_utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def split_list(value: str | None) -> tuple[str, ...]:
    """GoCD stores agent resources and environments as comma-separated text."""
    return tuple(item for item in (value or "").split(",") if item)


def join_list(values: tuple[str, ...]) -> str:
    return ",".join(values)
