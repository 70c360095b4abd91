"""Refund pages: the queue, one refund with its decision forms, and a store's rules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from aftersales.core.auth import current_user, requires
from aftersales.core.errors import AfterSalesError, InvalidInput
from aftersales.core.i18n import gettext as _
from aftersales.core.jobs import kick_outbox
from aftersales.core.models import Role, Store
from aftersales.core.privacy import address_for, phone_for
from aftersales.core.reasons import LABELS, ReasonCode
from aftersales.core.templating import flash, render
from aftersales.refunds import queue, service
from aftersales.refunds.models import RefundKind, RefundStatus
from aftersales.refunds.replies import REFUSAL_TEMPLATES
from aftersales.refunds.rules import Rules, Verdict

RULE_EDITORS = (Role.SUPERVISOR, Role.OWNER, Role.ADMIN)


def _decimal(value: str | None) -> Decimal | None:
    if not value or not value.strip():
        return None
    try:
        return Decimal(value.strip())
    except InvalidOperation:
        raise InvalidInput(f"{value!r} is not an amount.") from None


def _filters(request: Request) -> queue.RefundFilters:
    q = request.query_params
    user = current_user(request)

    def enum(kind, value):  # type: ignore[no-untyped-def]
        return kind(value) if value in {e.value for e in kind} else None

    try:
        minimum, maximum = _decimal(q.get("min")), _decimal(q.get("max"))
    except InvalidInput:
        minimum = maximum = None
    return queue.RefundFilters(
        store_id=int(q["store"]) if q.get("store", "").isdigit() else None,
        status=enum(RefundStatus, q.get("status")),
        kind=enum(RefundKind, q.get("kind")),
        reason=enum(ReasonCode, q.get("reason")),
        due=q.get("due", "") if q.get("due") in ("soon", "overdue") else "",
        min_amount=minimum,
        max_amount=maximum,
        assignee_id=user.id if q.get("assignee") == "me" else None,
        unassigned=q.get("assignee") == "none",
        intercept=q.get("intercept") == "1",
        open_only=q.get("status") in (None, "", "open"),
        page=int(q["page"]) if q.get("page", "").isdigit() else 1,
    )


async def refund_queue(request: Request) -> Response:
    filters = _filters(request)
    result = await queue.search(filters)
    params = {k: v for k, v in request.query_params.items() if k != "page"}
    return render(
        request,
        "refunds/queue.html",
        {
            "result": result,
            "filters": filters,
            "params": params,
            "args": urlencode(params),
            "stores": await Store.all().order_by("id"),
            "statuses": list(RefundStatus),
            "kinds": list(RefundKind),
            "reasons": LABELS,
            "eligible": Verdict.AUTO_APPROVE,
            "due_soon": queue.is_due_soon,
        },
    )


async def refund_detail(request: Request) -> Response:
    ctx = await queue.context(request.path_params["refund_id"])
    role = current_user(request).role
    customer = ctx.customer
    return render(
        request,
        "refunds/detail.html",
        {
            "c": ctx,
            "refund": ctx.refund,
            "reasons": LABELS,
            "templates": REFUSAL_TEMPLATES,
            "phone": phone_for(role, customer.phone) if customer else None,
            "address": address_for(role, customer.address) if customer else None,
        },
    )


async def _decide(
    request: Request, action: Callable[[dict[str, str]], Awaitable[service.Decision]], done: str
) -> Response:
    refund_id = request.path_params["refund_id"]
    form = await request.form()
    fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    try:
        decision = await action(fields)
    except AfterSalesError as exc:
        flash(request, exc.message, "alert")
    else:
        await kick_outbox(request.app.state.redis, decision.due)
        flash(request, done)
    return RedirectResponse(f"/refunds/{refund_id}", status_code=303)


def _version(fields: dict[str, str]) -> int | None:
    value = fields.get("version", "")
    return int(value) if value.isdigit() else None


async def refund_approve(request: Request) -> Response:
    user = current_user(request)
    return await _decide(
        request,
        lambda f: service.approve(
            request.path_params["refund_id"],
            actor=user,
            amount=f.get("amount") or None,
            note=f.get("note", "").strip(),
            expected_version=_version(f),
        ),
        _("Approved. The platform is being told."),
    )


async def refund_reject(request: Request) -> Response:
    user = current_user(request)
    return await _decide(
        request,
        lambda f: service.reject(
            request.path_params["refund_id"],
            actor=user,
            reason=f.get("reason", ""),
            expected_version=_version(f),
        ),
        _("Refused. The platform is being told."),
    )


async def refund_retry(request: Request) -> Response:
    user = current_user(request)
    return await _decide(
        request,
        lambda f: service.retry_writeback(request.path_params["refund_id"], actor=user),
        _("Trying the write-back again with the same idempotency key."),
    )


async def refund_assign(request: Request) -> Response:
    await service.assign(request.path_params["refund_id"], current_user(request))
    flash(request, _("The refund is yours."))
    return RedirectResponse(f"/refunds/{request.path_params['refund_id']}", status_code=303)


async def bulk_approve(request: Request) -> Response:
    """Approve the ticked rows the rules call eligible; each is decided on its own."""
    form = await request.form()
    ids = [int(v) for v in form.getlist("refund") if isinstance(v, str) and v.isdigit()]
    outcome = await service.bulk_approve(ids, actor=current_user(request))
    await kick_outbox(request.app.state.redis, outcome.due)
    message = _("%(approved)s approved, %(skipped)s left for a person.") % {
        "approved": outcome.approved,
        "skipped": len(outcome.skipped),
    }
    flash(request, message, "alert" if outcome.skipped else "info")
    return RedirectResponse(request.headers.get("referer") or "/refunds/", status_code=303)


@requires(*RULE_EDITORS)
async def rules_page(request: Request) -> Response:
    store = await Store.get_or_none(id=request.path_params["store_id"])
    if store is None:
        raise InvalidInput("No such store.", status=404)
    return render(
        request,
        "refunds/rules.html",
        {"store": store, "rules": await service.rules_for(store.id), "reasons": LABELS},
    )


@requires(*RULE_EDITORS)
async def rules_save(request: Request) -> Response:
    store_id = request.path_params["store_id"]
    store = await Store.get_or_none(id=store_id)
    if store is None:
        raise InvalidInput("No such store.", status=404)
    form = await request.form()
    try:
        rules = Rules(
            auto_approve_unshipped_up_to=_decimal(str(form.get("auto_approve", ""))),
            supervisor_above=_decimal(str(form.get("supervisor_above", ""))),
            night_agent_up_to=_decimal(str(form.get("night_agent_up_to", ""))),
            ad_hoc_agent_up_to=_decimal(str(form.get("ad_hoc_agent_up_to", ""))),
            human_reasons=frozenset(
                ReasonCode(v) for v in form.getlist("human_reasons") if v in set(ReasonCode)
            ),
        )
        await service.save_rules(store, rules, actor=current_user(request))
    except AfterSalesError as exc:
        flash(request, exc.message, "alert")
    else:
        flash(request, _("Rules saved. They apply to requests from now on."))
    return RedirectResponse(f"/refunds/rules/{store_id}", status_code=303)


routes = [
    Route("/", refund_queue, name="refunds"),
    Route("/bulk-approve", bulk_approve, methods=["POST"]),
    Route("/{refund_id:int}", refund_detail),
    Route("/{refund_id:int}/approve", refund_approve, methods=["POST"]),
    Route("/{refund_id:int}/reject", refund_reject, methods=["POST"]),
    Route("/{refund_id:int}/retry", refund_retry, methods=["POST"]),
    Route("/{refund_id:int}/assign", refund_assign, methods=["POST"]),
    Route("/rules/{store_id:int}", rules_page),
    Route("/rules/{store_id:int}", rules_save, methods=["POST"]),
]
