"""JSON API for return cases (``/api/v1/returns``): queue, one case, each step, policy check.

Every step accepts an ``Idempotency-Key`` header: the same key for the same
step answers with the case as it is (200) instead of acting again, so a
client retrying a timed-out inspection never triggers a second refund.
Without a key a repeated step answers 409 ``return_already_done``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from aftersales.core import case_api, cases, clock
from aftersales.core.api import (
    AMOUNT,
    DAY,
    ID_QUERY,
    PAGING,
    api_route,
    body_int,
    choice_param,
    id_param,
    int_param,
    json_body,
    json_money,
    json_time,
    query,
)
from aftersales.core.auth import MANAGERS, current_user, requires
from aftersales.core.errors import InvalidInput, NotFound
from aftersales.core.i18n import N_
from aftersales.core.models import Store
from aftersales.core.periods import period_from_days
from aftersales.core.reasons import ReasonCode
from aftersales.orders.models import Order, OrderItem
from aftersales.returns import queue, report, service
from aftersales.returns.models import (
    InspectionResult,
    ReturnCase,
    ReturnLine,
    ReturnStatus,
    ReturnTracking,
    ShippingPayer,
)
from aftersales.returns.policy import ReturnKind

CASE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "order_id": {"type": ["integer", "null"]},
        "kind": {"type": "string", "enum": [k.value for k in ReturnKind]},
        "status": {"type": "string", "enum": [s.value for s in ReturnStatus]},
        "reason": {"type": "string", "enum": [r.value for r in ReasonCode]},
        "policy": {"type": "object"},
        "lines": {"type": "array"},
        "trackings": {"type": "array"},
        "refund_id": {"type": ["integer", "null"]},
        "due_at": {"type": ["string", "null"], "format": "date-time"},
        "version": {"type": "integer"},
    },
}


def line_json(line: ReturnLine) -> dict[str, Any]:
    return {
        "id": line.id,
        "platform_item_id": line.platform_item_id,
        "title": line.title,
        "quantity": line.quantity,
        "unit_price": json_money(line.unit_price),
        "received_good": line.received_good,
        "received_damaged": line.received_damaged,
        "result": line.result.value if line.result else None,
        "note": line.note,
        "restock": line.restock,
        "replacement_sku": line.replacement_sku or None,
        "replacement_price": json_money(line.replacement_price)
        if line.replacement_price is not None
        else None,
    }


def tracking_json(tracking: ReturnTracking) -> dict[str, Any]:
    return {
        "carrier": tracking.carrier,
        "tracking_no": tracking.tracking_no,
        "active": tracking.active,
        "source": tracking.source.value,
        "state": tracking.state or None,
        "delivered_at": json_time(tracking.delivered_at),
        "checked_at": json_time(tracking.checked_at),
        "events": tracking.events,
    }


def case_json(
    case: ReturnCase,
    lines: list[ReturnLine] | None = None,
    trackings: list[ReturnTracking] | None = None,
) -> dict[str, Any]:
    return {
        "id": case.id,
        "store_id": case.store_id,  # type: ignore[attr-defined]
        "order_id": case.order_id,  # type: ignore[attr-defined]
        "platform_order_id": case.platform_order_id,
        "platform_return_id": case.platform_return_id,
        "kind": case.kind.value,
        "status": case.status.value,
        "platform_status": case.platform_status,
        "reason": case.reason.value,
        "buyer_text": case.buyer_text,
        "policy": {
            "allowed": case.policy_allowed,
            "explanation": case.policy_explanation,
            "rules": case.policy_rules,
        },
        "return_address": case.return_address,
        "shipping_payer": case.shipping_payer.value if case.shipping_payer else None,
        "shipping_cost": json_money(case.shipping_cost) if case.shipping_cost is not None else None,
        "currency": case.currency,
        "price_difference": json_money(case.price_difference)
        if case.price_difference is not None
        else None,
        "price_difference_note": case.price_difference_note,
        "due_at": json_time(case.due_at),
        "buyer_ship_by": json_time(case.buyer_ship_by),
        "confirm_receipt_by": json_time(case.confirm_receipt_by),
        "escalated": case.escalated,
        "received_at": json_time(case.received_at),
        "inspected_at": json_time(case.inspected_at),
        "refund_id": case.refund_id,  # type: ignore[attr-defined]
        "replacement_shipment_id": case.replacement_id,  # type: ignore[attr-defined]
        "close_reason": case.close_reason,
        "closed_at": json_time(case.closed_at),
        "requested_at": json_time(case.requested_at),
        "version": case.version,
        **({"lines": [line_json(x) for x in lines]} if lines is not None else {}),
        **({"trackings": [tracking_json(t) for t in trackings]} if trackings is not None else {}),
    }


async def _full(case_id: int) -> dict[str, Any]:
    case = await service.get_case(case_id)
    lines = sorted(case.lines, key=lambda line: line.id)
    trackings = sorted(case.trackings, key=lambda t: t.id, reverse=True)
    return case_json(case, lines, trackings)


async def _answer(case: ReturnCase) -> Response:
    """The case as it is now (a refund decision it made is queued when the request ends)."""
    return JSONResponse(await _full(case.id))


async def list_returns(request: Request) -> Response:
    size = case_api.per_page(request)
    filters = queue.ReturnFilters(
        **await case_api.queue_filters(request, statuses=ReturnStatus, kinds=ReturnKind)
    )
    result = await queue.search(filters, per_page=size)
    return case_api.page_json(
        [case_json(row.case, row.lines) for row in result.rows],
        total=result.total,
        page=result.page,
        size=size,
    )


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(N_("%(name)s must be a string."), name=name, code="invalid_parameter")
    return value


def _count(value: Any, name: str) -> int:
    return body_int(value, name=name, minimum=0)


async def open_return(request: Request) -> Response:
    """``{"order_id", "kind", "reason", "buyer_text", "lines": [{"platform_item_id",
    "quantity", "replacement_sku"?, "replacement_title"?, "replacement_price"?}]}``."""
    body = await json_body(request)
    order_id = _count(body.get("order_id"), "order_id")
    kind = choice_param(ReturnKind, _text(body, "kind") or "return", "kind")
    reason = choice_param(ReasonCode, _text(body, "reason") or "other", "reason")
    raw_lines = body.get("lines")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise InvalidInput(
            N_("%(name)s must be a non-empty list."), name="lines", code="invalid_parameter"
        )
    lines = []
    for raw in raw_lines:
        if not isinstance(raw, dict):
            raise InvalidInput(N_("Each line is an object."), code="invalid_parameter")
        lines.append(
            service.LineRequest(
                platform_item_id=_text(raw, "platform_item_id"),
                quantity=_count(raw.get("quantity", 1), "quantity"),
                replacement_sku=_text(raw, "replacement_sku"),
                replacement_title=_text(raw, "replacement_title"),
                replacement_price=service.parse_money(
                    raw.get("replacement_price"), "replacement_price"
                ),
            )
        )
    case = await service.open_case(
        order_id,
        kind=kind,
        lines=lines,
        reason=reason,
        buyer_text=_text(body, "buyer_text"),
        actor=current_user(request),
    )
    return JSONResponse(await _full(case.id), status_code=201)


async def get_return(request: Request) -> Response:
    return JSONResponse(await _full(request.path_params["case_id"]))


async def _approve(step: case_api.CaseAction) -> ReturnCase:
    payer = _text(step.body, "shipping_payer")
    return await service.approve(
        step.case_id,
        actor=step.actor,
        return_address=_text(step.body, "return_address"),
        shipping_payer=choice_param(ShippingPayer, payer, "shipping_payer"),
        shipping_cost=step.body.get("shipping_cost"),
        note=_text(step.body, "note"),
        expected_version=step.version,
        idempotency_key=step.key,
    )


async def _reject(step: case_api.CaseAction) -> ReturnCase:
    return await service.reject(
        step.case_id,
        actor=step.actor,
        reason=_text(step.body, "reason"),
        expected_version=step.version,
        idempotency_key=step.key,
    )


async def _tracking(step: case_api.CaseAction) -> ReturnCase:
    return await service.add_tracking(
        step.case_id,
        carrier=_text(step.body, "carrier"),
        tracking_no=_text(step.body, "tracking_no"),
        actor=step.actor,
        idempotency_key=step.key,
    )


async def _receive(step: case_api.CaseAction) -> ReturnCase:
    return await service.receive(
        step.case_id, actor=step.actor, expected_version=step.version, idempotency_key=step.key
    )


async def _inspect(step: case_api.CaseAction) -> ReturnCase:
    """``{"lines": [{"line_id", "received_good", "received_damaged"?, "result"?, "note"?,
    "restock"?}], "refund_amount"?, "note"?}``."""
    body = step.body
    raw_lines = body.get("lines")
    if not isinstance(raw_lines, list):
        raise InvalidInput(N_("%(name)s must be a list."), name="lines", code="invalid_parameter")
    entries = []
    for raw in raw_lines:
        if not isinstance(raw, dict):
            raise InvalidInput(N_("Each line is an object."), code="invalid_parameter")
        restock = raw.get("restock")
        if restock is not None and not isinstance(restock, bool):
            raise InvalidInput(
                N_("%(name)s must be true or false."), name="restock", code="invalid_parameter"
            )
        entries.append(
            service.LineInspection(
                line_id=_count(raw.get("line_id"), "line_id"),
                received_good=_count(raw.get("received_good", 0), "received_good"),
                received_damaged=_count(raw.get("received_damaged", 0), "received_damaged"),
                result=choice_param(InspectionResult, _text(raw, "result"), "result"),
                note=_text(raw, "note"),
                restock=restock,
            )
        )
    return await service.inspect(
        step.case_id,
        actor=step.actor,
        lines=entries,
        refund_amount=body.get("refund_amount"),
        note=_text(body, "note"),
        expected_version=step.version,
        idempotency_key=step.key,
    )


async def _ship_replacement(step: case_api.CaseAction) -> ReturnCase:
    return await service.ship_replacement(
        step.case_id,
        actor=step.actor,
        carrier=_text(step.body, "carrier"),
        tracking_no=_text(step.body, "tracking_no"),
        settle_note=_text(step.body, "note"),
        expected_version=step.version,
        idempotency_key=step.key,
    )


async def _close(step: case_api.CaseAction) -> ReturnCase:
    return await service.close(
        step.case_id,
        actor=step.actor,
        note=_text(step.body, "note"),
        expected_version=step.version,
        idempotency_key=step.key,
    )


async def _cancel(step: case_api.CaseAction) -> ReturnCase:
    return await service.cancel(
        step.case_id,
        actor=step.actor,
        note=_text(step.body, "note") or "cancelled_by_buyer",  # a code: events.NOTES
        expected_version=step.version,
        idempotency_key=step.key,
    )


refer = case_api.refer("case_id", service.refer)
approve = case_api.action("case_id", _approve, _answer)
reject = case_api.action("case_id", _reject, _answer)
tracking = case_api.action("case_id", _tracking, _answer)
receive = case_api.action("case_id", _receive, _answer)
inspect = case_api.action("case_id", _inspect, _answer)
ship_replacement = case_api.action("case_id", _ship_replacement, _answer)
close = case_api.action("case_id", _close, _answer)
cancel = case_api.action("case_id", _cancel, _answer)


async def _assigned(case_id: int) -> Response:
    return JSONResponse(await _full(case_id))


assign = case_api.assign("case_id", service.assign, _assigned)


async def policy_check(request: Request) -> Response:
    """Would this item of this order come back, for this reason, today? And why."""
    q = request.query_params
    order = await Order.get_or_none(id=int_param(q.get("order_id"), 0, name="order_id", minimum=1))
    if order is None:
        raise NotFound(N_("No such order."))
    item_id = q.get("item_id", "")
    item = await OrderItem.get_or_none(order_id=order.id, platform_item_id=item_id)
    if item is None:
        raise InvalidInput(
            N_("Item %(item)s is not on this order."),
            obj=order,
            item=item_id,
            code="invalid_parameter",
        )
    kind = choice_param(ReturnKind, q.get("kind") or "return", "kind")
    reason = choice_param(ReasonCode, q.get("reason") or "other", "reason")
    store = await Store.get(id=order.store_id)  # type: ignore[attr-defined]
    check = await service.check_policy(
        store, order, kind=kind, reason=reason, item_title=item.title
    )
    return JSONResponse(
        {
            "allowed": check.verdict.allowed,
            "explanation": check.explanation,
            "rules": check.rules_json(),
            "window_ends": json_time(check.verdict.window_ends),
            "delivered_at": json_time(check.delivered_at),
            "delivery_estimated": check.delivery_estimated,
        }
    )


@requires(*MANAGERS)
async def returns_report(request: Request) -> Response:
    """Cases, reasons, shipping by payer and product return rates for from..to (shop days)."""
    q = request.query_params
    settings = request.app.state.settings
    period = period_from_days(q.get("from"), q.get("to"), zone=settings.zone, now=clock.now())
    result = await report.return_report(
        period, store_id=id_param(q.get("store_id"), name="store_id")
    )
    return JSONResponse(
        {
            "from": json_time(period.start),
            "to": json_time(period.end),
            "cases": result.cases,
            "returns": result.returns,
            "exchanges": result.exchanges,
            "refused": result.refused,
            "units_sold": result.units_sold,
            "units_back": result.units_back,
            "return_rate": result.rate,
            "damaged_units": result.damaged_units,
            "by_reason": {code.value: n for code, n in result.by_reason.items()},
            "shipping_by_payer": {k: json_money(v) for k, v in result.shipping_by_payer.items()},
            "price_difference": json_money(result.price_difference),
            "products": [
                {
                    "title": p.title,
                    "sold": p.sold,
                    "returned": p.returned,
                    "exchanged": p.exchanged,
                    "return_rate": p.rate,
                }
                for p in result.products
            ],
        }
    )


TEXT = {"type": "string"}
STEP_BODIES: dict[str, dict[str, Any]] = {
    "approve": {
        "return_address": TEXT,
        "shipping_payer": {"type": "string", "enum": [p.value for p in ShippingPayer]},
        "shipping_cost": AMOUNT,
        "note": TEXT,
    },
    "reject": {"reason": TEXT},
    "tracking": {"carrier": TEXT, "tracking_no": TEXT},
    "inspect": {
        "lines": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["line_id"],
                "properties": {
                    "line_id": ID_QUERY,
                    "received_good": {"type": "integer", "minimum": 0},
                    "received_damaged": {"type": "integer", "minimum": 0},
                    "result": {"type": "string", "enum": [r.value for r in InspectionResult]},
                    "note": TEXT,
                    "restock": {"type": "boolean"},
                },
            },
        },
        "refund_amount": AMOUNT,
        "note": TEXT,
    },
    "ship-replacement": {"carrier": TEXT, "tracking_no": TEXT, "note": TEXT},
    "close": {"note": TEXT},
    "cancel": {"note": TEXT},
    "assign": {"assignee": {"type": "integer", "minimum": 1}},
}


def _step(name: str, endpoint: Any, summary: str) -> Any:
    fields = {**STEP_BODIES.get(name, {}), "version": {"type": "integer", "minimum": 1}}
    return api_route(
        f"/returns/{{case_id:id}}/{name}",
        endpoint,
        methods=["POST"],
        summary=summary + "; Idempotency-Key repeats the first answer",
        response=CASE_SCHEMA,
        body={"type": "object", "properties": fields},
    )


api_routes = [
    api_route(
        "/reports/returns",
        returns_report,
        summary="Returns report: from, to (shop days), store_id",
        roles=MANAGERS,
        params=(query("from", DAY), query("to", DAY), query("store_id", ID_QUERY)),
    ),
    api_route(
        "/returns/policy-check",
        policy_check,
        summary="Policy verdict for order_id, item_id, reason, kind, with the rules applied",
        params=(
            query("order_id", ID_QUERY),
            query("item_id", TEXT),
            query("kind", {"type": "string", "enum": [k.value for k in ReturnKind]}),
            query("reason", {"type": "string", "enum": [r.value for r in ReasonCode]}),
        ),
    ),
    api_route(
        "/returns",
        list_returns,
        summary="Return cases, filtered and paged",
        params=(
            *PAGING,
            query("store_id", ID_QUERY),
            query("status", {"type": "string", "enum": ["open", *(s.value for s in ReturnStatus)]}),
            query("kind", {"type": "string", "enum": [k.value for k in ReturnKind]}),
            query("reason", {"type": "string", "enum": [r.value for r in ReasonCode]}),
            query("due", {"type": "string", "enum": list(cases.DUE_FILTERS)}),
            query("assignee", TEXT, "me, none or a user id"),
        ),
    ),
    api_route(
        "/returns",
        open_return,
        methods=["POST"],
        summary="Open a return or exchange case on an order",
        response=CASE_SCHEMA,
        status=201,
        body={
            "type": "object",
            "required": ["order_id", "lines"],
            "properties": {
                "order_id": ID_QUERY,
                "kind": {"type": "string", "enum": [k.value for k in ReturnKind]},
                "reason": {"type": "string", "enum": [r.value for r in ReasonCode]},
                "buyer_text": TEXT,
                "lines": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["platform_item_id"],
                        "properties": {
                            "platform_item_id": TEXT,
                            "quantity": {"type": "integer", "minimum": 1},
                            "replacement_sku": TEXT,
                            "replacement_title": TEXT,
                            "replacement_price": AMOUNT,
                        },
                    },
                },
            },
        },
    ),
    api_route("/returns/{case_id:id}", get_return, summary="One case", response=CASE_SCHEMA),
    _step("approve", approve, "Approve (return_address, shipping_payer, shipping_cost, note)"),
    _step("reject", reject, "Refuse (reason)"),
    api_route(
        "/returns/{case_id:id}/refer",
        refer,
        methods=["POST"],
        summary="Send a case waiting for approval to a supervisor (note, version); 409 if sent",
        status=201,
        body={
            "type": "object",
            "properties": {
                "note": {"type": "string"},
                "version": {"type": "integer", "minimum": 1},
            },
        },
    ),
    _step("tracking", tracking, "The buyer's return carrier and tracking_no"),
    _step("receive", receive, "The warehouse received the parcel"),
    _step("inspect", inspect, "Inspection per line; a return triggers its refund once"),
    _step("ship-replacement", ship_replacement, "Ship an exchange's replacement"),
    _step("close", close, "Close a settled case (note)"),
    _step("cancel", cancel, "Cancel before receipt (note)"),
    _step("assign", assign, "Take the case, or give it to a colleague (assignee: a user id)"),
]
