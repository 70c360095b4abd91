"""What the orders module hands to the next shift: failing store syncs and the morning check.

A store whose sync fails is an item of every handover until it syncs again;
the day's first handover (``morning_check``) also gets the checks the team
does each morning, counted exactly as the home tiles and the lists they
open, one item per check and local day. Buyers tagged VIP or angry carry a
flag the handover can read, without the pages showing the tag twice.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from aftersales.core import clock, i18n
from aftersales.core.cases import URGENT_BUYER_FLAGS, CaseRef, HandoverItem, Severity
from aftersales.core.models import Role, Store
from aftersales.core.modules import HandoverWindow, Registry
from aftersales.orders import service
from aftersales.orders.models import Customer, Order, SyncState
from connectors.base import OrderStatus
from tests.conftest import sign_in
from tests.factories import create_store, create_user

pytestmark = pytest.mark.usefixtures("clean_db")

# 08:50 in Shanghai on 10 March: the morning handover is drafted for the 09:00-17:00 shift.
NOW = datetime(2026, 3, 10, 0, 50, tzinfo=UTC)
MORNING = HandoverWindow(
    start=datetime(2026, 3, 10, 1, 0, tzinfo=UTC),
    end=datetime(2026, 3, 10, 9, 0, tzinfo=UTC),
    morning_check=True,
)
EVENING = HandoverWindow(start=MORNING.end, end=MORNING.end + timedelta(hours=8))
SERIAL = iter(range(1, 1000))


async def _order(store: Store, status: OrderStatus, *, placed: timedelta, paid: timedelta | None):
    buyer = await Customer.create(
        store=store, platform_buyer_id=f"b{next(SERIAL)}", nick="买家", tags=[]
    )
    return await Order.create(
        store=store,
        platform_order_id=f"T{next(SERIAL)}",
        customer=buyer,
        status=status,
        platform_status=status.value,
        total_amount=Decimal("10.00"),
        paid_amount=Decimal("10.00") if paid is not None else Decimal("0.00"),
        placed_at=NOW - placed,
        paid_at=None if paid is None else NOW - paid,
        platform_updated_at=NOW,
        synced_at=NOW,
    )


async def _fail(store: Store, stream: str, code: str) -> SyncState:
    return await SyncState.create(
        store=store, stream=stream, last_error=f"{code}: technical text", error_code=code
    )


async def a_morning() -> dict[str, Store]:
    """Two stores failing (one needs a person, one may pass), a paused one, a healthy one;
    orders that each check counts and some just short of it.

    (Yesterday's ratings are the reviews module's morning item: tests/reviews.)"""
    clock.travel(NOW - clock.now())
    stores = {
        name: await create_store(name=name) for name in ("credentials", "flaky", "paused", "fine")
    }
    await _fail(stores["credentials"], "orders", "auth")
    await _fail(stores["flaky"], "after_sales", "timeout")
    await _fail(stores["paused"], "orders", "auth")
    await Store.filter(id=stores["paused"].id).update(enabled=False)
    await SyncState.create(store=stores["fine"], stream="orders", last_synced_at=NOW)

    shop = stores["fine"]
    for _ in range(2):
        await _order(shop, OrderStatus.AWAITING_PAYMENT, placed=timedelta(hours=30), paid=None)
    await _order(shop, OrderStatus.AWAITING_PAYMENT, placed=timedelta(hours=20), paid=None)
    waiting = OrderStatus.AWAITING_SHIPMENT
    await _order(shop, waiting, placed=timedelta(hours=60), paid=timedelta(hours=50))
    await _order(shop, waiting, placed=timedelta(hours=40), paid=timedelta(hours=40))
    await _order(shop, OrderStatus.SHIPPED, placed=timedelta(hours=90), paid=timedelta(hours=90))

    return stores


def by_ref(items: list[HandoverItem]) -> dict[str, HandoverItem]:
    return {str(item.ref): item for item in items}


async def test_the_morning_handover_gets_failing_stores_and_the_days_checks(app) -> None:
    stores = await a_morning()
    registry: Registry = app.state.registry

    items = by_ref(await registry.handover_items(MORNING))

    credentials, flaky = stores["credentials"].id, stores["flaky"].id
    assert set(items) == {
        f"orders:store:{credentials}",
        f"orders:store:{flaky}",
        "orders:unpaid_over_a_day:20260310",
        "orders:late_shipment:20260310",
    }  # not the paused store, not the healthy one
    broken = items[f"orders:store:{credentials}"]
    assert broken.severity is Severity.OVERDUE  # a person must re-enter the credentials
    assert broken.summary == "Store credentials is not syncing (Orders)"
    assert broken.href == f"/orders/stores/{credentials}" and "owner" in broken.todo
    passing = items[f"orders:store:{flaky}"]
    assert passing.severity is Severity.DUE_THIS_SHIFT  # the next sync may succeed by itself
    assert passing.summary == "Store flaky is not syncing (After-sales)"

    unpaid = items["orders:unpaid_over_a_day:20260310"]
    late = items["orders:late_shipment:20260310"]
    assert unpaid.summary == "2 orders unpaid for over a day"
    assert late.summary == "1 paid orders not shipped within 48 hours"
    assert late.severity is Severity.OVERDUE and unpaid.severity is Severity.DUE_THIS_SHIFT
    counts = await service.morning_counts()  # the home tiles' numbers
    assert (unpaid.params["count"], late.params["count"]) == (
        counts.unpaid_over_a_day,
        counts.late_shipments,
    )
    assert all(i.todo and i.if_fails for i in (broken, passing, unpaid, late))

    token = i18n.set_locale("zh_CN")
    try:
        assert unpaid.summary == "2 个订单超过一天未付款"
        assert broken.summary == "店铺 credentials 同步失败（订单）"
    finally:
        i18n._current.reset(token)


async def test_each_check_links_to_the_list_its_tile_opens_with_as_many_orders(
    client: httpx.AsyncClient, app
) -> None:
    await a_morning()
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    home = (await client.get("/")).text
    for item in await app.state.registry.handover_items(MORNING):
        if item.ref.kind in service.CHECKS:
            assert f'href="{item.href}"' in home  # the very link of the home tile
            page = (await client.get(item.href)).text
            rows = len(re.findall(r'<a href="/orders/\d+">', page))
            assert rows == item.params["count"], item.ref


async def test_a_later_handover_has_no_morning_check_and_a_second_draft_the_same_items(
    app,
) -> None:
    stores = await a_morning()
    registry: Registry = app.state.registry
    evening = by_ref(await registry.handover_items(EVENING))
    assert set(evening) == {
        f"orders:store:{stores['credentials'].id}",
        f"orders:store:{stores['flaky'].id}",
    }
    first = by_ref(await registry.handover_items(MORNING))
    clock.travel(timedelta(minutes=40))  # the job ran late: still the same morning
    assert set(by_ref(await registry.handover_items(MORNING))) == set(first)


async def test_nothing_to_hand_over_when_stores_sync_and_the_checks_are_clear(app) -> None:
    clock.travel(NOW - clock.now())
    shop = await create_store(name="fine")
    await SyncState.create(store=shop, stream="orders", last_synced_at=NOW)
    await _order(shop, OrderStatus.SHIPPED, placed=timedelta(hours=90), paid=timedelta(hours=90))
    assert await app.state.registry.handover_items(MORNING) == []


async def test_the_handover_reads_each_items_live_state(app) -> None:
    stores = await a_morning()
    registry: Registry = app.state.registry
    store_ref = CaseRef("orders", "store", stores["credentials"].id)
    unpaid_ref = CaseRef("orders", "unpaid_over_a_day", 20260310)

    live = await registry.resolve_cases([store_ref, unpaid_ref])
    assert live[store_ref].open and live[store_ref].text == "Sync of store credentials"
    assert live[store_ref].href == f"/orders/stores/{stores['credentials'].id}"
    assert live[store_ref].status_label == "Sync failing"
    assert live[unpaid_ref].open and live[unpaid_ref].status_label == "Orders still to do"
    assert live[unpaid_ref].text == "Unpaid for more than a day (2026-03-10)"

    # The owner fixed the credentials and the sync ran; the buyers paid.
    await SyncState.filter(store_id=stores["credentials"].id).update(
        last_error=None, error_code=None, last_synced_at=NOW
    )
    await Order.filter(status=OrderStatus.AWAITING_PAYMENT).update(
        status=OrderStatus.AWAITING_SHIPMENT, paid_at=NOW
    )
    fixed = await registry.resolve_case(store_ref)
    assert fixed is not None and not fixed.open and fixed.status_label == "Syncing again"
    paid = await registry.resolve_case(unpaid_ref)
    assert paid is not None and not paid.open and paid.status_label == "None left"

    assert await registry.resolve_case(CaseRef("orders", "store", 9999)) is None


async def test_vip_and_angry_buyers_carry_a_flag_and_pages_show_the_tag_once(
    client: httpx.AsyncClient, app
) -> None:
    store = await create_store()
    tagged = {
        "vip": ["vip"],
        "angry": ["angry", "催发货"],
        "both": ["difficult", "vip", "angry"],
        "none": ["difficult"],
    }
    buyers = {
        name: await Customer.create(store=store, platform_buyer_id=name, nick=name, tags=tags)
        for name, tags in tagged.items()
    }
    flags = await app.state.registry.buyer_flags([b.id for b in buyers.values()])
    keys = {name: {f.key for f in flags.get(b.id, [])} for name, b in buyers.items()}
    assert keys == {"vip": {"vip"}, "angry": {"angry"}, "both": {"vip", "angry"}, "none": set()}
    assert all(k <= URGENT_BUYER_FLAGS for k in keys.values())

    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    page = (
        await client.get(
            f"/orders/customers/{buyers['both'].id}", headers={"Accept-Language": "zh-CN"}
        )
    ).text
    chips = re.findall(r'<span class="chip[^"]*"[^>]*>([^<]*)</span>', page)
    assert sorted(chips) == sorted(["难沟通", "VIP", "情绪激动"])  # each mark once
    assert 'class="chip tag tag-vip"' in page and 'class="chip tag tag-angry"' in page
