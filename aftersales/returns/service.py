"""Return-case decisions and movements: open, approve, track, receive, inspect, settle.

Every change happens here in one transaction with its audit event (the
case's timeline). A case decides about goods; money always moves through
the refunds service, so the ledger, the caps and the write-back stay in one
place. Inspection triggers that refund in the same transaction that marks
the case inspected, so a retried inspection finds the case already
inspected and cannot pay twice.

Concurrency follows the refunds service: a change moves the case only if
its ``version`` is still the one read. Actions accept an ``Idempotency-Key``;
the same key for the same action answers with the case as it is now.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from aftersales.core import audit, cases, clock, i18n, labels, modules, referrals
from aftersales.core.errors import InvalidInput, Msgid, NotFound
from aftersales.core.i18n import N_
from aftersales.core.models import Referral, Store, User
from aftersales.core.money import parse_amount
from aftersales.core.reasons import ReasonCode
from aftersales.orders.models import Order, OrderItem, Shipment, ShipmentDirection
from aftersales.orders.settings import buyer_language
from aftersales.orders.sync import capabilities_of
from aftersales.refunds import links as refund_links
from aftersales.refunds import service as refunds
from aftersales.refunds.errors import status_label as refund_status_label
from aftersales.refunds.models import Refund, RefundKind, RefundStatus
from aftersales.refunds.rules import INSPECTED_RULE, Explanation
from aftersales.returns import policy as policies
from aftersales.returns.errors import (
    AlreadyDone as AlreadyDone,  # callers catch it here: every step's 409
)
from aftersales.returns.errors import (
    GoodUnitsOnLostLine,
    NotDelivered,
    QuantityExceedsReturnable,
    RequestFinished,
    TrackingRefused,
    WrongState,
)
from aftersales.returns.models import (
    INBOUND_STATUSES,
    OPEN_STATUSES,
    RUNNING_STATUSES,
    InspectionResult,
    ReturnCase,
    ReturnLine,
    ReturnStatus,
    ReturnTracking,
    ShippingPayer,
    TrackingSource,
)
from aftersales.returns.policy import ReturnKind
from connectors.tracking import TrackingResult, carrier_code, check_tracking_no

log = logging.getLogger("aftersales.returns")

# The store settings this module owns (declared on its manifest), with their defaults.
STORE_SETTINGS: dict[str, Any] = {
    "returns_policy": {},  # as the policy form saved it; the law's windows fill the gaps
    "return_address": "",  # filled in when approving a return
}

# Without a carrier's delivery time, a parcel is taken as delivered this long after it
# shipped; the verdict says so, and an agent can check the real date.
ASSUMED_TRANSIT_DAYS = 3
CENT = Decimal("0.01")


# A linked refund in these has nothing left for a return to decide or pay.
FINISHED_REFUND = frozenset(
    {RefundStatus.REJECTED, RefundStatus.CANCELLED, RefundStatus.REFUNDED, RefundStatus.DISPUTED}
)


def store_setting(store: Store, key: str) -> Any:
    """One of this module's store settings (``STORE_SETTINGS``), through the registry."""
    return modules.current().store_setting(store, "returns", key)


def policy_of(store: Store) -> policies.Policy:
    return policies.Policy.from_settings(store_setting(store, "returns_policy"))


# -- reading -----------------------------------------------------------------------------------


async def get_case(case_id: int) -> ReturnCase:
    case = await ReturnCase.get_or_none(id=case_id).prefetch_related("lines", "trackings")
    if case is None:
        raise NotFound(N_("No return case with id %(id)s."), id=case_id)
    return case


async def find_for_scan(text: str) -> list[ReturnCase]:
    """Cases a warehouse scan means: a tracking number (old ones too) or an order number."""
    cleaned = "".join(text.split()).upper()
    if not cleaned:
        return []
    by_tracking = await ReturnTracking.filter(tracking_no=cleaned).values_list("case_id", flat=True)
    query = Q(id__in=list(by_tracking)) | Q(platform_order_id=text.strip())
    query |= Q(platform_order_id=cleaned) | Q(platform_return_id=text.strip())
    return await ReturnCase.filter(query).order_by("-requested_at").limit(20)


# -- the policy --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyCheck:
    verdict: policies.Verdict
    delivered_at: datetime | None
    delivery_estimated: bool
    zone: ZoneInfo

    def rules_json(self) -> list[dict[str, Any]]:
        rules = [
            {"rule": r.rule, "passed": r.passed, "explanation": r.explanation, **r.params}
            for r in self.verdict.rules
        ]
        if self.delivery_estimated and self.delivered_at is not None:
            day = self.delivered_at.astimezone(self.zone).date().isoformat()
            rules.insert(
                0,
                {
                    "rule": "delivery_estimated",
                    "passed": True,
                    "explanation": f"no delivery scan: taken as delivered on {day} "
                    f"({ASSUMED_TRANSIT_DAYS} days after shipping)",
                    "day": day,
                    "days": ASSUMED_TRANSIT_DAYS,
                },
            )
        return rules

    @property
    def explanation(self) -> str:
        return "; ".join(r["explanation"] for r in self.rules_json())


