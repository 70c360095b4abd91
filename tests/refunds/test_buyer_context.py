"""The buyer's tags, notes and flags where decisions are made: both queues and the case pages.

Tags and notes belong to orders (``Customer``); the "frequent refunds" flag is
the refunds module's word, asked through ``Registry.buyer_flags``. Everything
here goes through the real app: the demo shop synced, pages fetched as an
agent would, forms posted with their CSRF token.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import httpx
from tortoise.transactions import in_transaction

from aftersales.core import clock
from aftersales.core.models import AuditEvent, Role, Store, User
from aftersales.core.modules import Registry
from aftersales.orders import service as orders_service
from aftersales.orders.models import Customer, Order
from aftersales.refunds import buyers, intake
from aftersales.refunds.models import Refund, RefundStatus
from aftersales.returns.models import ReturnCase
from connectors.base import AfterSaleKind, AfterSaleRecord, AfterSaleStatus
from tests.conftest import csrf_from, sign_in
from tests.factories import create_user
from tests.refunds.test_service import demo_shop
from tests.returns.test_api_flow import open_return

ZH = {"Accept-Language": "zh-CN"}


async def buyer_of(order_id: int | None) -> Customer:
    order = await Order.get(id=order_id)
    return await Customer.get(id=order.customer_id)


async def tag(customer: Customer, actor: User, *tags: str, notes: str = "") -> None:
    await orders_service.update_customer(customer, tags=list(tags), notes=notes, actor=actor)


async def buyer_asks_for_a_refund(store: Store, order: Order, number: int) -> None:
    """A new refund-only request from the platform, through the refunds record handler."""
    now = clock.now()
    record = AfterSaleRecord(
        platform_refund_id=f"FREQ-{order.id}-{number}",
        platform_order_id=order.platform_order_id,
        kind=AfterSaleKind.REFUND_ONLY,
        status=AfterSaleStatus.REQUESTED,
        platform_status="WAIT_SELLER_AGREE",
        requested_amount=Decimal("1.00"),
        reason="不想要了",
        created_at=now - timedelta(hours=number),
        updated_at=now - timedelta(hours=number),
        platform_deadline=now + timedelta(days=2),
    )
    async with in_transaction() as conn:
        await intake.intake(store, [record], conn)


def buyer_cell(page: str, href: str) -> str:
    """The queue row that links to ``href``, as text (its buyer cell and chips included)."""
    row = next(r for r in page.split("<tr") if f'href="{href}"' in r)
    return row


async def test_tags_and_notes_show_on_both_queues_and_every_case_page(
    client: httpx.AsyncClient, app
) -> None:
    await demo_shop()
    agent = await create_user(username="agent", role=Role.AGENT)
    refund = await Refund.filter(status=RefundStatus.REQUESTED).order_by("due_at", "id").first()
    assert refund is not None
    refund_buyer = await buyer_of(refund.order_id)
    await tag(refund_buyer, agent, "vip", "angry", "催发货", notes="晚上九点后再打电话")
    case, _, _ = await open_return(agent)
    case_buyer = await buyer_of(case.order_id)
    await tag(case_buyer, agent, "difficult", "只收顺丰", notes="退货要拍开箱视频")
    await sign_in(client, "agent")

    queue = (await client.get("/refunds/", headers=ZH)).text
    row = buyer_cell(queue, f"/refunds/{refund.id}")
    assert "VIP" in row and "情绪激动" in row and "催发货" in row
    assert 'class="chip tag tag-angry"' in row
    returns = (await client.get("/returns/", headers=ZH)).text
    row = buyer_cell(returns, f"/returns/{case.id}")
    assert "难沟通" in row  # a known tag in words, never its key
    assert "difficult<" not in row and "只收顺丰" in row

    refund_page = (await client.get(f"/refunds/{refund.id}", headers=ZH)).text
    assert "买家标签与备注" in refund_page
    assert "情绪激动" in refund_page and "晚上九点后再打电话" in refund_page
    case_page = (await client.get(f"/returns/{case.id}", headers=ZH)).text
    assert "只收顺丰" in case_page and "退货要拍开箱视频" in case_page
    order_page = (await client.get(f"/orders/{refund.order_id}", headers=ZH)).text
    assert "情绪激动" in order_page and "晚上九点后再打电话" in order_page
    assert ">angry<" not in refund_page + order_page  # the stored key never shows


async def test_the_queues_load_the_buyers_flags_once_per_page(
    client: httpx.AsyncClient, app, monkeypatch
) -> None:
    """One ``buyer_flags`` call per queue page, however many rows (no query per row)."""
    await demo_shop()
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    registry: Registry = app.state.registry
    calls: list[list[int]] = []
    real = registry.buyer_flags

    async def counted(customer_ids: list[int]) -> dict:
        calls.append(list(customer_ids))
        return await real(customer_ids)

    monkeypatch.setattr(registry, "buyer_flags", counted)
    page = (await client.get("/refunds/?status=any")).text
    rows = len(re.findall(r'href="/refunds/\d+"', page))
    assert rows > 3 and len(calls) == 1 and len(calls[0]) > 1


async def test_a_buyer_is_marked_from_the_third_refund_request_in_90_days(
    client: httpx.AsyncClient, app
) -> None:
    store = await demo_shop()
    await create_user(username="agent", role=Role.AGENT)
    asked = set(await Refund.all().values_list("order_id", flat=True))
    order = await Order.filter(id__not_in=list(asked)).order_by("id").first()
    assert order is not None, "the demo shop has an order with no refund"
    await Refund.filter(order__customer_id=order.customer_id).delete()  # a buyer with none yet
    await sign_in(client, "agent")

    for number in (1, 2):
        await buyer_asks_for_a_refund(store, order, number)
    assert await app.state.registry.buyer_flags([order.customer_id]) == {}
    refund = await Refund.filter(order_id=order.id).order_by("-id").first()
    queue = (await client.get("/refunds/?status=any", headers=ZH)).text
    assert "频繁退款" not in buyer_cell(queue, f"/refunds/{refund.id}")

    await buyer_asks_for_a_refund(store, order, 3)
    flags = await app.state.registry.buyer_flags([order.customer_id])
    assert [f.key for f in flags[order.customer_id]] == ["frequent_refunds"]
    queue = (await client.get("/refunds/?status=any", headers=ZH)).text
    row = buyer_cell(queue, f"/refunds/{refund.id}")
    assert "频繁退款" in row and 'title="90 天内 3 次退款申请（满 3 次标记）"' in row
    page = (await client.get(f"/refunds/{refund.id}", headers=ZH)).text
    assert "频繁退款: 90 天内 3 次退款申请（满 3 次标记）" in page

    # Ninety days on, the requests are out of the window and the mark is gone.
    clock.travel(timedelta(days=buyers.WINDOW_DAYS + 1))
    assert await app.state.registry.buyer_flags([order.customer_id]) == {}


async def test_a_hand_set_frequent_refunds_tag_and_the_flag_show_once(
    client: httpx.AsyncClient, app
) -> None:
    store = await demo_shop()
    agent = await create_user(username="agent", role=Role.AGENT)
    order = await Order.all().order_by("id").first()
    for number in (1, 2, 3):
        await buyer_asks_for_a_refund(store, order, number)
    await tag(await buyer_of(order.id), agent, "frequent_refunds")
    await sign_in(client, "agent")
    page = (await client.get(f"/orders/{order.id}", headers=ZH)).text
    chips = re.findall(r'<span class="chip[^"]*"[^>]*>频繁退款</span>', page)
    assert len(chips) == 1 and "chip flag" in chips[0]


async def test_an_agent_edits_tags_and_notes_from_the_refund_page_and_returns_to_it(
    client: httpx.AsyncClient, app
) -> None:
    await demo_shop()
    agent = await create_user(username="agent", role=Role.AGENT)
    refund = await Refund.filter(status=RefundStatus.REQUESTED).order_by("id").first()
    customer = await buyer_of(refund.order_id)
    await sign_in(client, "agent")
    page = (await client.get(f"/refunds/{refund.id}")).text
    assert f'action="/orders/customers/{customer.id}"' in page
    assert f'name="back" value="/refunds/{refund.id}"' in page
    token = await csrf_from(client, f"/refunds/{refund.id}")
    saved = await client.post(
        f"/orders/customers/{customer.id}",
        data={"csrf_token": token, "back": f"/refunds/{refund.id}", "tag": ["vip"],
              "other_tags": "老客户", "notes": "上次退款很爽快"},
        headers=ZH,
        follow_redirects=True,
    )  # fmt: skip
    assert saved.url.path == f"/refunds/{refund.id}"
    assert "买家信息已保存。" in saved.text and "上次退款很爽快" in saved.text
    assert (await Customer.get(id=customer.id)).tags == ["vip", "老客户"]
    event = await AuditEvent.get(action="customer.updated", subject_id=str(customer.id))
    assert event.actor_id == agent.id and event.data["after"]["notes"] == "上次退款很爽快"

    # A form with no CSRF token changes nothing.
    forged = await client.post(
        f"/orders/customers/{customer.id}", data={"notes": "forged", "back": "/"}
    )
    assert forged.status_code == 403
    # Going back is only ever to a page of this desk.
    away = await client.post(
        f"/orders/customers/{customer.id}",
        data={"csrf_token": token, "back": "//evil.example/x", "notes": "x"},
    )
    assert away.status_code == 303
    assert away.headers["location"] == f"/orders/customers/{customer.id}"


async def test_a_return_case_edits_its_buyer_and_comes_back(client: httpx.AsyncClient, app) -> None:
    await demo_shop()
    agent = await create_user(username="agent", role=Role.NIGHT_AGENT)
    case, _, _ = await open_return(agent)
    customer = await buyer_of(case.order_id)
    await sign_in(client, "agent")
    token = await csrf_from(client, f"/returns/{case.id}")
    saved = await client.post(
        f"/orders/customers/{customer.id}",
        data={"csrf_token": token, "back": f"/returns/{case.id}", "tag": ["angry"]},
        follow_redirects=True,
    )
    assert saved.url.path == f"/returns/{case.id}"
    assert (await Customer.get(id=customer.id)).tags == ["angry"]
    assert await ReturnCase.exists(id=case.id)


async def test_an_admin_reads_the_tags_but_may_not_change_them(
    client: httpx.AsyncClient, app
) -> None:
    await demo_shop()
    agent = await create_user(username="agent", role=Role.AGENT)
    await create_user(username="admin", role=Role.ADMIN)
    refund = await Refund.filter(status=RefundStatus.REQUESTED).order_by("id").first()
    customer = await buyer_of(refund.order_id)
    await tag(customer, agent, "vip", notes="只在白天联系")
    await sign_in(client, "admin")
    page = (await client.get(f"/refunds/{refund.id}")).text
    assert "只在白天联系" in page and "Edit tags and notes" not in page
    assert f'action="/orders/customers/{customer.id}"' not in page
    token = await csrf_from(client, f"/refunds/{refund.id}")
    refused = await client.post(
        f"/orders/customers/{customer.id}",
        data={"csrf_token": token, "back": f"/refunds/{refund.id}", "notes": "改掉"},
    )
    assert refused.status_code == 403
    fresh = await Customer.get(id=customer.id)
    assert (fresh.tags, fresh.notes) == (["vip"], "只在白天联系")
    assert await AuditEvent.filter(action="customer.updated").count() == 1


async def test_a_hostile_tag_and_note_show_as_text_everywhere(
    client: httpx.AsyncClient, app
) -> None:
    await demo_shop()
    agent = await create_user(username="agent", role=Role.AGENT)
    refund = await Refund.filter(status=RefundStatus.REQUESTED).order_by("due_at", "id").first()
    case, _, _ = await open_return(agent)
    hostile = "<script>alert(1)</script>"
    for order_id in (refund.order_id, case.order_id):
        await tag(await buyer_of(order_id), agent, "<script>x", notes=f"{hostile}%s%(x)s")
    await sign_in(client, "agent")
    customer = await buyer_of(refund.order_id)
    pages = ("/refunds/", "/returns/", f"/refunds/{refund.id}", f"/returns/{case.id}",
             f"/orders/{refund.order_id}", f"/orders/customers/{customer.id}")  # fmt: skip
    for url in pages:
        for language in ("en", "zh-CN"):
            page = await client.get(url, headers={"Accept-Language": language})
            assert page.status_code == 200, url
            assert "<script>" not in page.text, url
            assert "&lt;script&gt;x" in page.text, url
    page = (await client.get(f"/refunds/{refund.id}")).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;%s%(x)s" in page
