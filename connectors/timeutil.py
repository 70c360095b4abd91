"""Time helpers shared by connectors: platforms disagree on how to write a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

CHINA = timezone(timedelta(hours=8))


def required_utc(value: str | None, *, naive_zone: timezone = UTC) -> datetime:
    """``parse_utc`` for a time the record cannot be without: missing is a ``ValueError``,
    which the parsers report as a bad record like any other unreadable field."""
    parsed = parse_utc(value, naive_zone=naive_zone)
    if parsed is None:
        raise ValueError("a required time is missing")
    return parsed


def parse_utc(value: str | None, *, naive_zone: timezone = UTC) -> datetime | None:
    """ISO 8601 to aware UTC; a time without offset is read in ``naive_zone``."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=naive_zone)
    return parsed.astimezone(UTC)


def iso_utc(value: datetime) -> str:
    """``2026-11-23T04:00:00`` in UTC, no offset (WooCommerce with dates_are_gmt)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def iso_z(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
