"""Demo return cases: one walked to each state, so every page and tile has something to show.

Requests synced from the demo platform are open or refused; these are the
desk's own cases on other orders, moved along with the same service calls an
agent and the warehouse make. Loaded once: a case's demo id is its
``platform_return_id``, and a seed that finds it skips it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from tortoise.transactions import in_transaction

from aftersales.core import clock, modules
from aftersales.core.models import Store, User
from aftersales.core.reasons import ReasonCode
from aftersales.orders.models import Order, OrderItem
from aftersales.refunds.models import Refund
from aftersales.returns import service
from aftersales.returns.models import ReturnCase, ReturnLine, ShippingPayer
from aftersales.returns.policy import ReturnKind
from connectors.tracking import TrackingEvent, TrackingResult, TrackingState

ADDRESS = "浙江省杭州市余杭区文一西路 998 号 演示小店售后仓 收 (0571-8888 0000)"
# The demo's return parcels, by the state they reach; the receiving page finds them.
TRACKING = {
    "in_transit": ("zhongtong", "75310000001"),
    "delivered": ("yuantong", "YT1000000002"),
    "received": ("yunda", "4310000000003"),
    "inspected": ("shunfeng", "SF1000000004"),
    "refund_triggered": ("zhongtong", "75310000005"),
    "replacement_shipped": ("yuantong", "YT1000000006"),
    "closed": ("yunda", "4310000000007"),
}


async def seed(store: Store, owner: User) -> int:
    """Walk one case to each state; returns how many cases were created."""
    if "return_address" not in store.settings:
        async with in_transaction() as conn:
            changes = {"return_address": ADDRESS}
            await modules.current().update_store_settings(store, "returns", changes, conn)
    plans: list[tuple[str, ReturnKind, ReasonCode, list[str]]] = [
        ("awaiting_shipment", ReturnKind.RETURN, ReasonCode.CHANGED_MIND, ["approve"]),
        ("in_transit", ReturnKind.RETURN, ReasonCode.SIZE_FIT, ["approve", "track"]),
        ("delivered", ReturnKind.RETURN, ReasonCode.QUALITY, ["approve", "track", "deliver"]),
        ("received", ReturnKind.RETURN, ReasonCode.NOT_AS_DESCRIBED,
         ["approve", "track", "receive"]),
        ("inspected", ReturnKind.EXCHANGE, ReasonCode.SIZE_FIT,
         ["approve", "track", "receive", "inspect"]),
        ("refund_triggered", ReturnKind.RETURN, ReasonCode.QUALITY,
         ["approve", "track", "receive", "inspect"]),
        ("replacement_shipped", ReturnKind.EXCHANGE, ReasonCode.QUALITY,
         ["approve", "track", "receive", "inspect", "replace"]),
        ("closed", ReturnKind.EXCHANGE, ReasonCode.SIZE_FIT,
         ["approve", "track", "receive", "inspect", "replace", "close"]),
        ("cancelled", ReturnKind.RETURN, ReasonCode.CHANGED_MIND, ["approve", "cancel"]),
        ("requested", ReturnKind.EXCHANGE, ReasonCode.SIZE_FIT, []),
        ("rejected", ReturnKind.RETURN, ReasonCode.CHANGED_MIND, ["reject"]),
    ]  # fmt: skip
    created = 0
    for name, kind, reason, steps in plans:
        demo_id = f"DEMO-RMA-{name}"
        if await ReturnCase.exists(store_id=store.id, platform_return_id=demo_id):
            continue
        item = await _free_item(store)
        if item is None:
            break
        case = await service.open_case(
            item.order_id,  # type: ignore[attr-defined]
            kind=kind,
            lines=[service.LineRequest(item.platform_item_id, 1)],
            reason=reason,
            buyer_text="演示：" + {"return": "想退货", "exchange": "想换个尺码"}[kind.value],
            actor=owner,
            platform_return_id=demo_id,
        )
        for step in steps:
            case = await STEPS[step](case, owner, name)
        created += 1
    return created


async def _free_item(store: Store) -> OrderItem | None:
    """An item of a shipped order nobody has asked about yet."""
    busy = set(await Refund.filter(store_id=store.id).values_list("order_id", flat=True))
    busy |= set(await ReturnCase.filter(store_id=store.id).values_list("order_id", flat=True))
    for order in await Order.filter(store_id=store.id, shipped_at__not_isnull=True).order_by(
        "-shipped_at"
    ):
        if order.id not in busy:
            return await OrderItem.filter(order_id=order.id).order_by("id").first()
    return None


async def _approve(case: ReturnCase, owner: User, name: str) -> ReturnCase:
    return await service.approve(
        case.id, actor=owner, return_address=ADDRESS, shipping_payer=ShippingPayer.INSURANCE
    )


async def _track(case: ReturnCase, owner: User, name: str) -> ReturnCase:
    carrier, number = TRACKING[name]
    return await service.add_tracking(case.id, carrier=carrier, tracking_no=number, actor=owner)


async def _deliver(case: ReturnCase, owner: User, name: str) -> ReturnCase:
    carrier, number = TRACKING[name]
    tracking = await case.trackings.filter(active=True).first()  # type: ignore[attr-defined]
    now = clock.now()
    result = TrackingResult(
        carrier=carrier,
        tracking_no=number,
        state=TrackingState.DELIVERED,
        delivered=True,
        events=[
            TrackingEvent(at=now - timedelta(hours=2), text="【杭州市】已签收，签收人：仓库",
                          state=TrackingState.DELIVERED),
            TrackingEvent(at=now - timedelta(days=1), text="【杭州市】快件已揽收",
                          state=TrackingState.COLLECTED),
        ],
    )  # fmt: skip
    moved = await service.record_tracking(tracking.id, result)
    return moved or case


async def _receive(case: ReturnCase, owner: User, name: str) -> ReturnCase:
    return await service.receive(case.id, actor=owner)


async def _inspect(case: ReturnCase, owner: User, name: str) -> ReturnCase:
    lines = await ReturnLine.filter(case_id=case.id)
    return await service.inspect(
        case.id,
        actor=owner,
        lines=[service.LineInspection(line.id, received_good=line.quantity) for line in lines],
    )


async def _replace(case: ReturnCase, owner: User, name: str) -> ReturnCase:
    return await service.ship_replacement(
        case.id, actor=owner, carrier="中通快递", tracking_no=f"7532{case.id:07d}"
    )


async def _close(case: ReturnCase, owner: User, name: str) -> ReturnCase:
    return await service.close(case.id, actor=owner, note="换货完成，买家已签收")


async def _reject(case: ReturnCase, owner: User, name: str) -> ReturnCase:
    return await service.reject(case.id, actor=owner, reason="商品已使用，吊牌已剪，影响二次销售")


async def _cancel(case: ReturnCase, owner: User, name: str) -> ReturnCase:
    return await service.cancel(case.id, actor=owner, note="买家撤销申请")


STEPS: dict[str, Callable[[ReturnCase, User, str], Awaitable[ReturnCase]]] = {
    "approve": _approve,
    "track": _track,
    "deliver": _deliver,
    "receive": _receive,
    "inspect": _inspect,
    "replace": _replace,
    "close": _close,
    "cancel": _cancel,
    "reject": _reject,
}
