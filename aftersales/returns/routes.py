"""Return pages: the queue, one case with its steps, warehouse receiving, the policy editor."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from aftersales.core import case_routes, cases, clock, phrases
from aftersales.core.api import number_or_none
from aftersales.core.auth import MANAGERS, current_user, requires
from aftersales.core.errors import AfterSalesError, InvalidInput, NotFound
from aftersales.core.export import csv_response, to_csv, to_xlsx, xlsx_response
from aftersales.core.i18n import N_
from aftersales.core.i18n import gettext as _
from aftersales.core.models import Store
from aftersales.core.periods import period_from_days
from aftersales.core.photos import Upload, check_photo
from aftersales.core.reasons import LABELS, ReasonCode
from aftersales.core.templating import flash, render
from aftersales.orders.models import Order, OrderItem
from aftersales.returns import export as returns_export
from aftersales.returns import parcels, photos, policy_summary, queue, service
from aftersales.returns import report as returns_report
from aftersales.returns.events import RETURN_CATEGORIES
from aftersales.returns.models import (
    RUNNING_STATUSES,
    InspectionResult,
    ReturnCase,
    ReturnStatus,
    ShippingPayer,
)
from aftersales.returns.policy import LAW_EXCLUDED, Policy, ReturnKind

MAX_QUANTITY = 100_000
MAX_WINDOW_DAYS = 3650
"""A return window longer than ten years is a typo, and a huge one overflowed timedelta."""


_enum = case_routes.choice


async def _filters(request: Request) -> queue.ReturnFilters:
    return queue.ReturnFilters(
        **await case_routes.queue_filters(request, statuses=ReturnStatus, kinds=ReturnKind),
        awaiting_receipt=request.query_params.get("status") == "awaiting_receipt",
    )


async def return_queue(request: Request) -> Response:
    filters = await _filters(request)
    result = await queue.search(filters)
    return await case_routes.queue_page(
        request,
        "returns/queue.html",
        result=result,
        filters=filters,
        statuses=list(ReturnStatus),
        kinds=list(ReturnKind),
        open_statuses=RUNNING_STATUSES,
        **await case_routes.assign_choices(
            current_user(request), [row.case.assignee_id for row in result.rows]
        ),
    )


async def return_detail(request: Request) -> Response:
    ctx = await queue.context(request.path_params["case_id"])
    return render(
        request,
        "returns/detail.html",
        {
            "c": ctx,
            "case": ctx.case,
            "decision": await service.decision_view(ctx.case, current_user(request)),
            "reasons": LABELS,
            "payers": list(ShippingPayer),
            "results": list(InspectionResult),
            "phrases": await phrases.for_case(current_user(request), ctx.case.ref),
            "default_address": service.store_setting(ctx.store, "return_address"),
            **case_routes.buyer_contact(request, ctx.customer, ctx.store),
            **await case_routes.buyer_context(request, [ctx.customer]),
            "scanned": request.query_params.get("scanned") == "1",
            "due_soon": cases.is_due_soon,
            "open_statuses": RUNNING_STATUSES,
            **await case_routes.assign_choices(current_user(request), [ctx.case.assignee_id]),
        },
    )


_version = case_routes.form_version


async def _step(
    request: Request, action: Callable[[dict[str, str]], Awaitable[ReturnCase]], done: str
) -> Response:
    """Run one step from a form; an error is flashed and nothing else changes."""
    to = f"/returns/{request.path_params['case_id']}"
    return await case_routes.step(request, to, action, done)


async def approve(request: Request) -> Response:
    user = current_user(request)
    return await _step(
        request,
        lambda f: service.approve(
            request.path_params["case_id"],
            actor=user,
            return_address=f.get("return_address", ""),
            shipping_payer=_enum(ShippingPayer, f.get("shipping_payer")),
            shipping_cost=f.get("shipping_cost") or None,
            note=f.get("note", ""),
            expected_version=_version(f),
        ),
        _("Approved. The buyer can send the goods back."),
    )


async def reject(request: Request) -> Response:
    user = current_user(request)
    return await _step(
        request,
        lambda f: phrases.with_use(
            user,
            f.get("phrase_id"),
            service.reject(
                request.path_params["case_id"],
                actor=user,
                reason=f.get("reason", ""),
                expected_version=_version(f),
            ),
        ),
        _("Refused."),
    )


# "Send to supervisor": approving is over the agent's cap; the case waits in their list.
refer = case_routes.refer(ReturnCase.case_type, service.refer, param="case_id")


async def tracking(request: Request) -> Response:
    user = current_user(request)
    return await _step(
        request,
        lambda f: service.add_tracking(
            request.path_params["case_id"],
            carrier=f.get("carrier", ""),
            tracking_no=f.get("tracking_no", ""),
            actor=user,
        ),
        _("Tracking number saved; the desk follows the parcel."),
    )


async def receive_and_inspect(request: Request) -> Response:
    """The warehouse form: receive the parcel if not yet received, inspect each line,
    keep the photos taken. A bad photo refuses the whole form before anything moves."""
    user = current_user(request)
    case_id = request.path_params["case_id"]
    form = await request.form()
    fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    uploads: list[tuple[int | None, Upload]] = []
    for name, value in form.multi_items():
        if isinstance(value, UploadFile) and value.filename and name.startswith("photo_"):
            key = name.removeprefix("photo_")
            line_id = number_or_none(key)
            uploads.append((line_id, Upload(value.filename, await value.read())))

    async def work() -> None:
        """The form's steps, checked photos first; the first error stops the rest."""
        for _line, upload in uploads:
            check_photo(upload)
        case = await service.get_case(case_id)
        entries = []
        for line in sorted(case.lines, key=lambda line: line.id):
            entries.append(
                service.LineInspection(
                    line_id=line.id,
                    received_good=_count(fields.get(f"good_{line.id}", ""), line.title),
                    received_damaged=_count(fields.get(f"damaged_{line.id}") or "0", line.title),
                    result=_enum(InspectionResult, fields.get(f"result_{line.id}")),
                    note=fields.get(f"note_{line.id}", ""),
                    restock=fields.get(f"restock_{line.id}") == "on",
                )
            )
        if case.status is not ReturnStatus.RECEIVED:
            case = await service.receive(case_id, actor=user, expected_version=_version(fields))
        case = await service.inspect(
            case_id,
            actor=user,
            lines=entries,
            refund_amount=fields.get("refund_amount") or None,
            note=fields.get("note", ""),
            expected_version=case.version,
        )
        data_dir = request.app.state.settings.data_dir
        for line_id, upload in uploads:
            await photos.attach(
                case_id, line_id=line_id, upload=upload, actor=user, data_dir=data_dir
            )

    return await case_routes.outcome(
        request, f"/returns/{case_id}", work, _("Inspection recorded.")
    )