async def delivery_of(order: Order) -> tuple[datetime | None, bool]:
    """When the order reached the buyer: a stored delivery time, else shipped + transit."""
    delivered = order.shipped_at
    if delivered is None:
        return None, False
    return delivered + timedelta(days=ASSUMED_TRANSIT_DAYS), True


async def check_policy(
    store: Store,
    order: Order,
    *,
    kind: ReturnKind,
    reason: ReasonCode,
    item_title: str,
    requested_at: datetime | None = None,
) -> PolicyCheck:
    delivered_at, estimated = await delivery_of(order)
    zone = ZoneInfo(store.timezone)
    verdict = policies.check(
        policy_of(store),
        kind=kind,
        reason=reason,
        requested_at=requested_at or clock.now(),
        delivered_at=delivered_at,
        zone=zone,
        item_title=item_title,
    )
    return PolicyCheck(verdict, delivered_at, estimated, zone)


# -- opening a case ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LineRequest:
    platform_item_id: str
    quantity: int
    replacement_sku: str = ""
    replacement_title: str = ""
    replacement_price: Decimal | None = None


def parse_money(value: Any, what: str) -> Decimal | None:
    if value is None or value == "":
        return None
    # One parser for every amount: 1e999999 used to overflow quantize (a 500).
    return parse_amount(value, name=Msgid(what), minimum=Decimal(0))


async def open_case(
    order_id: int,
    *,
    kind: ReturnKind,
    lines: list[LineRequest],
    reason: ReasonCode,
    buyer_text: str = "",
    actor: User | None,
    platform_return_id: str | None = None,
    refund_id: int | None = None,
    requested_at: datetime | None = None,
    platform_deadline: datetime | None = None,
    conn: BaseDBAsyncClient | None = None,
) -> ReturnCase:
    """A new request: the policy verdict is taken now and kept with its reasons."""
    order = await Order.get_or_none(id=order_id).using_db(conn)
    if order is None:
        raise NotFound(N_("No order with id %(id)s."), id=order_id)
    if not lines:
        raise InvalidInput(N_("Say which items come back, and how many."), obj=order)
    if actor is not None and order.shipped_at is None:
        # A platform request on such an order is still kept (held, outside the policy);
        # an agent is sent to the refund-only or the cancel that fits instead.
        raise NotDelivered(order)
    store = await Store.get(id=order.store_id).using_db(conn)  # type: ignore[attr-defined]
    items = {
        i.platform_item_id: i for i in await OrderItem.filter(order_id=order.id).using_db(conn)
    }
    taken = await _quantities_in_open_cases(order.id, conn)
    rows: list[tuple[OrderItem, LineRequest]] = []
    for line in lines:
        item = items.get(line.platform_item_id)
        if item is None:
            raise InvalidInput(
                N_("Item %(item)s is not on this order."), obj=order, item=line.platform_item_id
            )
        left = item.quantity - taken.get(item.id, 0)
        if not 1 <= line.quantity <= left:
            raise QuantityExceedsReturnable(
                item, title=item.title, left=left, ordered=item.quantity
            )
        if kind is ReturnKind.RETURN and (line.replacement_sku or line.replacement_price):
            raise InvalidInput(N_("Only an exchange names a replacement variant."), obj=item)
        rows.append((item, line))
    now = clock.now()
    asked = requested_at or now
    check = await check_policy(
        store, order, kind=kind, reason=reason, item_title=rows[0][0].title, requested_at=asked
    )
    due = platform_deadline or asked + timedelta(days=cases.timer(store, "refund_shipped_days"))
    async with in_transaction() if conn is None else _same(conn) as tx:
        case = await cases.open_case(
            ReturnCase,
            conn=tx,
            actor=actor,
            event="return.requested",
            data={
                "kind": kind.value,
                "policy": "inside" if check.verdict.allowed else "outside",
                "explanation": check.explanation,
            },
            opened_at=asked,
            store_id=store.id,
            order_id=order.id,
            platform_order_id=order.platform_order_id,
            platform_return_id=platform_return_id,
            kind=kind,
            status=ReturnStatus.REQUESTED,
            reason=reason,
            buyer_text=buyer_text.strip()[:2000],
            policy_allowed=check.verdict.allowed,
            policy_rules=check.rules_json(),
            policy_explanation=check.explanation,
            currency=order.currency,
            refund_id=refund_id,
            platform_deadline=platform_deadline,
            due_at=due,
        )
        for item, line in rows:
            await ReturnLine.create(
                case=case,
                order_item_id=item.id,
                platform_item_id=item.platform_item_id,
                title=item.title,
                quantity=line.quantity,
                unit_price=item.unit_price,
                replacement_sku=line.replacement_sku.strip(),
                replacement_title=line.replacement_title.strip(),
                replacement_price=line.replacement_price,
                using_db=tx,
            )
        await link_refund(case, tx)
    return case


