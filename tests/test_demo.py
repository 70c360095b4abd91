"""The demo desk as ``aftersales demo`` loads it: nothing in it happened in the future."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tortoise import Tortoise, fields

from aftersales import demo
from aftersales.core import clock
from aftersales.core.config import Settings
from aftersales.returns.models import ReturnTracking

# Times that are meant to lie ahead: deadlines, and when the outbox next tries or a lease ends.
AHEAD = {
    "due_at",
    "platform_deadline",
    "next_attempt_at",
    "locked_until",
    "expires_at",
    "window_end",  # a handover's: the end of the shift that received it
}
# Minutes past the hour to load at: the demo plans its shop on whole hours, so late in an
# hour its newest orders were paid "later" than now. Always ahead of the real clock, since
# the database stamps some rows (users, stores) with its own time.
MINUTES = [59, 5]


def is_deadline(name: str) -> bool:
    return name in AHEAD or name.endswith("_by")


@pytest.mark.parametrize("minute", MINUTES)
async def test_after_loading_the_demo_no_stored_time_is_later_than_now(
    clean_db: Settings, minute: int
) -> None:
    now = (datetime.now(UTC) + timedelta(days=1)).replace(minute=minute)
    clock.travel(now - clock.now())
    from connectors import demo as demo_platform

    demo_platform.DECISIONS.clear()
    demo_platform.DECISIONS_BY_KEY.clear()
    await demo.load("demo", "demo-desk-2026", clean_db)
    latest = clock.now() + timedelta(seconds=5)  # the load itself took a moment
    checked, future = 0, []
    for app in Tortoise.apps.values():
        for model in app.values():
            columns = [
                name
                for name, field in model._meta.fields_map.items()
                if isinstance(field, fields.DatetimeField) and not is_deadline(name)
            ]
            for column in columns:
                count = await model.filter(**{f"{column}__not_isnull": True}).count()
                late = await model.filter(**{f"{column}__gt": latest}).count()
                checked += count
                if late:
                    future.append(f"{model._meta.db_table}.{column}: {late} of {count}")
    for tracking in await ReturnTracking.all():
        for event in tracking.events:
            checked += 1
            if datetime.fromisoformat(event["at"]) > latest:
                future.append(f"return_trackings.events: {event}")
    assert checked > 1000, "the demo loaded orders, refunds and returns"
    assert not future, future