async def photo(request: Request) -> Response:
    return await case_routes.stored_photo(
        request, photos.photo_file, case="case_id", photo="photo_id"
    )


def _count(value: str, title: str) -> int:
    count = number_or_none(value, maximum=MAX_QUANTITY)
    if count is None:
        raise InvalidInput(N_("%(item)s: type how many came back in good condition."), item=title)
    return count


async def receive(request: Request) -> Response:
    user = current_user(request)
    return await _step(
        request,
        lambda f: service.receive(
            request.path_params["case_id"], actor=user, expected_version=_version(f)
        ),
        _("Parcel received."),
    )


async def ship_replacement(request: Request) -> Response:
    user = current_user(request)
    return await _step(
        request,
        lambda f: service.ship_replacement(
            request.path_params["case_id"],
            actor=user,
            carrier=f.get("carrier", ""),
            tracking_no=f.get("tracking_no", ""),
            settle_note=f.get("note", ""),
            expected_version=_version(f),
        ),
        _("Replacement shipped."),
    )


async def close(request: Request) -> Response:
    user = current_user(request)
    return await _step(
        request,
        lambda f: service.close(
            request.path_params["case_id"],
            actor=user,
            note=f.get("note", ""),
            expected_version=_version(f),
        ),
        _("Case closed."),
    )


async def cancel(request: Request) -> Response:
    user = current_user(request)
    return await _step(
        request,
        lambda f: service.cancel(
            request.path_params["case_id"],
            actor=user,
            note=f.get("note", ""),
            expected_version=_version(f),
        ),
        _("Case cancelled."),
    )


assign = case_routes.assign(
    ReturnCase.case_type, service.assign, param="case_id", taken=N_("The case is yours.")
)


async def receiving(request: Request) -> Response:
    """Scan a parcel: one match lands on its case, ready to inspect.

    Below the scan box, the parcels the carrier delivered that nobody scanned yet
    (oldest first) and those received and waiting for inspection.
    """
    scanned = request.query_params.get("q", "").strip()
    matches: list[ReturnCase] = []
    if scanned:
        matches = await service.find_for_scan(scanned)
        if len(matches) == 1:
            return RedirectResponse(f"/returns/{matches[0].id}?scanned=1", status_code=303)
    backlog = await queue.search(queue.ReturnFilters(status=ReturnStatus.RECEIVED), per_page=20)
    return render(
        request,
        "returns/receiving.html",
        {
            "scanned": scanned,
            "matches": matches,
            "backlog": backlog,
            "delivered": await parcels.delivered_not_received(),
        },
    )


