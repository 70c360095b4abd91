"""Order pages: the searchable list and one order's detail."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from aftersales.core import case_routes
from aftersales.core.api import date_param, id_param, page_param
from aftersales.core.auth import BUYER_EDITORS, MANAGERS, current_user, requires
from aftersales.core.errors import InvalidInput
from aftersales.core.i18n import gettext as _
from aftersales.core.models import Role, Store
from aftersales.core.modules import Registry
from aftersales.core.privacy import address_for, phone_for
from aftersales.core.templating import flash, render
from aftersales.orders import contact, jobs, service
from aftersales.orders import settings as store_settings
from connectors import registry
from connectors.base import OrderStatus, Stream


def _int(value: str | None, default: int | None = None) -> int | None:
    try:
        return int(value) if value else default
    except ValueError:
        return default


async def order_list(request: Request) -> Response:
    params = request.query_params
    status = params.get("status") or None
    zone = request.app.state.settings.zone
    filters = service.OrderFilters(
        store_id=id_param(params.get("store"), name="store"),
        status=OrderStatus(status) if status in OrderStatus._value2member_map_ else None,
        text=params.get("q", ""),
        placed_from=_day(params.get("from"), zone, name="from"),
        placed_to=_day(params.get("to"), zone, name="to", next_day=True),
        check=params.get("check", "") if params.get("check") in service.CHECKS else "",
        sort=params.get("sort") if params.get("sort") in service.SORTS else "newest",
        page=page_param(params.get("page")),
    )
    result = await service.search_orders(filters)
    registry: Registry = request.app.state.registry
    # The page's marks (an open refund or return) asked once for its rows, through the
    # registry: orders knows no refund or return module by name.
    badges = await registry.order_badges([o.id for o in result.orders])
    keys = ("q", "status", "store", "from", "to", "check", "sort")
    args = urlencode({k: params.get(k, "") for k in keys})
    return render(
        request,
        "orders/list.html",
        {
            "result": result,
            "badges": badges,
            "filters": filters,
            "params": params,
            "args": args,
            "statuses": list(OrderStatus),
            "stores": await Store.all().order_by("id"),
            "sorts": list(service.SORTS),
            "checks": service.CHECKS,
        },
    )


def _day(
    value: str | None, zone: ZoneInfo, *, name: str, next_day: bool = False
) -> datetime | None:
    """A date typed in the shop's time zone, as the UTC start of that day (or the next)."""
    day = date_param(value, name=name)
    if day is None:
        return None
    start = datetime.combine(day + timedelta(days=1 if next_day else 0), time(), tzinfo=zone)
    return start.astimezone(UTC)


async def _order_page(
    request: Request, order_id: int, full: contact.FullContact | None = None
) -> Response:
    order = await service.get_order(order_id)
    user = current_user(request)
    registry: Registry = request.app.state.registry
    return render(
        request,
        "orders/detail.html",
        {
            "order": order,
            "timeline": await service.order_timeline(order, registry),
            "actions": [
                (link.label, link.path.format(order_id=order.id))
                for link in registry.order_links(user)
            ],
            "phone": phone_for(user.role, order.customer.phone),
            "address": address_for(user.role, order.customer.address),
            "full": full,
            "may_reveal": contact.may_reveal(user, order.store, order.customer),
            **await case_routes.buyer_context(request, [order.customer]),
        },
    )


async def order_detail(request: Request) -> Response:
    return await _order_page(request, request.path_params["order_id"])


def _unstored(response: Response) -> Response:
    """A page with decrypted contact details: no browser or proxy may keep it."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


async def order_contact(request: Request) -> Response:
    """The order page once more, with the buyer's contact decrypted for this response."""
    order = await service.get_order(request.path_params["order_id"])
    try:
        full = await contact.reveal_contact(
            order.customer,
            actor=current_user(request),
            secret_key=request.app.state.settings.secret_key,
            subject_type="order",
            subject_id=order.id,
        )
    except contact.ContactUnavailable as exc:
        flash(request, exc.message, "alert")
        return RedirectResponse(f"/orders/{order.id}", status_code=303)
    return _unstored(await _order_page(request, order.id, full))


