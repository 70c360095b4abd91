"""A plugin that uses every hook, installed by entry point like ``sample``.

Each hook records that it ran in ``CALLS`` and raises when its name is in
``BROKEN``, so a test can show the registry calls it, and that one broken
hook costs only its own part of a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from arq import cron
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from aftersales.core.auth import EVERYONE, MANAGERS
from aftersales.core.cases import CaseRef, HandoverItem, Severity
from aftersales.core.models import User
from aftersales.core.modules import (
    Badge,
    BuyerFlag,
    HandoverWindow,
    Module,
    NavEntry,
    OrderLink,
    OutboxContext,
    ReportLink,
    StoreLink,
    Tile,
    TimelineEvent,
)

CALLS: list[tuple[str, Any]] = []
BROKEN: set[str] = set()
WHEN = datetime(2026, 11, 23, 12, tzinfo=UTC)


def _ran(hook: str, value: Any = None) -> None:
    CALLS.append((hook, value))
    if hook in BROKEN:
        raise RuntimeError(f"the hooked plugin's {hook} is broken")


@dataclass(frozen=True)
class Resolved:
    title: str
    href: str
    state: str


async def page(request: Request) -> Response:
    return PlainTextResponse("hooked page")


async def api_ping(request: Request) -> Response:
    return PlainTextResponse("hooked api")


async def webhook(request: Request) -> Response:
    return PlainTextResponse("hooked webhook")


async def hooked_job(ctx: dict[str, Any]) -> str:
    return "ran"


async def hooked_cron(ctx: dict[str, Any]) -> None:
    return None


async def handle_records(store: Any, records: list[Any], conn: Any) -> None:
    _ran("record_handlers", len(records))


async def deliver(payload: dict[str, Any], key: str, context: OutboxContext) -> dict[str, Any]:
    return {"delivered": key}


async def dashboard_tiles(user: User) -> list[Tile]:
    _ran("dashboard_tiles", user.username)
    return [Tile("Hooked tile", 7, "/hooked/")]


async def handover_items(window: HandoverWindow) -> list[HandoverItem]:
    _ran("handover_items", window)
    return [
        HandoverItem(
            ref=CaseRef("hooked", "thing", 1),
            msgid="Hooked thing",
            due_at=WHEN,
            severity=Severity.DUE_THIS_SHIFT,
            href="/hooked/1",
        )
    ]


async def resolve_case(ref: Any) -> Resolved:
    _ran("resolve_case", ref)
    return Resolved(f"Hooked case {ref.id}", f"/hooked/{ref.id}", "open")


async def order_events(order_id: int) -> list[TimelineEvent]:
    _ran("order_events", order_id)
    return [TimelineEvent(WHEN, "Hooked event", f"order {order_id}")]


async def order_badges(order_ids: Any) -> dict[int, list[Badge]]:
    _ran("order_badges", list(order_ids))
    return {order_id: [Badge("Hooked badge", f"/hooked/{order_id}")] for order_id in order_ids}


async def buyer_flags(customer_ids: Any) -> dict[int, list[BuyerFlag]]:
    _ran("buyer_flags", list(customer_ids))
    return {
        customer_id: [BuyerFlag("hooked", "Hooked flag", "%(n)s hooks", {"n": customer_id})]
        for customer_id in customer_ids
    }


async def on_startup() -> None:
    _ran("on_startup")


async def on_refund_settled(**payload: Any) -> None:
    _ran("refund_settled", payload)


module = Module(
    name="hooked",
    label="Hooked",
    routes=[Route("/", page)],
    api_routes=[Route("/hooked/ping", api_ping)],
    webhooks=[Route("/hooked/ping", webhook, methods=["POST"])],
    nav=[NavEntry("Hooked", "/hooked/", EVERYONE)],
    functions=[hooked_job],
    cron_jobs=[cron(hooked_cron, hour={3}, minute={0})],
    outbox_handlers={"hooked.deliver": deliver},
    record_handlers={"after_sales": handle_records},
    after=("returns",),
    dashboard_tiles=dashboard_tiles,
    handover_items=handover_items,
    resolve_case=resolve_case,
    reports=[ReportLink("Hooked report", "/hooked/report", MANAGERS)],
    order_events=order_events,
    order_links=[OrderLink("Hook this order", "/hooked/new?order={order_id}", MANAGERS)],
    order_badges=order_badges,
    buyer_flags=buyer_flags,
    store_links=[StoreLink("Hooked settings", "/hooked/settings/{store_id}", MANAGERS)],
    on_startup=on_startup,
    subscribers={"refund_settled": on_refund_settled},
    store_settings={"hooked_level": 3},
)