async def new_form(request: Request) -> Response:
    order_id = request.query_params.get("order", "")
    order = await Order.get_or_none(id=int(order_id)) if number_or_none(order_id) else None
    if order is None:
        raise NotFound(N_("Open a return from an order's page."))
    items = await OrderItem.filter(order_id=order.id).order_by("id")
    return render(
        request,
        "returns/new.html",
        {"order": order, "items": items, "reasons": LABELS, "kinds": list(ReturnKind)},
    )


async def new_submit(request: Request) -> Response:
    form = await request.form()
    fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    order_id = number_or_none(fields.get("order")) or 0
    try:
        lines = []
        for item in await OrderItem.filter(order_id=order_id).order_by("id"):
            quantity = fields.get(f"qty_{item.platform_item_id}", "0").strip() or "0"
            if number_or_none(quantity, maximum=MAX_QUANTITY) is None:
                raise InvalidInput(N_("%(item)s: the quantity is a whole number."), item=item.title)
            if int(quantity):
                lines.append(
                    service.LineRequest(
                        item.platform_item_id,
                        int(quantity),
                        replacement_sku=fields.get(f"sku_{item.platform_item_id}", ""),
                        replacement_price=service.parse_money(
                            fields.get(f"price_{item.platform_item_id}"),
                            N_("The replacement price"),
                        ),
                    )
                )
        case = await service.open_case(
            order_id,
            kind=_enum(ReturnKind, fields.get("kind")) or ReturnKind.RETURN,
            lines=lines,
            reason=_enum(ReasonCode, fields.get("reason")) or ReasonCode.OTHER,
            buyer_text=fields.get("buyer_text", ""),
            actor=current_user(request),
        )
    except AfterSalesError as exc:
        flash(request, exc.message, "alert")
        return RedirectResponse(f"/returns/new?order={order_id}", status_code=303)
    flash(request, _("Case opened."))
    return RedirectResponse(f"/returns/{case.id}", status_code=303)


def _category_rows(store: Store) -> list[dict[str, Any]]:
    raw = service.store_setting(store, "returns_policy")
    policy = Policy.from_settings(raw)
    names = list(dict.fromkeys([*policy.keywords, *LAW_EXCLUDED, *policy.categories]))
    rows = []
    for name in names:
        rules = (raw.get("categories") or {}).get(name, {})
        rows.append(
            {
                "name": name,
                # The law's categories show in words; a store's own as the owner typed it.
                "known": name in RETURN_CATEGORIES,
                "keywords": "、".join(policy.keywords.get(name, ())),
                "no_reason_days": rules.get("no_reason_days") or "",
                "quality_return_days": rules.get("quality_return_days") or "",
                "quality_exchange_days": rules.get("quality_exchange_days") or "",
                "excluded": rules.get("excluded"),
                "law_excludes": name in LAW_EXCLUDED,
            }
        )
    rows.append({"name": "", "known": False, "keywords": "", "no_reason_days": "",
                 "quality_return_days": "", "quality_exchange_days": "", "excluded": None,
                 "law_excludes": False})  # fmt: skip
    return rows


@requires(*MANAGERS)
async def policy_page(request: Request) -> Response:
    store = await Store.get_or_none(id=request.path_params["store_id"])
    if store is None:
        raise NotFound(N_("No such store."), id=request.path_params["store_id"])
    return render(
        request,
        "returns/policy.html",
        {"store": store, "policy": service.policy_of(store),
         "rows": _category_rows(store),
         "summary": policy_summary.summary(service.policy_of(store))},
    )  # fmt: skip


def _days_ok(value: str) -> bool:
    return number_or_none(value, maximum=MAX_WINDOW_DAYS) is not None


def _policy_from_form(fields: dict[str, str], count: int) -> dict[str, Any]:
    raw: dict[str, Any] = {
        key: fields.get(key, "").strip()
        for key in ("no_reason_days", "quality_return_days", "quality_exchange_days")
    }
    categories: dict[str, Any] = {}
    keywords: dict[str, list[str]] = {}
    for i in range(count):
        name = fields.get(f"cat_{i}_name", "").strip()
        if not name:
            continue
        words = fields.get(f"cat_{i}_keywords", "").replace(",", "、").replace("，", "、")
        keywords[name] = [w.strip() for w in words.split("、") if w.strip()]
        rules = {
            key: fields.get(f"cat_{i}_{key}", "").strip()
            for key in ("no_reason_days", "quality_return_days", "quality_exchange_days")
        }
        excluded = fields.get(f"cat_{i}_excluded", "law")
        entry: dict[str, Any] = {k: int(v) for k, v in rules.items() if _days_ok(v)}
        if excluded in ("yes", "no"):
            entry["excluded"] = excluded == "yes"
        if any(v and not _days_ok(v) for v in rules.values()):
            raise InvalidInput(
                N_("%(category)s: windows are whole numbers of days."), category=name
            )
        if entry:
            categories[name] = entry
    for key in ("no_reason_days", "quality_return_days", "quality_exchange_days"):
        if raw[key] and not _days_ok(raw[key]):
            raise InvalidInput(N_("Windows are whole numbers of days."))
        raw[key] = int(raw[key]) if raw[key] else None
    return {**{k: v for k, v in raw.items() if v}, "categories": categories, "keywords": keywords}


