"""Every home tile's number is the total of the list its link opens, for every role."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import httpx
import pytest

from aftersales import demo
from aftersales.core import clock
from aftersales.core.config import Settings
from aftersales.core.models import OutboxMessage, OutboxStatus, Role
from aftersales.orders.models import SyncState
from aftersales.refunds import service as refunds
from aftersales.refunds.models import Refund, RefundKind, RefundStatus
from connectors import demo as demo_platform
from connectors.base import RefundDecision
from tests.conftest import sign_in
from tests.factories import create_user

TILE = re.compile(
    r'<a class="tile (\w+)" (?:href="([^"]*)")?>\s*<span class="value">(\d+)</span>\s*'
    r'<span class="label">([^<]*)</span>'
)
TOTAL = re.compile(r'<p class="muted">\s*(\d+) (?:orders?|refunds?|cases?|stores?|handovers?)\b')


async def populated_desk(settings: Settings) -> None:
    """The demo desk, plus the trouble a real one has: a failing sync, failing write-backs."""
    demo_platform.DECISIONS.clear()
    demo_platform.DECISIONS_BY_KEY.clear()
    await demo.load("demo", "demo-desk-2026", settings)
    await SyncState.filter(stream="orders").update(last_error="AuthFailed: token expired")
    agent = await create_user(role=Role.AGENT)
    requests = await Refund.filter(
        status=RefundStatus.REQUESTED, kind=RefundKind.REFUND_ONLY
    ).order_by("id").limit(2)  # fmt: skip
    assert len(requests) == 2
    approved = await refunds.approve(requests[0].id, actor=agent)
    refused = await refunds.reject(requests[1].id, actor=agent, reason="买家已签收，无质量问题")
    # The platform refused both write-backs for good (as writeback.deliver records it).
    for decision, kind in ((approved, RefundDecision.APPROVE), (refused, RefundDecision.REJECT)):
        assert decision.writeback is not None
        await OutboxMessage.filter(id=decision.writeback.id).update(
            status=OutboxStatus.FAILED, last_error="platform: refund closed"
        )
        await refunds.fail_writeback(decision.refund.id, kind, "platform: refund closed")


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR, Role.OWNER])
async def test_every_tile_counts_exactly_the_list_behind_its_link(
    client: httpx.AsyncClient, clean_db: Settings, role: Role
) -> None:
    # Half a minute past a whole minute: no time filter's edge moves between the two pages.
    clock.travel(timedelta(seconds=30 - clock.now().second))
    await populated_desk(clean_db)
    user = await create_user(role=role)
    await sign_in(client, user.username)
    home = (await client.get("/")).text
    tiles = [
        (html.unescape(href or ""), int(value), label)
        for _, href, value, label in TILE.findall(home)
    ]
    labels = {label for _, _, label in tiles}
    assert {
        "Unpaid for more than a day", "Paid but not shipped within 48 hours",
        "Orders in the last 24 hours", "Store syncs failing", "Refunds due within 2 hours",
        "Refunds overdue", "Refund write-backs failing", "Parcels to intercept",
        "Returns awaiting receipt", "Parcels delivered, not yet scanned", "Returns to inspect",
        "Return deadlines within 2 hours", "Return deadlines missed",
        "New negative reviews since yesterday", "Review follow-ups due within 2 hours",
        "Review follow-ups overdue",
    } <= labels, labels  # fmt: skip
    assert sum(1 for _, value, _ in tiles if value) >= 8, tiles
    for href, value, label in tiles:
        if not href:
            # Only a page this role may not open is left unlinked (agents and the stores).
            assert role is Role.AGENT and label == "Store syncs failing", label
            continue
        page = await client.get(href)
        assert page.status_code == 200, (label, href, page.status_code)
        total = TOTAL.search(page.text)
        assert total, (label, href)
        assert int(total.group(1)) == value, (label, href, value, total.group(1))