class _same:
    """``async with`` over a connection we were handed: the caller owns the transaction."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn

    async def __aenter__(self) -> BaseDBAsyncClient:
        return self.conn

    async def __aexit__(self, *exc: object) -> None:
        return None


async def _quantities_in_open_cases(
    order_id: int, conn: BaseDBAsyncClient | None
) -> dict[int, int]:
    open_ids = (
        await ReturnCase.filter(order_id=order_id, status__in=list(OPEN_STATUSES))
        .using_db(conn)
        .values_list("id", flat=True)
    )
    taken: dict[int, int] = {}
    for line in await ReturnLine.filter(case_id__in=list(open_ids)).using_db(conn):
        if line.order_item_id is not None:
            taken[line.order_item_id] = taken.get(line.order_item_id, 0) + line.quantity
    return taken


# -- moving a case -----------------------------------------------------------------------------


async def _load(
    case_id: int, conn: BaseDBAsyncClient, action: str, idempotency_key: str | None
) -> tuple[ReturnCase, bool]:
    case = await ReturnCase.get_or_none(id=case_id).using_db(conn)
    if case is None:
        raise NotFound(N_("No return case with id %(id)s."), id=case_id)
    if idempotency_key and case.action_keys.get(idempotency_key) == action:
        return case, True
    if idempotency_key and idempotency_key in case.action_keys:
        raise InvalidInput(
            N_("This Idempotency-Key was already used for another action."),
            obj=case,
            code="idempotency_key_reused",
        )
    return case, False


async def move(
    case: ReturnCase,
    status: ReturnStatus,
    conn: BaseDBAsyncClient,
    *,
    action: str,
    actor: User | None,
    data: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
    platform: bool = False,
    stay: bool = False,
    **changes: Any,
) -> ReturnCase:
    """Move ``case`` to ``status`` with ``changes``, if nobody moved it first; audit it.

    ``platform=True`` is the platform's own word from a sync, which wins over
    our order of states (as in the refunds module). ``stay=True`` lets a step
    change a case without moving it (a corrected tracking number).
    """
    if status is case.status and not (stay or platform):
        raise WrongState(case, status)
    keys = dict(case.action_keys)
    if idempotency_key:
        keys[idempotency_key] = action
    moved = await cases.move(
        case,
        status,
        conn=conn,
        actor=actor,
        event=f"return.{action}",
        data=data,
        platform=platform,
        action_keys=keys,
        **changes,
    )
    if case.refund_id != moved.refund_id and case.refund_id is not None:
        await refund_links.release(case.refund_id, case.ref, conn)
    await link_refund(moved, conn)
    return moved


async def link_refund(case: ReturnCase, conn: BaseDBAsyncClient) -> None:
    """The case's refund is worked here while the case runs, and no longer once it ends.

    Called wherever a case gets its refund or moves, so the refund queue and
    its tiles never offer the same request as a second item to pick up.
    """
    if case.refund_id is None:
        return
    if case.status in RUNNING_STATUSES:
        await refund_links.work_in(case.refund_id, case.ref, conn)
    else:
        await refund_links.release(case.refund_id, case.ref, conn)


async def approve(
    case_id: int,
    *,
    actor: User,
    return_address: str,
    shipping_payer: ShippingPayer | None = None,
    shipping_cost: Any = None,
    note: str = "",
    expected_version: int | None = None,
    idempotency_key: str | None = None,
) -> ReturnCase:
    """Agree to take the goods back, telling the buyer where to send them.

    A platform request is agreed through the refunds service (its write-back
    tells the platform), so the refund it carries and this case cannot
    disagree; the case waits in "approved" until the platform heard it.
    """
    address = return_address.strip()
    if len(address) < 5:
        raise InvalidInput(N_("Give the return address the buyer ships to."))
    cost = parse_money(shipping_cost, N_("The return shipping cost"))
    async with in_transaction() as conn:
        case, repeated = await _load(case_id, conn, "approved", idempotency_key)
        if repeated:
            return case
        cases.check_version(case, expected_version)
        if case.status is not ReturnStatus.REQUESTED:
            raise WrongState(case, case.status)
        store = await Store.get(id=case.store_id).using_db(conn)
        now = clock.now()
        status = ReturnStatus.AWAITING_SHIPMENT
        if case.refund_id is not None:
            refund = await Refund.get(id=case.refund_id).using_db(conn)
            if refund.status in FINISHED_REFUND:
                raise RequestFinished(case, refund.status)
            if refund.status is RefundStatus.REQUESTED:
                # The agent's own note or none: the address is on the case's own audit.
                await refunds.approve(refund.id, actor=actor, note=note.strip(), case=case.ref)
                status = ReturnStatus.APPROVED
            elif case.kind is ReturnKind.RETURN:
                # Agreed on the platform already: approving here is still agreeing to pay it.
                await _check_cap(case, actor, conn, refund.requested_amount)
        else:
            await _check_cap(case, actor, conn)
        case = await move(
            case,
            status,
            conn,
            action="approved",
            actor=actor,
            data={"address": address, "note": note},
            idempotency_key=idempotency_key,
            return_address=address,
            shipping_payer=shipping_payer,
            shipping_cost=cost,
            decided_by_id=actor.id,
            decided_at=now,
            decision_note=note.strip(),
            escalated=False,
            buyer_ship_by=now + timedelta(days=cases.timer(store, "return_ship_days")),
            due_at=None,
        )
    return case


RETURN_OVER_CAP = N_(
    "Returns worth more than %(limit)s need a supervisor; this one is %(amount)s. "
    "Nothing was changed."
)
INSPECTION_OVER_CAP = N_(
    "This inspection would refund %(amount)s, above your cap of %(limit)s. Nothing was "
    "saved: a supervisor records this inspection, and the refund is theirs."
)


async def approval_amount(
    case: ReturnCase, conn: BaseDBAsyncClient | None = None
) -> Decimal | None:
    """What approving this case commits the shop to pay, as ``approve`` checks it
    against the approver's cap: the buyer's refund request, else what the goods are
    worth; None for an exchange (goods for goods)."""
    if case.refund_id is not None:
        refund = await Refund.get_or_none(id=case.refund_id, using_db=conn)
        if refund is not None:
            return refund.requested_amount
    if case.kind is ReturnKind.EXCHANGE:
        return None
    return await case_goods_value(case, conn)


def goods_value(lines: Iterable[ReturnLine]) -> Decimal:
    """What the returned goods are worth: unit price times quantity, line by line.

    The one sum the approver's cap, the approval amount and the quick replies'
    ``amount`` share, so the amount a reply quotes is the amount the cap checked.
    """
    return sum((line.unit_price * line.quantity for line in lines), Decimal(0))


async def case_goods_value(case: ReturnCase, conn: BaseDBAsyncClient | None = None) -> Decimal:
    """``goods_value`` of the case's lines, read in ``conn`` when given."""
    return goods_value(await ReturnLine.filter(case_id=case.id).using_db(conn))


