"""JSON API for refunds (``/api/v1/refunds``): the queue, one refund, decisions.

A decision repeated with the same ``Idempotency-Key`` header answers the
first decision again (200); any other second decision answers 409
``refund_already_decided``, so a client retrying a timed-out request never
decides twice and never mistakes someone else's decision for its own.
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
    amount_param,
    api_route,
    body_int,
    choice_param,
    id_param,
    json_body,
    json_money,
    json_time,
    query,
)
from aftersales.core.auth import MANAGERS, current_user, requires
from aftersales.core.case_api import referral_json
from aftersales.core.errors import InvalidInput, render
from aftersales.core.i18n import N_
from aftersales.core.periods import period_from_days
from aftersales.core.reasons import ReasonCode
from aftersales.orders.models import Order
from aftersales.refunds import links, queue, report, service
from aftersales.refunds.models import Refund, RefundKind, RefundStatus
from aftersales.refunds.rules import Explanation

REFUND_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "order_id": {"type": ["integer", "null"]},
        "platform_order_id": {"type": "string"},
        "platform_refund_id": {"type": ["string", "null"]},
        "kind": {"type": "string", "enum": [k.value for k in RefundKind]},
        "status": {"type": "string", "enum": [s.value for s in RefundStatus]},
        "platform_status": {"type": "string"},
        "amount_requested": {"type": "string"},
        "amount_approved": {"type": ["string", "null"]},
        "currency": {"type": "string"},
        "reason": {"type": "string", "enum": [r.value for r in ReasonCode]},
        "due_at": {"type": ["string", "null"], "format": "date-time"},
        "worked_in": {"type": ["string", "null"], "description": "the case that works it"},
        "version": {"type": "integer"},
    },
}


def refund_json(refund: Refund) -> dict[str, Any]:
    return {
        "id": refund.id,
        "store_id": refund.store_id,  # type: ignore[attr-defined]
        "order_id": refund.order_id,  # type: ignore[attr-defined]
        "platform_order_id": refund.platform_order_id,
        "platform_refund_id": refund.platform_refund_id,
        "kind": refund.kind.value,
        "status": refund.status.value,
        "platform_status": refund.platform_status,
        "amount_requested": json_money(refund.requested_amount),
        "amount_approved": json_money(refund.approved_amount)
        if refund.approved_amount is not None
        else None,
        "currency": refund.currency,
        "reason": refund.reason.value,
        "platform_reason": refund.platform_reason,
        "due_at": json_time(refund.due_at),
        "escalated": refund.escalated,
        "intercept_parcel": refund.intercept_parcel,
        "worked_in": refund.worked_in if links.is_linked(refund) else None,
        "rule": refund.rule,
        "decided_at": json_time(refund.decided_at),
        "refunded_at": json_time(refund.refunded_at),
        "version": refund.version,
    }


async def list_refunds(request: Request) -> Response:
    q = request.query_params
    size = case_api.per_page(request)
    filters = queue.RefundFilters(
        **await case_api.queue_filters(request, statuses=RefundStatus, kinds=RefundKind),
        min_amount=amount_param(q.get("min_amount"), name="min_amount"),
        max_amount=amount_param(q.get("max_amount"), name="max_amount"),
    )
    result = await queue.search(filters, per_page=size)
    return case_api.page_json(
        [refund_json(row.refund) for row in result.rows],
        total=result.total,
        page=result.page,
        size=size,
    )


async def get_refund(request: Request) -> Response:
    return JSONResponse(refund_json(await service.get_refund(request.path_params["refund_id"])))


async def _answer(decision: service.Decision) -> Response:
    return JSONResponse(refund_json(decision.refund))


async def _approve(step: case_api.CaseAction) -> service.Decision:
    amount = step.body.get("amount")
    if amount is not None and not isinstance(amount, str | int):
        raise InvalidInput(
            N_("%(name)s must be a string."), name="amount", code="invalid_parameter"
        )
    return await service.approve(
        step.case_id,
        actor=step.actor,
        amount=str(amount) if amount is not None else None,
        note=str(step.body.get("note") or ""),
        expected_version=step.version,
        idempotency_key=step.key,
    )


async def _reject(step: case_api.CaseAction) -> service.Decision:
    return await service.reject(
        step.case_id,
        actor=step.actor,
        reason=str(step.body.get("reason") or ""),
        expected_version=step.version,
        idempotency_key=step.key,
    )


def explanation_json(e: Explanation) -> dict[str, Any]:
    """The rule sentence the refund page shows its reader, for an API client."""
    return {
        "decides": e.decider.value,
        "message": render(e.msgid, e.params),
        "limit": json_money(e.limit) if e.limit is not None else None,
    }


async def refund_decision(request: Request) -> Response:
    """Whose decision this refund is for the caller, and its open referral, if any."""
    refund = await service.get_refund(request.path_params["refund_id"])
    order = await Order.get_or_none(id=refund.order_id) if refund.order_id else None
    view = await service.decision_view(
        refund, current_user(request), shipped=bool(order and order.shipped_at)
    )
    return JSONResponse(
        {
            "refund_id": refund.id,
            "status": refund.status.value,
            "rule": explanation_json(view.explanation) if view.explanation else None,
            "referral": referral_json(view.referral) if view.referral else None,
        }
    )


refer = case_api.refer("refund_id", service.refer)
approve = case_api.action("refund_id", _approve, _answer)
reject = case_api.action("refund_id", _reject, _answer)


async def _assigned(refund_id: int) -> Response:
    return JSONResponse(refund_json(await service.get_refund(refund_id)))


assign = case_api.assign("refund_id", service.assign, _assigned)


REPORT_READERS = MANAGERS  # supervisors produce reports, owners read them
GROUP_BY = (*report.GRAINS, *report.GROUPS)


def _totals_json(totals: report.Totals) -> dict[str, Any]:
    return {
        "refunded": json_money(totals.refunded),
        "refunds": totals.refunds,
        "refunded_orders": totals.refunded_orders,
        "paid": json_money(totals.paid),
        "paid_orders": totals.paid_orders,
        "refund_rate_amount": totals.amount_rate,
        "refund_rate_orders": totals.order_rate,
        "dispute_refund_rate": totals.dispute_rate,
        "quality_refund_rate": totals.quality_rate,
        "auto_agreed": totals.auto_agreed,
    }


def _timing_json(timing: report.Timing) -> dict[str, Any]:
    return {
        "decided": timing.decided,
        "decision_median_hours": timing.decision_median_hours,
        "decision_p90_hours": timing.decision_p90_hours,
        "paid": timing.paid,
        "money_back_median_hours": timing.money_median_hours,
        "money_back_p90_hours": timing.money_p90_hours,
    }


@requires(*REPORT_READERS)
async def refund_report(request: Request) -> Response:
    """Totals against the previous period, timing, misses, and one breakdown as items."""
    q = request.query_params
    group_by = q.get("group_by", "day")
    if group_by not in GROUP_BY:
        raise InvalidInput(
            N_("%(name)s must be one of %(choices)s."),
            name="group_by",
            choices=", ".join(GROUP_BY),
            code="invalid_parameter",
        )
    settings = request.app.state.settings
    period = period_from_days(q.get("from"), q.get("to"), zone=settings.zone, now=clock.now())
    result = await report.refund_report(
        period,
        zone=settings.zone,
        currency=q.get("currency") or None,
        store_id=id_param(q.get("store_id"), name="store_id"),
        grain=group_by if group_by in report.GRAINS else "day",
    )
    rows = result.series if group_by in report.GRAINS else result.groups[group_by]
    return JSONResponse(
        {
            "from": json_time(period.start),
            "to": json_time(period.end),
            "currency": result.currency,
            "group_by": group_by,
            "totals": _totals_json(result.totals),
            "previous": _totals_json(result.previous),
            "timing": _timing_json(result.timing),
            "previous_timing": _timing_json(result.previous_timing),
            "items": [
                {
                    "key": row.key,
                    "label": row.label,
                    "refunded": json_money(row.amount),
                    "refunds": row.refunds,
                    "previous_refunded": json_money(row.previous_amount),
                    "previous_refunds": row.previous_refunds,
                    **(
                        {"paid": json_money(row.paid), "refund_rate": row.rate}
                        if row.paid is not None
                        else {}
                    ),
                }
                for row in rows
            ],
            "misses": [
                {
                    "refund_id": m.refund_id,
                    "platform_order_id": m.platform_order_id,
                    "amount": json_money(m.amount),
                    "due_at": json_time(m.due_at),
                    "refunded_at": json_time(m.refunded_at),
                }
                for m in result.misses
            ],
        }
    )


async def start_refund(request: Request) -> Response:
    """``{"order_id", "kind", "amount", "reason", "note", "platform_item_id"?,
    "review_case_id"?}``: a refund the shop starts, approved within the caller's cap."""
    body = await json_body(request)
    order_id = body_int(body.get("order_id"), name="order_id")
    kind = choice_param(RefundKind, str(body.get("kind") or ""), "kind")
    if kind is None:
        raise InvalidInput(N_("%(name)s is required."), name="kind", code="invalid_parameter")
    reason = choice_param(ReasonCode, str(body.get("reason") or "other"), "reason")
    review = body.get("review_case_id")
    if review is not None:
        review = body_int(review, name="review_case_id")
    decision = await service.start_refund(
        order_id,
        kind=kind,
        amount=str(body.get("amount") or ""),
        reason=reason,
        actor=current_user(request),
        note=str(body.get("note") or ""),
        platform_item_id=str(body["platform_item_id"]) if body.get("platform_item_id") else None,
        review_case_id=review,
    )
    return JSONResponse(refund_json(decision.refund), status_code=201)


