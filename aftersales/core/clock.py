"""The one source of "now", so tests move time instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def now() -> datetime:
    """Aware UTC now, shifted by whatever a test travelled."""
    return datetime.now(UTC) + _offset


def travel(delta: timedelta) -> None:
    """Move the desk's clock forward (or back) by ``delta``; tests only."""
    global _offset
    _offset += delta


def reset() -> None:
    global _offset
    _offset = timedelta(0)
