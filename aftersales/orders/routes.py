"""Order pages: the searchable list and one order's detail."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aftersales.core.auth import current_user
from aftersales.core.privacy import address_for, phone_for
from aftersales.core.templating import render
from aftersales.orders import service
from connectors.base import OrderStatus


def _int(value: str | None, default: int | None = None) -> int | None:
    try:
        return int(value) if value else default
    except ValueError:
        return default


async def order_list(request: Request) -> Response:
    params = request.query_params
    status = params.get("status") or None
    filters = service.OrderFilters(
        status=OrderStatus(status) if status in OrderStatus._value2member_map_ else None,
        text=params.get("q", ""),
        page=_int(params.get("page"), 1) or 1,
    )
    result = await service.search_orders(filters)
    return render(
        request,
        "orders/list.html",
        {"result": result, "filters": filters, "statuses": list(OrderStatus)},
    )


async def order_detail(request: Request) -> Response:
    order = await service.get_order(request.path_params["order_id"])
    role = current_user(request).role
    return render(
        request,
        "orders/detail.html",
        {
            "order": order,
            "phone": phone_for(role, order.customer.phone),
            "address": address_for(role, order.customer.address),
        },
    )


routes = [
    Route("/", order_list, name="orders"),
    Route("/{order_id:int}", order_detail, name="order"),
]