async def decision_view(case: ReturnCase, actor: User) -> referrals.DecisionView[Explanation]:
    """The decision area of the return page for ``actor``: the rule, and its referral."""
    explanation = None
    if case.status is ReturnStatus.REQUESTED:
        amount = await approval_amount(case)
        if amount is not None:
            explanation = await refunds.explain_amount(case.store_id, actor, amount)
    return await referrals.view_for(case.ref, explanation)


async def refer(
    case_id: int, *, actor: User, note: str = "", expected_version: int | None = None
) -> Referral:
    """Send a return still waiting for approval to a supervisor, with ``note``.

    A second send while the first waits is refused (409); the referral
    closes when the case moves (approved, refused, cancelled).
    """
    async with in_transaction() as conn:
        case = await ReturnCase.get_or_none(id=case_id, using_db=conn)
        if case is None:
            raise NotFound(N_("No return case with id %(id)s."), id=case_id)
        if case.status is not ReturnStatus.REQUESTED:
            raise WrongState(case, case.status)
        amount = await approval_amount(case, conn)
        return await referrals.send(
            case,
            actor=actor,
            note=note,
            amount=amount,
            expected_version=expected_version,
            conn=conn,
        )


async def _check_cap(
    case: ReturnCase, actor: User, conn: BaseDBAsyncClient, value: Decimal | None = None
) -> None:
    """Approving a return is agreeing to pay for it: the approver's cap applies.

    ``value`` is the refund the approval leads to: the platform request's
    amount, else what the case's goods are worth. The cap is the refunds
    service's own (``check_cap``), store rules or defaults.
    """
    if case.kind is ReturnKind.EXCHANGE:
        return  # goods for goods: no money unless a price difference, capped on its own
    if value is None:
        value = await case_goods_value(case, conn)
    await refunds.check_cap(
        actor,
        case.store_id,  # type: ignore[attr-defined]
        value,
        message=RETURN_OVER_CAP,
        conn=conn,
    )