@requires(*MANAGERS)
async def policy_save(request: Request) -> Response:
    store = await Store.get_or_none(id=request.path_params["store_id"])
    if store is None:
        raise NotFound(N_("No such store."), id=request.path_params["store_id"])
    form = await request.form()
    fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    count = number_or_none(fields.get("rows"), maximum=100) or 0
    try:
        raw = _policy_from_form(fields, min(count, 100))
        await service.save_policy(
            store, raw, return_address=fields.get("return_address", ""),
            actor=current_user(request),
        )  # fmt: skip
    except AfterSalesError as exc:
        flash(request, exc.message, "alert")
    else:
        flash(request, _("Return policy saved."))
    return RedirectResponse(f"/returns/policy/{store.id}", status_code=303)


async def _report(request: Request) -> tuple[returns_report.ReturnReport, date, date]:
    """The report the query asks for, with its first and last local day."""
    settings = request.app.state.settings
    q = request.query_params
    period = period_from_days(
        q.get("from") or None, q.get("to") or None, zone=settings.zone, now=clock.now()
    )
    result = await returns_report.return_report(period, store_id=number_or_none(q.get("store")))
    first = period.start.astimezone(settings.zone).date()
    last = (period.end.astimezone(settings.zone) - timedelta(seconds=1)).date()
    return result, first, last


@requires(*MANAGERS)
async def report_page(request: Request) -> Response:
    result, first, last = await _report(request)
    store_id = number_or_none(request.query_params.get("store"))
    query = urlencode({"from": first, "to": last, **({"store": store_id} if store_id else {})})
    return render(
        request,
        "returns/report.html",
        {
            "r": result,
            "first": first,
            "last": last,
            "query": query,
            "stores": await Store.all().order_by("id"),
            "store_id": store_id,
            "reasons": LABELS,
        },
    )


@requires(*MANAGERS)
async def report_csv(request: Request) -> Response:
    table = request.path_params["table"]
    if table not in returns_export.TABLES:
        raise NotFound(N_("There is no report table %(table)s."), table=table)
    result, first, last = await _report(request)
    zone = request.app.state.settings.zone
    body = to_csv(returns_export.tables(result, _)[table], zone=zone)
    return csv_response(body, f"returns-{table}-{first}-{last}.csv")


@requires(*MANAGERS)
async def report_xlsx(request: Request) -> Response:
    result, first, last = await _report(request)
    names = {key: _(label) for key, label in returns_export.TABLE_NAMES.items()}
    zone = request.app.state.settings.zone
    body = to_xlsx(returns_export.tables(result, _), names, zone=zone)
    return xlsx_response(body, f"returns-{first}-{last}.xlsx")


routes = [
    Route("/report", report_page),
    Route("/report.xlsx", report_xlsx),
    Route("/report/{table}.csv", report_csv),
    Route("/", return_queue, name="returns"),
    Route("/receiving", receiving),
    Route("/new", new_form),
    Route("/new", new_submit, methods=["POST"]),
    Route("/policy/{store_id:id}", policy_page),
    Route("/policy/{store_id:id}", policy_save, methods=["POST"]),
    Route("/{case_id:id}", return_detail),
    Route("/{case_id:id}/approve", approve, methods=["POST"]),
    Route("/{case_id:id}/reject", reject, methods=["POST"]),
    Route("/{case_id:id}/refer", refer, methods=["POST"]),
    Route("/{case_id:id}/tracking", tracking, methods=["POST"]),
    Route("/{case_id:id}/receive", receive, methods=["POST"]),
    Route("/{case_id:id}/inspect", receive_and_inspect, methods=["POST"]),
    Route("/{case_id:id}/ship-replacement", ship_replacement, methods=["POST"]),
    Route("/{case_id:id}/close", close, methods=["POST"]),
    Route("/{case_id:id}/cancel", cancel, methods=["POST"]),
    Route("/{case_id:id}/assign", assign, methods=["POST"]),
    Route("/{case_id:id}/photos/{photo_id:id}", photo),
]