@requires(*MANAGERS)
async def store_list(request: Request) -> Response:
    stores = await Store.all().order_by("id")
    if request.query_params.get("failing") == "1":  # the home tile's list
        failing = await service.failing_store_ids()
        stores = [store for store in stores if store.id in failing]
    statuses = {store.id: await service.store_status(store) for store in stores}
    return render(
        request,
        "orders/stores.html",
        {
            "stores": stores,
            "statuses": statuses,
            "platforms": service.platforms(),
            "labels": {m.platform: m.label for m in service.platforms()},
        },
    )


@requires(Role.OWNER, Role.ADMIN)
async def store_add(request: Request) -> Response:
    form = await request.form()
    fields = {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}
    try:
        # The chosen platform's own fields, nothing else the form may carry.
        manifest = service.platform_manifest(fields.get("platform", ""))
        credentials = {k: fields.get(k, "") for k in service.credential_names(manifest)}
        store = await service.create_store(
            name=fields.get("name", ""),
            platform=fields.get("platform", ""),
            base_url=fields.get("base_url") or None,
            credentials=credentials,
            secret_key=request.app.state.settings.secret_key,
            actor=current_user(request),
        )
    except InvalidInput as exc:
        flash(request, exc.message, "alert")
        return RedirectResponse("/orders/stores/", status_code=303)
    flash(request, _("Store connected."))
    return RedirectResponse(f"/orders/stores/{store.id}", status_code=303)


@requires(*MANAGERS)
async def store_detail(request: Request) -> Response:
    store = await service.get_store(request.path_params["store_id"])
    modules: Registry = request.app.state.registry
    return render(
        request,
        "orders/store.html",
        {
            "store": store,
            "settings_links": [
                (link.label, link.path.format(store_id=store.id))
                for link in modules.store_links(current_user(request))
            ],
            "statuses": await service.store_status(store),
            "interval": jobs.interval_minutes(store),
            "manifest": registry.find(store.platform),
        },
    )


def _settings_page(
    request: Request, store: Store, *, form: dict[str, str] | None = None, error: str = ""
) -> Response:
    modules: Registry = request.app.state.registry
    user = current_user(request)
    return render(
        request,
        "orders/settings.html",
        {
            "store": store,
            "sections": store_settings.sections(store, modules, user),
            "form": form or {},
            "links": [
                (link.label, link.path.format(store_id=store.id))
                for link in modules.store_links(user)
            ],
            **({"flash": {"message": error, "level": "alert"}} if error else {}),
        },
        status=400 if error else 200,
    )


@requires(*MANAGERS)
async def store_settings_page(request: Request) -> Response:
    """Every setting of one store in one place, each with its words and help."""
    return _settings_page(request, await service.get_store(request.path_params["store_id"]))


@requires(*MANAGERS)
async def store_settings_save(request: Request) -> Response:
    """Save the settings page; a bad value shows the page again (400) with nothing saved."""
    store = await service.get_store(request.path_params["store_id"])
    form = await request.form()
    fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    try:
        await store_settings.save(
            store, fields, registry=request.app.state.registry, actor=current_user(request)
        )
    except InvalidInput as exc:
        return _settings_page(request, store, form=fields, error=exc.message)
    flash(request, _("Settings saved."))
    return RedirectResponse(f"/orders/stores/{store.id}/settings", status_code=303)


def _credential_names(platform: str) -> tuple[str, ...]:
    manifest = registry.find(platform)
    return service.credential_names(manifest) if manifest is not None else ()


@requires(Role.OWNER, Role.ADMIN)
async def store_edit(request: Request) -> Response:
    store = await service.get_store(request.path_params["store_id"])
    form = await request.form()
    fields = {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}
    interval = _int(fields.get("sync_interval_minutes"))
    changes = service.StoreChanges(
        name=fields.get("name", ""),
        base_url=fields.get("base_url") or None,
        enabled=fields.get("enabled") == "on",
        sync_interval_minutes=interval if interval is not None else 0,
        credentials={k: fields.get(k, "") for k in _credential_names(store.platform)},
    )
    try:
        await service.update_store(
            store,
            changes,
            secret_key=request.app.state.settings.secret_key,
            actor=current_user(request),
        )
    except InvalidInput as exc:
        flash(request, exc.message, "alert")
    else:
        flash(request, _("Store saved."))
    return RedirectResponse(f"/orders/stores/{store.id}", status_code=303)