async def reject(
    case_id: int,
    *,
    actor: User,
    reason: str,
    expected_version: int | None = None,
    idempotency_key: str | None = None,
) -> ReturnCase:
    """Refuse the return; a platform request is refused through the refunds service."""
    least, most = cases.REFUSAL_REASON
    reason = cases.refusal_reason(
        reason,
        short=InvalidInput(
            N_("Say why (%(min)s to %(max)s characters): the buyer and the platform read it."),
            min=least,
            max=most,
            code="return_reason_length",
        ),
    )
    async with in_transaction() as conn:
        case, repeated = await _load(case_id, conn, "rejected", idempotency_key)
        if repeated:
            return case
        cases.check_version(case, expected_version)
        if case.status is not ReturnStatus.REQUESTED:
            raise WrongState(case, case.status)
        if case.refund_id is not None:
            refund = await Refund.get(id=case.refund_id).using_db(conn)
            if refund.status is RefundStatus.REQUESTED:
                await refunds.reject(refund.id, actor=actor, reason=reason, case=case.ref)
        return await move(
            case,
            ReturnStatus.REJECTED,
            conn,
            action="rejected",
            actor=actor,
            data={"reason": reason},
            idempotency_key=idempotency_key,
            decided_by_id=actor.id,
            decided_at=clock.now(),
            decision_note=reason,
            due_at=None,
            escalated=False,
        )


async def add_tracking(
    case_id: int,
    *,
    carrier: str,
    tracking_no: str,
    actor: User | None,
    source: TrackingSource = TrackingSource.DESK,
    shipped_at: datetime | None = None,
    idempotency_key: str | None = None,
    conn: BaseDBAsyncClient | None = None,
) -> ReturnCase:
    """The buyer's return tracking number: checked, kept for good, followed by the poll job.

    A corrected number becomes the active one; the old row stays, inactive.
    The seller's confirm-receipt timer starts when the buyer ships.
    """
    try:
        code = carrier_code(carrier)
        number = check_tracking_no(code, tracking_no)
    except ValueError:
        raise TrackingRefused(carrier=carrier, number=tracking_no) from None
    async with in_transaction() if conn is None else _same(conn) as tx:
        case, repeated = await _load(case_id, tx, "tracking", idempotency_key)
        if repeated:
            return case
        active = await ReturnTracking.filter(case_id=case.id, active=True).using_db(tx).first()
        if active is not None and (active.carrier, active.tracking_no) == (code, number):
            return case  # the same number again: nothing new
        if case.status not in (
            ReturnStatus.APPROVED,
            ReturnStatus.AWAITING_SHIPMENT,
            *INBOUND_STATUSES,
        ):
            raise WrongState(
                case,
                case.status,
                N_("A case in “%(state)s” takes no return tracking number; nothing was changed."),
            )
        store = await Store.get(id=case.store_id).using_db(tx)
        await ReturnTracking.filter(case_id=case.id, active=True).using_db(tx).update(active=False)
        await ReturnTracking.create(
            case_id=case.id,
            carrier=code,
            tracking_no=number,
            source=source,
            added_by_id=actor.id if actor else None,
            added_at=clock.now(),
            using_db=tx,
        )
        shipped = case.buyer_shipped_at or shipped_at or clock.now()
        confirm_by = shipped + timedelta(days=cases.timer(store, "return_confirm_days"))
        # A corrected number keeps the parcel where it is; a first number puts it in transit.
        status = case.status if case.status in INBOUND_STATUSES else ReturnStatus.IN_TRANSIT
        return await move(
            case,
            status,
            tx,
            action="tracking",
            stay=True,
            actor=actor,
            data={"carrier": code, "tracking_no": number, "source": source.value},
            idempotency_key=idempotency_key,
            buyer_shipped_at=shipped,
            confirm_receipt_by=confirm_by,
            due_at=confirm_by,
            buyer_ship_by=None,
        )


async def record_tracking(tracking_id: int, result: TrackingResult) -> ReturnCase | None:
    """What the carrier said about a return parcel; delivery moves the case on by itself."""
    async with in_transaction() as conn:
        tracking = await ReturnTracking.get(id=tracking_id).using_db(conn)
        tracking.state = result.state.value
        tracking.events = [
            {"at": e.at.isoformat(), "text": e.text, "state": e.state.value if e.state else None}
            for e in result.events
        ]
        tracking.delivered_at = result.delivered_at
        tracking.checked_at = clock.now()
        tracking.check_error = ""
        await tracking.save(using_db=conn)
        case = await ReturnCase.get(id=tracking.case_id).using_db(conn)
        if tracking.active and result.delivered and case.status is ReturnStatus.IN_TRANSIT:
            return await move(
                case,
                ReturnStatus.DELIVERED,
                conn,
                action="delivered",
                actor=None,
                data={"tracking_no": tracking.tracking_no, "at": _iso(result.delivered_at)},
                delivered_at=result.delivered_at,
            )
    return case


async def record_tracking_error(tracking_id: int, message: str) -> None:
    await ReturnTracking.filter(id=tracking_id).update(
        checked_at=clock.now(), check_error=message[:1000]
    )


