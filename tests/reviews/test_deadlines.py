"""The review clock: windows per store, escalation after a day untouched, expiry closes."""

from __future__ import annotations

import html
from datetime import timedelta

import httpx
import pytest

from aftersales.core import cases, clock
from aftersales.core.models import AuditEvent, Role
from aftersales.reviews import deadlines, jobs
from aftersales.reviews.models import ReplyState, ReviewCase, ReviewCaseStatus, ReviewOutcome
from tests.conftest import csrf_from, sign_in
from tests.core.test_home_tiles import TILE, TOTAL
from tests.factories import create_store, create_user
from tests.reviews.intake_helpers import record, take

pytestmark = pytest.mark.usefixtures("clean_db")


async def _events(case: ReviewCase, action: str) -> int:
    return await AuditEvent.filter(
        subject_type="review_case", subject_id=str(case.id), action=action
    ).count()


async def test_an_untouched_case_is_escalated_after_a_day_and_a_touched_one_is_not() -> None:
    store = await create_store()
    await take(store, [record(rid="U", created_at=clock.now(), rating=1, text="差")])
    await take(store, [record(rid="T", created_at=clock.now(), rating=2, text="慢")])
    untouched, touched = await ReviewCase.all().order_by("id")

    clock.travel(timedelta(hours=23))
    await ReviewCase.filter(id=touched.id).update(touched_at=clock.now())  # an agent called
    assert (await deadlines.sweep()).escalated == 0  # not a day yet

    clock.travel(timedelta(hours=2))
    assert await jobs.review_deadline_sweep({}) == 1
    assert (await ReviewCase.get(id=untouched.id)).escalated
    assert not (await ReviewCase.get(id=touched.id)).escalated
    assert await _events(untouched, "review_case.escalated") == 1
    assert (await deadlines.sweep()).escalated == 0  # escalated once, not every minute

    clock.travel(timedelta(hours=23))  # the agent's call was a day ago now
    assert (await deadlines.sweep()).escalated == 1


async def test_windows_come_from_the_store_and_both_passed_closes_as_expired() -> None:
    store = await create_store()
    store.settings = {"timers": {"review_explain_days": 2, "review_revise_days": 5}}
    await store.save()
    rated = clock.now()
    await take(store, [record(created_at=rated, rating=1, text="差评")])
    (case,) = await ReviewCase.all()
    assert case.explain_by == rated + timedelta(days=2)
    assert case.revise_by == rated + timedelta(days=5)
    assert case.due_at == case.explain_by  # the nearer one

    clock.travel(timedelta(days=3))
    outcome = await deadlines.sweep()
    case = await ReviewCase.get(id=case.id)
    assert outcome.moved == 1 and case.due_at == case.revise_by  # explanation window gone
    assert case.status is not ReviewCaseStatus.CLOSED

    clock.travel(timedelta(days=3))
    assert (await deadlines.sweep()).expired == 1
    case = await ReviewCase.get(id=case.id)
    assert case.status is ReviewCaseStatus.CLOSED
    assert case.outcome is ReviewOutcome.WINDOW_EXPIRED and case.due_at is None
    assert await _events(case, "review_case.closed") == 1


def test_the_timers_are_store_settings_marked_unverified() -> None:
    fields = {f.key: f for f in cases.timer_fields()}
    for name in ("review_explain_days", "review_revise_days"):
        assert cases.TIMER_DEFAULTS[name] == 30
        assert "unverified" in fields[name].label and "Not confirmed" in fields[name].help


async def test_supervisors_see_the_escalated_follow_ups_on_a_tile_agents_do_not(
    client: httpx.AsyncClient, app
) -> None:
    store = await create_store()
    await take(store, [record(created_at=clock.now(), rating=1, text="差") for _ in range(2)])
    clock.travel(timedelta(days=1, minutes=5))
    assert await deadlines.escalate_untouched() == 2
    await ReviewCase.filter(id=(await ReviewCase.first()).id).update(status=ReviewCaseStatus.CLOSED)
    await create_user(username="boss", role=Role.SUPERVISOR)
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "boss")
    tiles = {label: (href, int(value)) for _, href, value, label in TILE.findall(
        (await client.get("/")).text)}  # fmt: skip
    href, value = tiles["Review follow-ups untouched for a day"]
    assert (html.unescape(href), value) == ("/reviews/?escalated=1", 1)
    listed = await client.get(html.unescape(href))
    assert TOTAL.search(listed.text).group(1) == "1"
    await client.post("/logout", data={"csrf_token": await csrf_from(client, "/")})
    await sign_in(client, "agent")
    home = (await client.get("/")).text
    assert "Review follow-ups overdue" in home
    assert "Review follow-ups untouched for a day" not in home


async def test_once_explained_the_case_is_due_when_the_buyer_can_no_longer_revise() -> None:
    store = await create_store()
    store.settings = {"timers": {"review_explain_days": 2, "review_revise_days": 5}}
    await store.save()
    await take(store, [record(created_at=clock.now(), rating=1, text="差评")])
    (case,) = await ReviewCase.all()
    assert case.due_at == case.explain_by
    await ReviewCase.filter(id=case.id).update(reply_state=ReplyState.POSTED)
    assert (await deadlines.sweep()).moved == 1
    case = await ReviewCase.get(id=case.id)
    assert case.due_at == case.revise_by and case.status is ReviewCaseStatus.NEW
    assert (await deadlines.sweep()).moved == 0  # once
