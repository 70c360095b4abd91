"""Refund pages: the queue, one refund with its decision forms, and a store's rules."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlencode

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from aftersales.core import case_routes, clock, phrases
from aftersales.core.api import number_or_none
from aftersales.core.auth import MANAGERS, current_user, requires
from aftersales.core.errors import AfterSalesError, InvalidInput, Msgid, NotFound
from aftersales.core.export import csv_response, xlsx_response
from aftersales.core.i18n import N_
from aftersales.core.i18n import gettext as _
from aftersales.core.models import Store
from aftersales.core.money import optional_amount
from aftersales.core.periods import period_from_days
from aftersales.core.reasons import LABELS, ReasonCode
from aftersales.core.templating import flash, render
from aftersales.orders.models import Order
from aftersales.refunds import charts, evidence, export, queue, report, service
from aftersales.refunds.models import (
    AD_HOC_KINDS,
    OPEN_STATUSES,
    EvidenceKind,
    Refund,
    RefundKind,
    RefundStatus,
)
from aftersales.refunds.rules import Rules, Verdict, summary


def _decimal(value: str | None) -> Decimal | None:
    # NaN, Infinity, negatives and 1e999999 are refused here, not inside a rule.
    return optional_amount(value, name=Msgid(N_("Amount")))


async def _filters(request: Request) -> queue.RefundFilters:
    q = request.query_params
    try:
        minimum, maximum = _decimal(q.get("min")), _decimal(q.get("max"))
    except InvalidInput:
        minimum = maximum = None
    return queue.RefundFilters(
        **await case_routes.queue_filters(request, statuses=RefundStatus, kinds=RefundKind),
        min_amount=minimum,
        max_amount=maximum,
        intercept=q.get("intercept") == "1",
        writeback_failed=q.get("writeback") == "failed",
        # The queue is the work to do here: a refund its return case works is
        # counted beside it and listed on asking (``linked=only`` or ``any``).
        linked=q.get("linked") if q.get("linked") in queue.LINKED_CHOICES else "work",
    )


async def refund_queue(request: Request) -> Response:
    filters = await _filters(request)
    result = await queue.search(filters, reader=current_user(request))
    return await case_routes.queue_page(
        request,
        "refunds/queue.html",
        result=result,
        filters=filters,
        statuses=list(RefundStatus),
        kinds=list(RefundKind),
        eligible=Verdict.AUTO_APPROVE,
        open_statuses=OPEN_STATUSES,
        **await case_routes.assign_choices(
            current_user(request), [row.refund.assignee_id for row in result.rows]
        ),
    )


async def refund_detail(request: Request) -> Response:
    ctx = await queue.context(request.path_params["refund_id"])
    decision = await service.decision_view(
        ctx.refund, current_user(request), shipped=bool(ctx.order and ctx.order.shipped_at)
    )
    return render(
        request,
        "refunds/detail.html",
        {
            "c": ctx,
            "refund": ctx.refund,
            "decision": decision,
            "reasons": LABELS,
            "phrases": await phrases.for_case(current_user(request), ctx.refund.ref),
            "open_statuses": OPEN_STATUSES,
            "takes_refusals": service.takes_refusals(ctx.store),
            **case_routes.buyer_contact(request, ctx.customer, ctx.store),
            **await case_routes.buyer_context(request, [ctx.customer]),
            **await case_routes.assign_choices(current_user(request), [ctx.refund.assignee_id]),
        },
    )


async def _decide(
    request: Request, action: Callable[[dict[str, str]], Awaitable[service.Decision]], done: str
) -> Response:
    to = f"/refunds/{request.path_params['refund_id']}"
    return await case_routes.step(request, to, action, done)


async def refund_approve(request: Request) -> Response:
    user = current_user(request)
    return await _decide(
        request,
        lambda f: service.approve(
            request.path_params["refund_id"],
            actor=user,
            amount=f.get("amount") or None,
            note=f.get("note", "").strip(),
            expected_version=case_routes.form_version(f),
        ),
        _("Approved. The platform is being told."),
    )


async def refund_reject(request: Request) -> Response:
    user = current_user(request)
    return await _decide(
        request,
        lambda f: phrases.with_use(
            user,
            f.get("phrase_id"),
            service.reject(
                request.path_params["refund_id"],
                actor=user,
                reason=f.get("reason", ""),
                expected_version=case_routes.form_version(f),
            ),
        ),
        _("Refused. The platform is being told."),
    )


# "Send to supervisor": the refund waits in the supervisors' list, with the note.
refund_refer = case_routes.refer(Refund.case_type, service.refer, param="refund_id")


async def refund_retry(request: Request) -> Response:
    user = current_user(request)
    return await _decide(
        request,
        lambda f: service.retry_writeback(request.path_params["refund_id"], actor=user),
        _("Trying the write-back again with the same idempotency key."),
    )


async def evidence_add(request: Request) -> Response:
    refund_id = request.path_params["refund_id"]
    form = await request.form()
    photo = form.get("photo")
    upload = None
    if isinstance(photo, UploadFile) and photo.filename:
        upload = evidence.Upload(photo.filename, await photo.read())
    return await case_routes.outcome(
        request,
        f"/refunds/{refund_id}#evidence",
        lambda: evidence.add_evidence(
            refund_id,
            actor=current_user(request),
            kind=EvidenceKind(str(form.get("kind") or "note"))
            if str(form.get("kind") or "note") in set(EvidenceKind)
            else EvidenceKind.NOTE,
            data_dir=request.app.state.settings.data_dir,
            text=str(form.get("text") or ""),
            upload=upload,
        ),
        _("Evidence kept with the refund."),
    )


async def evidence_photo(request: Request) -> Response:
    return await case_routes.stored_photo(
        request, evidence.evidence_file, case="refund_id", photo="evidence_id"
    )


async def evidence_zip(request: Request) -> Response:
    refund_id = request.path_params["refund_id"]
    settings = request.app.state.settings
    body = await evidence.evidence_pack(refund_id, settings.data_dir, settings.zone)
    return Response(
        body,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="refund-{refund_id}-evidence.zip"'},
    )


refund_assign = case_routes.assign(
    Refund.case_type, service.assign, param="refund_id", taken=N_("The refund is yours.")
)


async def bulk_approve(request: Request) -> Response:
    """Approve the ticked rows; each is checked again and decided on its own.

    A row the page would not have ticked (a forged or stale post) is refused
    by name with its reason; the others land.
    """
    form = await request.form()
    ids = [int(v) for v in form.getlist("refund") if isinstance(v, str) and number_or_none(v)]
    outcome = await service.bulk_approve(ids, actor=current_user(request))
    message = _("%(approved)s approved, %(skipped)s left for a person.") % {
        "approved": outcome.approved,
        "skipped": len(outcome.skipped),
    }
    # One flash per page: the count, then each refused row by name and why.
    flash(request, " ".join([message, *(why for _, why in outcome.skipped)]),
          "alert" if outcome.skipped else "info")  # fmt: skip
    return RedirectResponse(request.headers.get("referer") or "/refunds/", status_code=303)


@requires(*MANAGERS)
async def rules_page(request: Request) -> Response:
    store = await Store.get_or_none(id=request.path_params["store_id"])
    if store is None:
        raise NotFound(N_("No such store."), id=request.path_params["store_id"])
    rules = await service.rules_for(store.id)
    return render(
        request,
        "refunds/rules.html",
        {"store": store, "rules": rules, "reasons": LABELS, "summary": summary(rules)},
    )


@requires(*MANAGERS)
async def rules_save(request: Request) -> Response:
    store_id = request.path_params["store_id"]
    store = await Store.get_or_none(id=store_id)
    if store is None:
        raise NotFound(N_("No such store."), id=store_id)
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


async def _report(request: Request) -> report.RefundReport:
    q = request.query_params
    settings = request.app.state.settings
    period = period_from_days(q.get("from"), q.get("to"), zone=settings.zone, now=clock.now())
    store = q.get("store", "")
    grain = q.get("grain", "day")
    return await report.refund_report(
        period,
        zone=settings.zone,
        store_id=number_or_none(store),
        grain=grain if grain in report.GRAINS else "day",
    )


def _days(request: Request, result: report.RefundReport) -> tuple[str, str]:
    zone = request.app.state.settings.zone
    first = result.period.start.astimezone(zone).date()
    last = (result.period.end.astimezone(zone) - timedelta(days=1)).date()
    return first.isoformat(), last.isoformat()


async def start_form(request: Request) -> Response:
    """Start a shipping, price-difference or compensation refund on one order."""
    order_id = request.query_params.get("order", "")
    order = (
        await Order.get_or_none(id=int(order_id)).prefetch_related("items")
        if number_or_none(order_id)
        else None
    )
    if order is None:
        raise NotFound(N_("Open this from an order: no order was given."))
    return render(
        request,
        "refunds/start.html",
        {"order": order, "kinds": sorted(AD_HOC_KINDS), "reasons": LABELS},
    )


async def start_submit(request: Request) -> Response:
    form = await request.form()
    fields = {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}
    order_id = number_or_none(fields.get("order")) or 0
    try:
        kind = RefundKind(fields.get("kind", ""))
        reason = ReasonCode(fields.get("reason", "other"))
    except ValueError:
        flash(request, _("Choose what the refund is for."), "alert")
        return RedirectResponse(f"/refunds/new?order={order_id}", status_code=303)
    try:
        decision = await service.start_refund(
            order_id,
            kind=kind,
            amount=fields.get("amount", ""),
            reason=reason,
            actor=current_user(request),
            note=fields.get("note", ""),
            platform_item_id=fields.get("item") or None,
        )
    except AfterSalesError as exc:
        flash(request, exc.message, "alert")
        return RedirectResponse(f"/refunds/new?order={order_id}", status_code=303)
    flash(request, _("Refund started. The platform is being told."))
    return RedirectResponse(f"/refunds/{decision.refund.id}", status_code=303)


@requires(*MANAGERS)
async def report_page(request: Request) -> Response:
    try:
        result = await _report(request)
    except AfterSalesError as exc:
        flash(request, exc.message, "alert")
        return RedirectResponse("/refunds/report", status_code=303)
    first, last = _days(request, result)
    groups = {name: report.translated(rows, _) for name, rows in result.groups.items()}
    query = urlencode({"from": first, "to": last, **{
        k: v for k, v in request.query_params.items() if k in ("store", "grain")
    }})  # fmt: skip
    return render(
        request,
        "refunds/report.html",
        {
            "r": result,
            "groups": groups,
            "first": first,
            "last": last,
            "query": query,
            "stores": await Store.all().order_by("id"),
            "store_id": request.query_params.get("store", ""),
            "grains": report.GRAINS,
            "grain_labels": report.GRAIN_LABELS,
            "table_names": export.TABLE_NAMES,
            "series_svg": charts.series_chart(
                result.series,
                title=_("Refunded per %(grain)s") % {"grain": _(report.GRAIN_LABELS[result.grain])},
                amount_label=_("Refunded"),
                rate_label=_("Refund rate %"),
            ),
            "reason_svg": charts.breakdown_chart(
                groups["reason"],
                title=_("Refunded by reason"),
                now_label=_("This period"),
                before_label=_("Previous period"),
            ),
        },
    )


@requires(*MANAGERS)
async def report_csv(request: Request) -> Response:
    table = request.path_params["table"]
    if table not in export.TABLES:
        raise NotFound(N_("There is no report table %(table)s."), table=table)
    result = await _report(request)
    first, last = _days(request, result)
    zone = request.app.state.settings.zone
    body = export.to_csv(export.tables(result, _)[table], zone=zone)
    return csv_response(body, f"refunds-{table}-{first}-{last}.csv")


@requires(*MANAGERS)
async def report_xlsx(request: Request) -> Response:
    result = await _report(request)
    first, last = _days(request, result)
    names = {key: _(label) for key, label in export.TABLE_NAMES.items()}
    zone = request.app.state.settings.zone
    body = export.to_xlsx(export.tables(result, _), names, zone=zone)
    return xlsx_response(body, f"refunds-{first}-{last}.xlsx")


routes = [
    Route("/new", start_form),
    Route("/new", start_submit, methods=["POST"]),
    Route("/report", report_page),
    Route("/report.xlsx", report_xlsx),
    Route("/report/{table}.csv", report_csv),
    Route("/", refund_queue, name="refunds"),
    Route("/bulk-approve", bulk_approve, methods=["POST"]),
    Route("/{refund_id:id}", refund_detail),
    Route("/{refund_id:id}/approve", refund_approve, methods=["POST"]),
    Route("/{refund_id:id}/reject", refund_reject, methods=["POST"]),
    Route("/{refund_id:id}/refer", refund_refer, methods=["POST"]),
    Route("/{refund_id:id}/retry", refund_retry, methods=["POST"]),
    Route("/{refund_id:id}/assign", refund_assign, methods=["POST"]),
    Route("/{refund_id:id}/evidence", evidence_add, methods=["POST"]),
    Route("/{refund_id:id}/evidence.zip", evidence_zip),
    Route("/{refund_id:id}/evidence/{evidence_id:id}", evidence_photo),
    Route("/rules/{store_id:id}", rules_page),
    Route("/rules/{store_id:id}", rules_save, methods=["POST"]),
]
