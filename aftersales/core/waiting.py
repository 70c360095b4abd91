""" "Waiting for me": the cases sent to a supervisor, as a page, a home tile and the API.

The list is ``referrals.waiting_for(user)``; the page and
``GET /api/v1/waiting`` read it, and the tile counts the same rows in one
query (``referrals.count_waiting``), so the count on the home page is the
length of the list its link opens. Only the roles a referral goes to see it.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aftersales.core import case_api, referrals
from aftersales.core.api import PAGING, api_route, json_money, json_time, page_param
from aftersales.core.auth import MANAGERS, current_user, requires
from aftersales.core.case_api import referral_json as referral_json  # where it was first
from aftersales.core.i18n import N_
from aftersales.core.models import User
from aftersales.core.modules import Tile
from aftersales.core.templating import render

PATH = "/waiting/"
TILE = N_("Waiting for me")


async def dashboard_tiles(user: User) -> list[Tile]:
    """The count of "waiting for me", for the roles that decide referrals only."""
    if not referrals.sees_waiting(user):
        return []
    count = await referrals.count_waiting(user)
    return [Tile(TILE, count, PATH, "warn" if count else "info")]


@requires(*MANAGERS)
async def waiting_page(request: Request) -> Response:
    return render(
        request, "core/waiting.html", {"items": await referrals.waiting_for(current_user(request))}
    )


def waiting_json(item: referrals.Waiting) -> dict[str, Any]:
    r, case = item.referral, item.case
    return {
        "id": r.id,
        "case": f"{r.module}:{r.kind}:{r.case_id}",
        "module": r.module,
        "kind": r.kind,
        "case_id": r.case_id,
        "title": case.text if case else None,
        "href": case.href if case else None,
        "status": case.status if case else None,
        "amount": json_money(r.amount) if r.amount is not None else None,
        "currency": r.currency or None,
        "note": r.note,
        "from_user": {"id": item.sender.id, "username": item.sender.username}
        if item.sender
        else None,
        "to_role": r.to_role.value,
        "sent_at": json_time(r.created_at),
        "due_at": json_time(item.due_at),
    }


@requires(*MANAGERS)
async def waiting_api(request: Request) -> Response:
    size = case_api.per_page(request)
    page = page_param(request.query_params.get("page"))
    items = await referrals.waiting_for(current_user(request))
    rows = items[(page - 1) * size : page * size]
    return JSONResponse(
        {
            "items": [waiting_json(i) for i in rows],
            "total": len(items),
            "page": page,
            "per_page": size,
        }
    )


routes = [Route(PATH, waiting_page, name="waiting")]
api_routes = [
    api_route(
        "/waiting",
        waiting_api,
        summary="Cases sent to a supervisor and still waiting, oldest first",
        roles=MANAGERS,
        params=PAGING,
    ),
]