async def receive(
    case_id: int,
    *,
    actor: User,
    expected_version: int | None = None,
    idempotency_key: str | None = None,
) -> ReturnCase:
    """The warehouse has the parcel. Inspection follows before the confirm-receipt timer."""
    async with in_transaction() as conn:
        case, repeated = await _load(case_id, conn, "received", idempotency_key)
        if repeated:
            return case
        cases.check_version(case, expected_version)
        if case.status not in (ReturnStatus.AWAITING_SHIPMENT, *INBOUND_STATUSES):
            raise WrongState(
                case, case.status, N_("This case is “%(state)s”: there is no parcel to receive.")
            )
        now = clock.now()
        return await move(
            case,
            ReturnStatus.RECEIVED,
            conn,
            action="received",
            actor=actor,
            idempotency_key=idempotency_key,
            received_at=now,
            received_by_id=actor.id,
            delivered_at=case.delivered_at or now,
            due_at=case.confirm_receipt_by or now + timedelta(days=1),
        )


@dataclass(frozen=True)
class LineInspection:
    line_id: int
    received_good: int
    received_damaged: int = 0
    result: InspectionResult | None = None  # None: worked out from the quantities
    note: str = ""
    restock: bool | None = None  # None: restock what is good


async def inspect(
    case_id: int,
    *,
    actor: User,
    lines: list[LineInspection],
    refund_amount: Any = None,
    note: str = "",
    expected_version: int | None = None,
    idempotency_key: str | None = None,
) -> ReturnCase:
    """Record what came back; a return then triggers its refund, once.

    The refund is what was accepted (good quantity times the price paid) unless
    the inspector sets an amount. Nothing accepted leaves the case inspected
    for a person to close or dispute. An exchange waits for its replacement.
    """
    override = parse_money(refund_amount, N_("The refund amount"))
    async with in_transaction() as conn:
        case, repeated = await _load(case_id, conn, "inspected", idempotency_key)
        if repeated:
            return case
        cases.check_version(case, expected_version)
        if case.status is not ReturnStatus.RECEIVED:
            raise WrongState(
                case,
                case.status,
                N_(
                    "This case is “%(state)s”; only a received parcel is inspected. "
                    "Nothing was changed."
                ),
            )
        by_id = {line.id: line for line in await ReturnLine.filter(case_id=case.id).using_db(conn)}
        seen = {entry.line_id for entry in lines}
        if seen != set(by_id):
            raise InvalidInput(N_("Inspect every line of the case, once each."), obj=case)
        accepted_value = Decimal("0.00")
        refund_lines: list[tuple[int, Decimal]] = []
        summary = []
        for entry in lines:
            line = by_id[entry.line_id]
            good, damaged = entry.received_good, entry.received_damaged
            if good < 0 or damaged < 0 or good + damaged > line.quantity:
                raise InvalidInput(
                    N_("%(item)s: good plus damaged is between 0 and %(quantity)s."),
                    obj=line,
                    item=line.title,
                    quantity=line.quantity,
                )
            result = entry.result or _result_of(good, damaged, line.quantity)
            if result in (InspectionResult.MISSING, InspectionResult.WRONG_ITEM) and good:
                raise GoodUnitsOnLostLine(line, title=line.title, result=result)
            line.received_good, line.received_damaged, line.result = good, damaged, result
            line.note = entry.note.strip()[:1000]
            line.restock = good > 0 if entry.restock is None else entry.restock
            await line.save(using_db=conn)
            value = (line.unit_price * good).quantize(CENT)
            accepted_value += value
            if value and line.order_item_id is not None:
                refund_lines.append((line.order_item_id, value))
            summary.append(f"{line.title}: {good} good, {damaged} damaged, {result.value}")
        now = clock.now()
        case = await move(
            case,
            ReturnStatus.INSPECTED,
            conn,
            action="inspected",
            actor=actor,
            data={"lines": summary, "note": note.strip()},
            idempotency_key=idempotency_key,
            inspected_at=now,
            inspected_by_id=actor.id,
            due_at=now
            + timedelta(hours=cases.timer(await _store(case, conn), "replacement_ship_hours"))
            if case.kind is ReturnKind.EXCHANGE
            else None,
            escalated=False,
        )
        if case.kind is ReturnKind.RETURN:
            amount = accepted_value if override is None else override
            if override is not None and override > accepted_value:
                # More than came back good is money the shop chooses to give, like a
                # refund it starts: the inspector's cap for those (ad hoc) applies.
                await refunds.check_cap(
                    actor,
                    case.store_id,
                    override,
                    ad_hoc=True,
                    message=INSPECTION_OVER_CAP,
                    conn=conn,
                )
            if amount > 0:
                # The inspection commits the money, so the inspector decides the refund:
                # their cap applies (once, in the refunds service), and they are its
                # decider, never the system nor whoever approved or opened the case.
                # Over the cap the whole inspection rolls back: nothing is saved.
                case = await _trigger_refund(case, amount, refund_lines, actor, conn)
    return case


def _result_of(good: int, damaged: int, quantity: int) -> InspectionResult:
    if good == quantity:
        return InspectionResult.ACCEPTED
    if damaged:
        return InspectionResult.DAMAGED
    if good:
        return InspectionResult.ACCEPTED  # part came back; the missing rest is in the note
    return InspectionResult.MISSING


