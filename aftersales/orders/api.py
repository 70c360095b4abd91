"""JSON API for stores, orders and customers (``/api/v1``), same rules as the pages."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from aftersales.core.api import ID_QUERY, PAGING, api_route, id_param, json_body, page_param, query
from aftersales.core.api import int_param as _int
from aftersales.core.api import json_money as _money
from aftersales.core.api import json_time as _time
from aftersales.core.api import time_param as _when
from aftersales.core.auth import MANAGERS, current_user, requires
from aftersales.core.errors import InvalidInput
from aftersales.core.i18n import N_
from aftersales.core.models import Role, Store
from aftersales.core.privacy import address_for, phone_for
from aftersales.orders import jobs, service
from aftersales.orders.models import Customer, Order
from connectors.base import OrderStatus, Stream

MAX_PER_PAGE = 500
STORE_ADMINS = frozenset({Role.OWNER, Role.ADMIN})


def store_json(store: Store) -> dict[str, Any]:
    return {
        "id": store.id,
        "name": store.name,
        "platform": store.platform,
        "base_url": store.base_url,
        "enabled": store.enabled,
        "settings": store.settings,
    }


def order_json(order: Order, role: Role) -> dict[str, Any]:
    return {
        "id": order.id,
        "store_id": order.store_id,  # type: ignore[attr-defined]
        "platform_order_id": order.platform_order_id,
        "status": order.status.value,
        "platform_status": order.platform_status,
        "currency": order.currency,
        "total_amount": _money(order.total_amount),
        "paid_amount": _money(order.paid_amount),
        "placed_at": _time(order.placed_at),
        "paid_at": _time(order.paid_at),
        "shipped_at": _time(order.shipped_at),
        "customer": customer_json(order.customer, role),
        "items": [
            {
                "platform_item_id": i.platform_item_id,
                "title": i.title,
                "sku": i.sku,
                "quantity": i.quantity,
                "unit_price": _money(i.unit_price),
                "amount": _money(i.amount),
            }
            for i in order.items
        ],
    }


def customer_json(customer: Customer, role: Role) -> dict[str, Any]:
    return {
        "id": customer.id,
        "platform_buyer_id": customer.platform_buyer_id,
        "nick": customer.nick,
        "phone": phone_for(role, customer.phone) or None,
        "address": address_for(role, customer.address) or None,
        "tags": customer.tags,
    }


async def list_stores(request: Request) -> Response:
    stores = await Store.all().order_by("id")
    return JSONResponse(
        {"items": [store_json(s) for s in stores], "total": len(stores), "page": 1,
         "per_page": len(stores)}
    )  # fmt: skip


@requires(*STORE_ADMINS)
async def add_store(request: Request) -> Response:
    user = current_user(request)
    body = await json_body(request)
    for name in ("credentials", "settings"):
        if not isinstance(body.get(name) or {}, dict):
            raise InvalidInput(
                N_("%(name)s must be a JSON object."), name=name, code="invalid_parameter"
            )
    base_url = body.get("base_url")
    if base_url is not None and not isinstance(base_url, str):
        raise InvalidInput(
            N_("%(name)s must be a string."), name="base_url", code="invalid_parameter"
        )
    store = await service.create_store(
        name=str(body.get("name", "")),
        platform=str(body.get("platform", "")),
        base_url=base_url,
        credentials={k: str(v) for k, v in (body.get("credentials") or {}).items()},
        settings=body.get("settings") or {},
        secret_key=request.app.state.settings.secret_key,
        actor=user,
    )
    return JSONResponse(store_json(store), status_code=201)


@requires(*MANAGERS)
async def sync_store(request: Request) -> Response:
    store = await service.get_store(request.path_params["store_id"])
    queued = [
        stream.value
        for stream in Stream
        if await jobs.enqueue_sync(request.app.state.redis, store, stream, progress=-1)
    ]
    return JSONResponse({"store_id": store.id, "queued": queued}, status_code=202)


async def list_orders(request: Request) -> Response:
    q = request.query_params
    per_page = _int(q.get("per_page"), 50, name="per_page", minimum=1, maximum=MAX_PER_PAGE)
    status = q.get("status") or None
    if status is not None and status not in OrderStatus._value2member_map_:
        raise InvalidInput(
            N_("%(name)s must be one of %(choices)s."),
            name="status",
            choices=", ".join(OrderStatus),
            code="invalid_parameter",
        )
    check = q.get("check") or ""
    if check and check not in service.CHECKS:
        raise InvalidInput(
            N_("Unknown check %(check)s: use one of %(known)s."),
            check=check,
            known=", ".join(service.CHECKS),
            code="invalid_parameter",
        )
    filters = service.OrderFilters(
        store_id=id_param(q.get("store_id"), name="store_id"),
        status=OrderStatus(status) if status else None,
        text=q.get("q", ""),
        placed_from=_when(q.get("placed_from"), name="placed_from"),
        placed_to=_when(q.get("placed_to"), name="placed_to"),
        check=check,  # the home tiles' morning checks
        page=page_param(q.get("page")),
    )
    result = await service.search_orders(filters, per_page=per_page)
    role = current_user(request).role
    return JSONResponse(
        {
            "items": [order_json(o, role) for o in result.orders],
            "total": result.total,
            "page": result.page,
            "per_page": per_page,
        }
    )


async def get_order(request: Request) -> Response:
    order = await service.get_order(request.path_params["order_id"])
    return JSONResponse(order_json(order, current_user(request).role))


async def get_customer(request: Request) -> Response:
    role = current_user(request).role
    customer = await service.get_customer(request.path_params["customer_id"])
    orders = await service.customer_orders(customer)
    return JSONResponse(
        customer_json(customer, role)
        | {"orders": [{"id": o.id, "platform_order_id": o.platform_order_id,
                       "status": o.status.value, "paid_amount": _money(o.paid_amount),
                       "currency": o.currency, "placed_at": _time(o.placed_at)}
                      for o in orders]}
    )  # fmt: skip


api_routes = [
    api_route("/stores", list_stores, summary="Connected stores"),
    api_route(
        "/stores",
        add_store,
        methods=["POST"],
        summary="Connect a store",
        roles=STORE_ADMINS,
        status=201,
        body={
            "type": "object",
            "required": ["name", "platform"],
            "properties": {
                "name": {"type": "string"},
                "platform": {"type": "string"},
                "base_url": {"type": ["string", "null"]},
                "credentials": {"type": "object", "additionalProperties": {"type": "string"}},
                "settings": {"type": "object"},
            },
        },
    ),
    api_route(
        "/stores/{store_id:id}/sync",
        sync_store,
        methods=["POST"],
        summary="Sync a store's streams now",
        roles=MANAGERS,
        status=202,
    ),
    api_route(
        "/orders",
        list_orders,
        summary="Orders, filtered and paged; check= a home tile's morning check",
        params=(
            query("check", {"type": "string", "enum": sorted(service.CHECKS)}),
            *PAGING,
            query("store_id", ID_QUERY),
            query("status", {"type": "string", "enum": [s.value for s in OrderStatus]}),
            query("q", {"type": "string"}, "Text in the order id, buyer or items"),
            query("placed_from", {"type": "string", "format": "date-time"}),
            query("placed_to", {"type": "string", "format": "date-time"}),
        ),
    ),
    api_route("/orders/{order_id:id}", get_order, summary="One order with items"),
    api_route("/customers/{customer_id:id}", get_customer, summary="A buyer and their orders"),
]
