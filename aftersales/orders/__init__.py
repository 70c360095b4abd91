"""Stores' orders, customers and items; the sync engine that drives connectors."""

from aftersales.core.auth import EVERYONE, MANAGERS
from aftersales.core.i18n import N_
from aftersales.core.models import User
from aftersales.core.modules import Module, NavEntry, Tile
from aftersales.orders import api, jobs, service, webhooks
from aftersales.orders.routes import routes


async def dashboard_tiles(user: User) -> list[Tile]:
    """The order checks an agent used to do by hand each morning."""
    counts = await service.morning_counts()
    return [
        Tile(
            N_("Unpaid for more than a day"),
            counts.unpaid_over_a_day,
            "/orders/?status=awaiting_payment",
            "warn" if counts.unpaid_over_a_day else "info",
        ),
        Tile(
            N_("Paid but not shipped within 48 hours"),
            counts.late_shipments,
            "/orders/?status=awaiting_shipment",
            "alert" if counts.late_shipments else "info",
        ),
        Tile(N_("Orders in the last 24 hours"), counts.placed_today, "/orders/"),
        *(
            [Tile(N_("Store syncs failing"), counts.failing_streams, "/orders/stores/", "alert")]
            if counts.failing_streams
            else []
        ),
    ]


module = Module(
    name="orders",
    label=N_("Orders"),
    models="aftersales.orders.models",
    migrations="aftersales.orders.migrations",
    routes=routes,
    api_routes=api.api_routes,
    nav=[
        NavEntry(N_("Orders"), "/orders/", EVERYONE),
        NavEntry(N_("Stores"), "/orders/stores/", MANAGERS),
    ],
    dashboard_tiles=dashboard_tiles,
    hooks=webhooks.hooks,
    functions=jobs.functions,
    cron_jobs=jobs.cron_jobs,
)