@requires(*MANAGERS)
async def store_sync(request: Request) -> Response:
    store = await service.get_store(request.path_params["store_id"])
    for stream in Stream:
        await jobs.enqueue_sync(request.app.state.redis, store, stream, progress=-1)
    flash(request, _("Sync requested. The page shows its progress when you reload."))
    return RedirectResponse(f"/orders/stores/{store.id}", status_code=303)


@requires(*MANAGERS)
async def store_check(request: Request) -> Response:
    store = await service.get_store(request.path_params["store_id"])
    problem = await service.check_connection(store, request.app.state.settings.secret_key)
    if problem:
        flash(request, _("The platform refused: %(problem)s") % {"problem": problem}, "alert")
    else:
        flash(request, _("Connection works."))
    return RedirectResponse(f"/orders/stores/{store.id}", status_code=303)


async def _customer_page(
    request: Request, customer_id: int, full: contact.FullContact | None = None
) -> Response:
    customer = await service.get_customer(customer_id)
    user = current_user(request)
    return render(
        request,
        "orders/customer.html",
        {
            "customer": customer,
            "orders": await service.customer_orders(customer),
            "phone": phone_for(user.role, customer.phone),
            "address": address_for(user.role, customer.address),
            "full": full,
            "may_reveal": contact.may_reveal(user, await Store.get(id=customer.store_id), customer),
            **await case_routes.buyer_context(request, [customer]),
        },
    )


async def customer_detail(request: Request) -> Response:
    return await _customer_page(request, request.path_params["customer_id"])


async def customer_contact(request: Request) -> Response:
    """The buyer's page once more, with their contact decrypted for this response."""
    customer = await service.get_customer(request.path_params["customer_id"])
    try:
        full = await contact.reveal_contact(
            customer,
            actor=current_user(request),
            secret_key=request.app.state.settings.secret_key,
            subject_type="customer",
            subject_id=customer.id,
        )
    except contact.ContactUnavailable as exc:
        flash(request, exc.message, "alert")
        return RedirectResponse(f"/orders/customers/{customer.id}", status_code=303)
    return _unstored(await _customer_page(request, customer.id, full))


@requires(*BUYER_EDITORS)
async def customer_edit(request: Request) -> Response:
    """Save a buyer's tags and notes from the customer page or a case's buyer card."""
    customer = await service.get_customer(request.path_params["customer_id"])
    form = await request.form()
    back = case_routes.back_to(form.get("back"), f"/orders/customers/{customer.id}")
    tags = [str(t) for t in form.getlist("tag") if str(t) in service.CUSTOMER_TAGS]
    tags += [t for t in str(form.get("other_tags") or "").replace("，", ",").split(",")]
    try:
        await service.update_customer(
            customer,
            tags=tags,
            notes=str(form.get("notes") or ""),
            actor=current_user(request),
        )
    except InvalidInput as exc:
        flash(request, exc.message, "alert")
    else:
        flash(request, _("Buyer saved."))
    return RedirectResponse(back, status_code=303)


routes = [
    Route("/", order_list, name="orders"),
    Route("/{order_id:id}", order_detail, name="order"),
    Route("/{order_id:id}/contact", order_contact, methods=["POST"]),
    Route("/stores/", store_list, name="stores"),
    Route("/stores/", store_add, methods=["POST"]),
    Route("/stores/{store_id:id}", store_detail),
    Route("/stores/{store_id:id}", store_edit, methods=["POST"]),
    Route("/stores/{store_id:id}/settings", store_settings_page),
    Route("/stores/{store_id:id}/settings", store_settings_save, methods=["POST"]),
    Route("/stores/{store_id:id}/sync", store_sync, methods=["POST"]),
    Route("/stores/{store_id:id}/check", store_check, methods=["POST"]),
    Route("/customers/{customer_id:id}", customer_detail, name="customer"),
    Route("/customers/{customer_id:id}", customer_edit, methods=["POST"]),
    Route("/customers/{customer_id:id}/contact", customer_contact, methods=["POST"]),
]