async def _store(case: ReturnCase, conn: BaseDBAsyncClient) -> Store:
    return await Store.get(id=case.store_id).using_db(conn)


async def _trigger_refund(
    case: ReturnCase,
    amount: Decimal,
    lines: list[tuple[int, Decimal]],
    inspector: User,
    conn: BaseDBAsyncClient,
) -> ReturnCase:
    """The one place a case asks for money: the buyer's own request, or a new refund.

    The inspector decides it: the refunds service checks their cap (refusing
    with ``INSPECTION_OVER_CAP``) and records them as the refund's decider.
    """
    # The rule names the case and the inspector, translatable when read back
    # (``refunds.rules.read_rule``); no English note is written beside it.
    rule = INSPECTED_RULE % {"value": case.id, "inspector": inspector.username}
    if case.refund_id is not None:
        refund = await Refund.get(id=case.refund_id).using_db(conn)
        if refund.status is RefundStatus.REFUNDED:
            case = await move(
                case, ReturnStatus.REFUND_TRIGGERED, conn, action="refund_triggered",
                actor=inspector, data={"refund_id": refund.id, "already_paid": True},
            )  # fmt: skip
            # Its ``refund_settled`` came before the case waited for it: close as
            # settlement.py does when the money lands after the inspection.
            return await _close(case, "refunded", None, conn)
        if refund.status in FINISHED_REFUND:
            raise InvalidInput(
                N_(
                    "The platform's request is “%(state)s”, so it cannot pay this return; "
                    "record the inspection with refund amount 0 and close the case with a note."
                ),
                obj=case,
                state=refund_status_label(refund.status),
                code="return_request_finished",
            )
        decision = await refunds.pay_for_return(
            case.refund_id, amount=amount, note="", rule=rule,
            actor=inspector, cap_message=INSPECTION_OVER_CAP,
        )  # fmt: skip
    else:
        if case.order_id is None:
            raise InvalidInput(N_("This case has no synced order to refund against."), obj=case)
        if sum((a for _, a in lines), Decimal(0)) != amount:
            lines = []  # an amount set by hand: one order-level refund
        decision = await refunds.refund_returned_goods(
            case.order_id,
            lines=lines or [(None, amount)],  # type: ignore[list-item]
            reason=case.reason,
            note="",
            rule=rule,
            actor=inspector,
            cap_message=INSPECTION_OVER_CAP,
        )
    return await move(
        case,
        ReturnStatus.REFUND_TRIGGERED,
        conn,
        action="refund_triggered",
        actor=inspector,
        data={"refund_id": decision.refund.id, "amount": f"{amount:.2f}"},
        refund_id=decision.refund.id,
    )


async def ship_replacement(
    case_id: int,
    *,
    actor: User,
    carrier: str,
    tracking_no: str,
    settle_note: str = "",
    expected_version: int | None = None,
    idempotency_key: str | None = None,
) -> ReturnCase:
    """Send the exchange's replacement; a price difference is refunded or noted for payment.

    A cheaper variant refunds the difference through the refunds service (where
    the platform lets the shop start one); a dearer one records what the buyer
    owes, which the agent collects on the platform (补差价 link).
    """
    try:
        code = carrier_code(carrier)
        number = check_tracking_no(code, tracking_no)
    except ValueError:
        raise TrackingRefused(carrier=carrier, number=tracking_no) from None
    async with in_transaction() as conn:
        case, repeated = await _load(case_id, conn, "replacement_shipped", idempotency_key)
        if repeated:
            return case
        cases.check_version(case, expected_version)
        if case.kind is not ReturnKind.EXCHANGE:
            raise InvalidInput(N_("Only an exchange ships a replacement."), obj=case)
        if case.status is not ReturnStatus.INSPECTED:
            raise WrongState(
                case,
                case.status,
                N_("This case is “%(state)s”; a replacement ships after inspection."),
            )
        if case.order_id is None:
            raise InvalidInput(N_("This case has no synced order to ship against."), obj=case)
        difference = Decimal("0.00")
        units_back = 0
        for line in await ReturnLine.filter(case_id=case.id).using_db(conn):
            back = line.received_good + line.received_damaged
            units_back += back
            if line.replacement_price is not None:
                difference += (line.replacement_price - line.unit_price) * back
        if not units_back:
            raise InvalidInput(
                N_("Nothing came back, so no replacement ships; close the case with a note."),
                obj=case,
            )
        shipment = await Shipment.create(
            order_id=case.order_id,
            direction=ShipmentDirection.OUTBOUND,
            carrier=code,
            tracking_no=number,
            shipped_at=clock.now(),
            using_db=conn,
        )
        note = settle_note.strip()
        refund_id = case.refund_id
        if difference < 0:
            store = await _store(case, conn)
            if capabilities_of(store.platform).start_refund:
                decision = await refunds.start_refund(
                    case.order_id,
                    kind=RefundKind.PRICE_DIFFERENCE,
                    amount=-difference,
                    reason=case.reason,
                    actor=actor,
                    note=_buyer_words(store, CHEAPER_REPLACEMENT),
                )
                refund_id = decision.refund.id
                note = note or "difference_refunded"  # codes: returns.events.NOTES
            else:
                note = note or "difference_on_platform"
        elif difference > 0:
            note = note or "difference_buyer_pays"
        return await move(
            case,
            ReturnStatus.REPLACEMENT_SHIPPED,
            conn,
            action="replacement_shipped",
            actor=actor,
            data={"carrier": code, "tracking_no": number, "difference": f"{difference:.2f}"},
            idempotency_key=idempotency_key,
            replacement_id=shipment.id,
            price_difference=difference,
            price_difference_note=note,
            refund_id=refund_id,
            due_at=None,
            escalated=False,
        )


