"""Return cases through the service: states, platform intake, parcels, deadlines, handover."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from aftersales.core import clock, outbox
from aftersales.core.config import Settings
from aftersales.core.models import OutboxMessage, OutboxStatus, Role, Store
from aftersales.core.modules import HandoverWindow, OutboxContext, Registry
from aftersales.core.reasons import ReasonCode
from aftersales.orders.models import Order, SyncState
from aftersales.orders.sync import record_handlers, sync_stream
from aftersales.refunds import module as refunds_module
from aftersales.refunds.models import LedgerEntry, Refund, RefundStatus
from aftersales.returns import deadlines, parcels, service, states
from aftersales.returns import module as returns_module
from aftersales.returns.models import ReturnCase, ReturnLine, ReturnStatus, ReturnTracking
from aftersales.returns.policy import ReturnKind
from connectors import demo
from connectors.base import AfterSaleKind, AfterSaleStatus, Stream
from connectors.demo import DemoConnector
from connectors.tracking import Kuaidi100
from tests.factories import create_store, create_user
from tests.fakes.kuaidi100 import FakeKuaidi100, make_app
from tests.fakes.serve import serve
from tests.returns.test_api_flow import a_shipped_item, open_return

pytestmark = pytest.mark.usefixtures("clean_db")
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
HANDLERS = record_handlers(Registry([refunds_module, returns_module]))
ADDRESS = "浙江省杭州市余杭区仓前街道 1 号 售后仓"


@pytest.fixture(autouse=True)
def fresh_demo_platform() -> None:
    demo.DECISIONS.clear()
    demo.DECISIONS_BY_KEY.clear()


async def synced_shop():
    clock.travel(NOW - clock.now())
    store = await create_store()
    connector = DemoConnector(now=NOW)
    await sync_stream(store, Stream.ORDERS, connector)
    await sync_stream(store, Stream.AFTER_SALES, connector, handlers=HANDLERS)
    return store


async def deliver_all(settings: Settings) -> None:
    handlers = dict(refunds_module.outbox_handlers)
    for message in await OutboxMessage.filter(status=OutboxStatus.PENDING):
        await outbox.deliver(message.id, handlers, context=OutboxContext(settings=settings))


@pytest.mark.parametrize("current", list(ReturnStatus))
@pytest.mark.parametrize("new", list(ReturnStatus))
def test_every_transition_outside_the_table_raises(
    current: ReturnStatus, new: ReturnStatus
) -> None:
    if new in states.TRANSITIONS[current]:
        states.check(current, new)
    else:
        with pytest.raises(states.IllegalTransition):
            states.check(current, new)


def test_cancelling_is_possible_exactly_until_the_goods_arrive() -> None:
    before = {s for s in ReturnStatus if ReturnStatus.CANCELLED in states.TRANSITIONS[s]}
    assert before == {
        ReturnStatus.REQUESTED,
        ReturnStatus.APPROVED,
        ReturnStatus.AWAITING_SHIPMENT,
        ReturnStatus.IN_TRANSIT,
        ReturnStatus.DELIVERED,
    }


async def test_sync_opens_cases_for_returns_and_exchanges_linked_to_their_refunds() -> None:
    await synced_shop()
    records = {
        r.platform_refund_id: r
        for r in DemoConnector(now=NOW).all_refunds()
        if r.kind in (AfterSaleKind.RETURN_AND_REFUND, AfterSaleKind.EXCHANGE)
        and r.status not in (AfterSaleStatus.CANCELLED, AfterSaleStatus.REFUNDED)
    }
    cases = await ReturnCase.all()
    assert {c.platform_return_id for c in cases} == set(records)
    assert any(c.kind is ReturnKind.EXCHANGE for c in cases)
    for case in cases:
        record = records[case.platform_return_id]
        if record.kind is AfterSaleKind.RETURN_AND_REFUND:
            refund = await Refund.get(id=case.refund_id)
            assert refund.platform_refund_id == case.platform_return_id
        assert case.policy_explanation  # a verdict with its reasons
        assert await ReturnLine.filter(case_id=case.id).count() == 1
    # A second sync of the same requests changes nothing.
    store_id = cases[0].store_id
    before = [(c.id, c.status, c.version) for c in await ReturnCase.all().order_by("id")]
    await SyncState.filter(store_id=store_id, stream="after_sales").update(cursor=None)
    store = await cases[0].store
    await sync_stream(store, Stream.AFTER_SALES, DemoConnector(now=NOW), handlers=HANDLERS)
    after = [(c.id, c.status, c.version) for c in await ReturnCase.all().order_by("id")]
    assert after == before


async def test_a_platform_return_is_agreed_then_paid_once_after_inspection(
    settings: Settings,
) -> None:
    await synced_shop()
    agent = await create_user(role=Role.SUPERVISOR)
    case = await ReturnCase.filter(
        kind=ReturnKind.RETURN, status=ReturnStatus.REQUESTED, refund_id__not_isnull=True
    ).first()
    case = await service.approve(case.id, actor=agent, return_address=ADDRESS)
    assert case.status is ReturnStatus.APPROVED  # the platform is being told
    await deliver_all(settings)
    refund = await Refund.get(id=case.refund_id)
    assert refund.status is RefundStatus.WAITING_RETURN  # agreed, no money yet
    assert not await LedgerEntry.filter(refund_id=refund.id).exists()
    await deadlines.sweep()
    assert (await ReturnCase.get(id=case.id)).status is ReturnStatus.AWAITING_SHIPMENT

    await service.add_tracking(case.id, carrier="中通快递", tracking_no="75310001", actor=agent)
    await service.receive(case.id, actor=agent)
    line = await ReturnLine.get(case_id=case.id)
    case = await service.inspect(
        case.id,
        actor=agent,
        lines=[service.LineInspection(line.id, received_good=line.quantity)],
    )
    assert case.status is ReturnStatus.REFUND_TRIGGERED and case.refund_id == refund.id
    with pytest.raises(service.AlreadyDone):
        await service.inspect(
            case.id, actor=agent, lines=[service.LineInspection(line.id, line.quantity)]
        )
    await deliver_all(settings)
    refund = await Refund.get(id=refund.id)
    assert refund.status is RefundStatus.REFUNDED
    assert await LedgerEntry.filter(refund_id=refund.id).count() == 1
    assert await Refund.filter(order_id=case.order_id).count() == 1
    await deadlines.sweep()
    closed = await ReturnCase.get(id=case.id)
    assert (closed.status, closed.close_reason) == (ReturnStatus.CLOSED, "refunded")


async def test_refusing_a_platform_return_refuses_its_refund(settings: Settings) -> None:
    await synced_shop()
    agent = await create_user()
    case = await ReturnCase.filter(
        kind=ReturnKind.RETURN, status=ReturnStatus.REQUESTED, refund_id__not_isnull=True
    ).first()
    case = await service.reject(case.id, actor=agent, reason="商品已拆封使用，影响二次销售")
    assert case.status is ReturnStatus.REJECTED
    assert (await Refund.get(id=case.refund_id)).status is RefundStatus.REJECTED


async def test_the_tracking_job_moves_a_case_when_the_carrier_reports_delivery() -> None:
    await synced_shop()
    agent = await create_user()
    case, _order, _item = await open_return(
        agent, kind=ReturnKind.RETURN, reason=ReasonCode.CHANGED_MIND
    )
    await service.approve(case.id, actor=agent, return_address=ADDRESS)
    await service.add_tracking(case.id, carrier="中通快递", tracking_no="75310001", actor=agent)
    # A second case whose number the carrier does not know yet.
    other_order, other_item = await a_shipped_item()
    other = await service.open_case(
        other_order.id,
        kind=ReturnKind.RETURN,
        lines=[service.LineRequest(other_item.platform_item_id, 1)],
        reason=ReasonCode.CHANGED_MIND,
        actor=agent,
    )
    await service.approve(other.id, actor=agent, return_address=ADDRESS)
    await service.add_tracking(other.id, carrier="yunda", tracking_no="4300112233", actor=agent)

    fake = FakeKuaidi100()
    picked = clock.now() - timedelta(days=2)
    fake.add_event("zhongtong", "75310001", picked, "【杭州市】快件已揽收", "1")
    with serve(make_app(fake)) as url:
        provider = Kuaidi100(customer=fake.customer, key=fake.key, base_url=url)
        assert await parcels.poll(provider) == 0  # collected, not yet delivered
        assert (await ReturnCase.get(id=case.id)).status is ReturnStatus.IN_TRANSIT
        signed = clock.now() - timedelta(hours=1)
        fake.add_event("zhongtong", "75310001", signed, "【仓库】已签收", "3")
        assert await parcels.poll(provider) == 0  # asked 0 minutes ago: not again yet
        clock.travel(parcels.RECHECK + timedelta(minutes=1))
        assert await parcels.poll(provider) == 1
        await provider.aclose()
    moved = await ReturnCase.get(id=case.id)
    assert moved.status is ReturnStatus.DELIVERED
    assert moved.delivered_at == signed.replace(microsecond=0)
    tracking = await ReturnTracking.get(case_id=case.id)
    assert tracking.state == "delivered" and len(tracking.events) == 2
    unknown = await ReturnTracking.get(case_id=other.id)
    assert unknown.check_error and (await ReturnCase.get(id=other.id)).status is (
        ReturnStatus.IN_TRANSIT
    )


async def test_a_corrected_tracking_number_keeps_the_old_one() -> None:
    await synced_shop()
    agent = await create_user()
    case, _order, _item = await open_return(
        agent, kind=ReturnKind.RETURN, reason=ReasonCode.CHANGED_MIND
    )
    await service.approve(case.id, actor=agent, return_address=ADDRESS)
    await service.add_tracking(case.id, carrier="圆通", tracking_no="YT1111222233", actor=agent)
    await service.add_tracking(case.id, carrier="圆通", tracking_no="YT1111222244", actor=agent)
    rows = await ReturnTracking.filter(case_id=case.id).order_by("id")
    assert [(r.tracking_no, r.active) for r in rows] == [
        ("YT1111222233", False),
        ("YT1111222244", True),
    ]
    assert [c.id for c in await service.find_for_scan("yt1111222233")] == [case.id]
    await service.cancel(case.id, actor=agent, note="买家撤销")
    assert await ReturnTracking.filter(case_id=case.id).count() == 2


async def test_a_deadline_crossing_shows_as_a_tile_a_handover_item_and_an_escalation() -> None:
    await synced_shop()
    await ReturnCase.all().update(due_at=None)  # only our case has a timer
    agent = await create_user()
    case, _order, _item = await open_return(
        agent, kind=ReturnKind.RETURN, reason=ReasonCode.QUALITY
    )
    assert case.due_at == case.requested_at + timedelta(days=5)
    counts = await deadlines.counts()
    assert (counts.due_soon, counts.overdue) == (0, 0)
    clock.travel(case.due_at - clock.now() - timedelta(hours=1))
    tiles = {t.label: t for t in await returns_module.dashboard_tiles(agent)}
    assert tiles["Return deadlines within 2 hours"].value == 1
    window = HandoverWindow(start=clock.now(), end=clock.now() + timedelta(hours=12))
    items = await returns_module.handover_items(window)
    assert [(i.href, i.severity) for i in items] == [(f"/returns/{case.id}", "due_this_shift")]
    assert "answer the request" in items[0].summary
    assert items[0].customer_id == (await Order.get(id=case.order_id)).customer_id
    clock.travel(timedelta(hours=2))
    assert (await deadlines.sweep()).escalated == 1
    assert (await ReturnCase.get(id=case.id)).escalated
    tiles = {t.label: t for t in await returns_module.dashboard_tiles(agent)}
    assert tiles["Return deadlines missed"].value == 1
    window = HandoverWindow(start=clock.now(), end=clock.now() + timedelta(hours=12))
    assert [i.severity for i in await returns_module.handover_items(window)] == ["overdue"]


async def test_a_buyer_who_never_ships_has_the_case_closed_after_the_window() -> None:
    await synced_shop()
    agent = await create_user()
    case, _order, _item = await open_return(
        agent, kind=ReturnKind.RETURN, reason=ReasonCode.CHANGED_MIND
    )
    case = await service.approve(case.id, actor=agent, return_address=ADDRESS)
    clock.travel(case.buyer_ship_by - clock.now() - timedelta(minutes=1))
    assert (await deadlines.sweep()).abandoned == 0
    clock.travel(timedelta(minutes=2))
    assert (await deadlines.sweep()).abandoned == 1
    closed = await ReturnCase.get(id=case.id)
    assert closed.status is ReturnStatus.CLOSED and closed.close_reason == "buyer_did_not_ship"


async def test_inspection_refunds_what_was_accepted_not_what_was_asked(
    settings: Settings,
) -> None:
    await synced_shop()
    agent = await create_user(role=Role.SUPERVISOR)
    case, _order, item = await open_return(
        agent, kind=ReturnKind.RETURN, reason=ReasonCode.QUALITY, quantity=2, min_quantity=2
    )
    await service.approve(case.id, actor=agent, return_address=ADDRESS)
    await service.receive(case.id, actor=agent)  # arrived before any tracking number
    line = await ReturnLine.get(case_id=case.id)
    case = await service.inspect(
        case.id,
        actor=agent,
        lines=[service.LineInspection(line.id, received_good=1, received_damaged=1,
                                      note="一件有污渍")],
    )  # fmt: skip
    line = await ReturnLine.get(id=line.id)
    assert (line.result.value, line.restock) == ("damaged", True)
    refund = await Refund.get(id=case.refund_id)
    assert refund.approved_amount == item.unit_price  # one of two
    await deliver_all(settings)
    assert [e.amount for e in await LedgerEntry.filter(refund_id=refund.id)] == [item.unit_price]
    assert (
        sum(e.amount for e in await LedgerEntry.filter(refund_id=refund.id))
        < Decimal(2) * item.unit_price
    )


async def test_a_return_and_refund_is_decided_in_its_case_not_on_the_refund_page(
    settings: Settings,
) -> None:
    """One request, one work item: the refund page cannot race the return case."""
    from aftersales.refunds import service as refunds
    from aftersales.refunds.errors import WorkedInCase

    await synced_shop()
    agent = await create_user(role=Role.SUPERVISOR)
    agreed, refused = await ReturnCase.filter(
        kind=ReturnKind.RETURN, status=ReturnStatus.REQUESTED, refund_id__not_isnull=True
    ).limit(2)
    with pytest.raises(WorkedInCase):
        await refunds.approve(agreed.refund_id, actor=agent)
    with pytest.raises(WorkedInCase):
        await refunds.reject(refused.refund_id, actor=agent, reason="已超过七天无理由退货期限")
    assert (await Refund.get(id=agreed.refund_id)).status is RefundStatus.REQUESTED
    # The case decides, and the refund with it.
    await service.approve(agreed.id, actor=agent, return_address="上海市浦东新区 仓库 1 号")
    await service.reject(refused.id, actor=agent, reason="已超过七天无理由退货期限")
    assert (await Refund.get(id=agreed.refund_id)).status is RefundStatus.APPROVED
    assert (await Refund.get(id=refused.refund_id)).status is RefundStatus.REJECTED
    await deliver_all(settings)
    outcome = await deadlines.sweep()
    assert outcome.approved_on_platform == 1
    agreed = await ReturnCase.get(id=agreed.id)
    assert agreed.status is ReturnStatus.AWAITING_SHIPMENT and agreed.buyer_ship_by is not None
    assert (await ReturnCase.get(id=refused.id)).status is ReturnStatus.REJECTED


async def test_a_tracking_number_typed_on_the_platform_is_followed_here() -> None:
    from tortoise.transactions import in_transaction

    from aftersales.returns import intake
    from connectors.base import AfterSaleRecord

    store = await synced_shop()
    order, item = await a_shipped_item()
    record = AfterSaleRecord(
        platform_refund_id="RMA-PLATFORM-1",
        platform_order_id=order.platform_order_id,
        platform_item_id=item.platform_item_id,
        kind=AfterSaleKind.RETURN_AND_REFUND,
        status=AfterSaleStatus.REQUESTED,
        platform_status="WAIT_SELLER_AGREE",
        requested_amount=item.unit_price,
        reason="质量问题",
        created_at=clock.now() - timedelta(hours=3),
        updated_at=clock.now() - timedelta(hours=3),
    )
    async with in_transaction() as conn:
        await intake.intake(store, [record], conn)
    case = await ReturnCase.get(platform_return_id="RMA-PLATFORM-1")
    assert case.status is ReturnStatus.REQUESTED and case.reason is ReasonCode.QUALITY
    shipped = record.model_copy(
        update={"status": AfterSaleStatus.WAITING_RETURN, "platform_status":
                "WAIT_SELLER_CONFIRM_GOODS", "return_carrier": "中通快递",
                "return_tracking_no": "75319998887", "updated_at": clock.now()}
    )  # fmt: skip
    async with in_transaction() as conn:
        await intake.intake(store, [shipped], conn)
    case = await ReturnCase.get(id=case.id)
    assert case.status is ReturnStatus.IN_TRANSIT
    assert case.confirm_receipt_by is not None and case.due_at == case.confirm_receipt_by
    tracking = await ReturnTracking.get(case_id=case.id)
    assert (tracking.carrier, tracking.tracking_no, tracking.source.value) == (
        "zhongtong", "75319998887", "platform"
    )  # fmt: skip
    withdrawn = shipped.model_copy(
        update={"status": AfterSaleStatus.CANCELLED, "platform_status": "CLOSED"}
    )
    async with in_transaction() as conn:
        await intake.intake(store, [withdrawn], conn)
    case = await ReturnCase.get(id=case.id)
    assert case.status is ReturnStatus.CANCELLED
    assert await ReturnTracking.filter(case_id=case.id).count() == 1  # kept


async def test_custom_goods_are_outside_the_no_reason_policy_with_the_reason_given() -> None:
    from aftersales.orders.models import OrderItem

    await synced_shop()
    agent = await create_user()
    order, item = await a_shipped_item()
    await OrderItem.filter(id=item.id).update(title="定制刻字钢笔")
    case = await service.open_case(
        order.id, kind=ReturnKind.RETURN, lines=[service.LineRequest(item.platform_item_id, 1)],
        reason=ReasonCode.CHANGED_MIND, actor=agent,
    )  # fmt: skip
    assert case.policy_allowed is False
    assert [r["rule"] for r in case.policy_rules][-1] == "excluded_category"
    assert "custom goods cannot be returned" in case.policy_explanation


async def test_the_demo_walks_a_case_to_every_state_once(settings: Settings) -> None:
    from aftersales.returns import demo as returns_demo

    store = await synced_shop()
    owner = await create_user(role=Role.OWNER)
    created = await returns_demo.seed(store, owner)
    states_seen = set(
        await ReturnCase.filter(platform_return_id__startswith="DEMO-RMA-").values_list(
            "status", flat=True
        )
    )
    # "approved" lasts only while the platform is being told; every other state is there.
    assert states_seen == set(ReturnStatus) - {ReturnStatus.APPROVED}
    assert await returns_demo.seed(await Store.get(id=store.id), owner) == 0
    assert created == len(states_seen)