LIST_SCHEMA = {
    "type": "object",
    "properties": {
        "items": {"type": "array", "items": REFUND_SCHEMA},
        "total": {"type": "integer"},
    },
}

DECISION_BODY = {
    "type": "object",
    "properties": {
        "amount": AMOUNT,
        "note": {"type": "string"},
        "reason": {"type": "string"},
        "version": {"type": "integer", "minimum": 1},
    },
}

api_routes = [
    api_route(
        "/reports/refunds",
        refund_report,
        summary="Refund report: from, to (shop days), group_by day|week|month|reason|sku|"
        "store|agent",
        roles=REPORT_READERS,
        params=(
            query("from", DAY),
            query("to", DAY),
            query("group_by", {"type": "string", "enum": list(GROUP_BY)}),
            query("currency", {"type": "string", "maxLength": 3}),
            query("store_id", ID_QUERY),
        ),
    ),
    api_route(
        "/refunds",
        list_refunds,
        summary="Refunds, filtered and paged",
        response=LIST_SCHEMA,
        params=(
            *PAGING,
            query("store_id", ID_QUERY),
            query("status", {"type": "string", "enum": ["open", *(s.value for s in RefundStatus)]}),
            query("kind", {"type": "string", "enum": [k.value for k in RefundKind]}),
            query("reason", {"type": "string", "enum": [r.value for r in ReasonCode]}),
            query("due", {"type": "string", "enum": list(cases.DUE_FILTERS)}),
            query("min_amount", AMOUNT),
            query("max_amount", AMOUNT),
            query("assignee", {"type": "string"}, "me, none or a user id"),
        ),
    ),
    api_route(
        "/refunds",
        start_refund,
        methods=["POST"],
        summary="Start a shipping, price-difference or compensation refund on an order",
        response=REFUND_SCHEMA,
        status=201,
        body={
            "type": "object",
            "required": ["order_id", "kind", "amount", "note"],
            "properties": {
                "order_id": ID_QUERY,
                "kind": {"type": "string", "enum": [k.value for k in RefundKind]},
                "amount": AMOUNT,
                "reason": {"type": "string", "enum": [r.value for r in ReasonCode]},
                "note": {"type": "string"},
                "platform_item_id": {"type": "string"},
                "review_case_id": ID_QUERY,
            },
        },
    ),
    api_route("/refunds/{refund_id:id}", get_refund, summary="One refund", response=REFUND_SCHEMA),
    api_route(
        "/refunds/{refund_id:id}/decision",
        refund_decision,
        summary="Whose decision a refund is for the caller (the rule in words) and its referral",
    ),
    api_route(
        "/refunds/{refund_id:id}/refer",
        refer,
        methods=["POST"],
        summary="Send an undecided refund to a supervisor (note, version); 409 if already sent",
        status=201,
        body={
            "type": "object",
            "properties": {
                "note": {"type": "string"},
                "version": {"type": "integer", "minimum": 1},
            },
        },
    ),
    api_route(
        "/refunds/{refund_id:id}/approve",
        approve,
        methods=["POST"],
        summary="Approve a refund (amount, note); Idempotency-Key repeats the first answer",
        response=REFUND_SCHEMA,
        body=DECISION_BODY,
    ),
    api_route(
        "/refunds/{refund_id:id}/reject",
        reject,
        methods=["POST"],
        summary="Refuse a refund (reason); Idempotency-Key repeats the first answer",
        response=REFUND_SCHEMA,
        body=DECISION_BODY,
    ),
    api_route(
        "/refunds/{refund_id:id}/assign",
        assign,
        methods=["POST"],
        summary="Take a refund, or give it to a colleague (assignee: a user id; managers)",
        response=REFUND_SCHEMA,
        body=case_api.ASSIGN_BODY,
    ),
]