CHEAPER_REPLACEMENT = N_("Exchange: the replacement is cheaper")


def _buyer_words(store: Store, msgid: str) -> str:
    """``msgid`` in the language the store's buyers read: the refund's note goes to the platform."""
    with i18n.speaking(labels.buyer_locale(store.platform, buyer_language(store))):
        return i18n.gettext(msgid)


async def close(
    case_id: int,
    *,
    actor: User | None,
    note: str,
    expected_version: int | None = None,
    idempotency_key: str | None = None,
) -> ReturnCase:
    """End a case that is settled (refunded, replaced, refused) or came back with nothing."""
    if not note.strip():
        raise InvalidInput(N_("Say why the case closes; the report and the next agent read it."))
    async with in_transaction() as conn:
        case, repeated = await _load(case_id, conn, "closed", idempotency_key)
        if repeated:
            return case
        cases.check_version(case, expected_version)
        return await _close(case, note.strip(), actor, conn, idempotency_key)


async def _close(
    case: ReturnCase,
    note: str,
    actor: User | None,
    conn: BaseDBAsyncClient,
    idempotency_key: str | None = None,
) -> ReturnCase:
    return await move(
        case,
        ReturnStatus.CLOSED,
        conn,
        action="closed",
        actor=actor,
        data={"note": note},
        idempotency_key=idempotency_key,
        close_reason=note[:255],
        closed_at=clock.now(),
        due_at=None,
    )


async def cancel(
    case_id: int,
    *,
    actor: User | None,
    note: str,
    expected_version: int | None = None,
    idempotency_key: str | None = None,
    conn: BaseDBAsyncClient | None = None,
) -> ReturnCase:
    """The buyer withdrew, before the goods reached us."""
    async with in_transaction() if conn is None else _same(conn) as tx:
        case, repeated = await _load(case_id, tx, "cancelled", idempotency_key)
        if repeated:
            return case
        cases.check_version(case, expected_version)
        return await move(
            case,
            ReturnStatus.CANCELLED,
            tx,
            action="cancelled",
            actor=actor,
            data={"note": note.strip()},
            idempotency_key=idempotency_key,
            close_reason=(note.strip() or "cancelled")[:255],  # a code when empty (events.NOTES)
            closed_at=clock.now(),
            due_at=None,
        )


async def assign(
    case_id: int,
    user: User,
    *,
    expected_version: int | None = None,
    actor: User | None = None,
) -> None:
    """``user`` takes a case, or a manager (``actor``) gives it to them.

    Guarded like every change, so two takes leave one assignee; a case that
    is over (closed, cancelled, refused) is not taken.
    """
    await cases.assign(
        ReturnCase,
        case_id,
        user,
        event="return.assigned" if actor is None or actor.id == user.id else "return.given",
        expected_version=expected_version,
        actor=actor,
        open_statuses=RUNNING_STATUSES,
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# -- the store's policy ------------------------------------------------------------------------


async def save_policy(
    store: Store, raw: dict[str, Any], *, return_address: str, actor: User
) -> policies.Policy:
    """Owners and supervisors set the windows, categories and return address; audited.

    The policy is parsed before anything is saved, so a window shorter than
    the law (or a malformed value) is refused and the old policy stays.
    """
    parsed = policies.Policy.from_settings(raw)
    before = {
        "returns_policy": store.settings.get("returns_policy"),
        "return_address": store.settings.get("return_address"),
    }
    changes = {"returns_policy": raw, "return_address": return_address.strip()}
    async with in_transaction() as conn:
        # Only our own keys: the store's other settings (sync interval, timers)
        # may have changed since this store row was read, and stay as they are.
        await modules.current().update_store_settings(store, "returns", changes, conn)
        await audit.record(
            "return.policy_changed",
            subject_type="store",
            subject_id=store.id,
            actor=actor,
            data={"before": before, "after": changes},
            using_db=conn,
        )
    return parsed
