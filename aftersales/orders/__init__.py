"""Stores' orders, customers and items; the sync engine that drives connectors."""

from aftersales.core.auth import EVERYONE, MANAGERS
from aftersales.core.i18n import N_
from aftersales.core.models import User
from aftersales.core.modules import Module, NavEntry, Tile
from aftersales.core.setting_fields import SettingField
from aftersales.orders import api, events, jobs, service, shift, sync, webhooks
from aftersales.orders.routes import routes


async def dashboard_tiles(user: User) -> list[Tile]:
    """The order checks an agent used to do by hand each morning.

    Each link opens the order list with the very check its number counted.
    """
    counts = await service.morning_counts()
    tiles = [
        Tile(
            service.CHECKS["unpaid_over_a_day"],
            counts.unpaid_over_a_day,
            shift.check_href("unpaid_over_a_day"),
            "warn" if counts.unpaid_over_a_day else "info",
        ),
        Tile(
            service.CHECKS["late_shipment"],
            counts.late_shipments,
            shift.check_href("late_shipment"),
            "alert" if counts.late_shipments else "info",
        ),
        Tile(
            service.CHECKS["last_24_hours"],
            counts.placed_today,
            shift.check_href("last_24_hours"),
        ),
    ]
    if counts.failing_stores:
        # Everyone should know orders may be stale; only managers open the store pages.
        href = "/orders/stores/?failing=1" if user.role in MANAGERS else None
        tiles.append(Tile(N_("Store syncs failing"), counts.failing_stores, href, "alert"))
    return tiles


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
    # Failing store syncs, and on the morning's handover the day's checks (``shift``).
    handover_items=shift.handover_items,
    resolve_case=shift.resolve_case,
    resolve_cases=shift.resolve_cases,
    buyer_flags=shift.buyer_flags,
    buyer_flag_keys=frozenset(shift.URGENT_KEYS),
    webhooks=webhooks.hooks,
    functions=jobs.functions,
    cron_jobs=jobs.cron_jobs,
    # Per-store settings the store page edits; how far back a new store's first sync reads.
    store_settings={
        "sync_interval_minutes": jobs.DEFAULT_INTERVAL_MINUTES,
        "history_days": sync.DEFAULT_HISTORY_DAYS,
        # The language replies to this store's buyers are written in (quick replies);
        # empty: the platform's (its connector manifest's ``buyer_language``).
        "buyer_language": "",
    },
    store_setting_fields=[
        SettingField(
            "sync_interval_minutes",
            N_("Sync every"),
            N_("How often the desk fetches new orders, requests and reviews from the platform."),
            minimum=1,
            maximum=service.MAX_INTERVAL_MINUTES,
            unit=N_("minutes"),
        ),
        SettingField(
            "history_days",
            N_("First sync reaches back"),
            N_(
                "How many days of past orders a new store's first sync reads; "
                "the platform may allow fewer."
            ),
            minimum=1,
            maximum=sync.MAX_HISTORY_DAYS,
            unit=N_("days"),
        ),
        SettingField(
            "buyer_language",
            N_("Buyers' language"),
            N_("The language replies and quick replies to this store's buyers are written in."),
            kind="choice",
            choices=[
                ("", N_("As the platform's buyers read (its connector says)")),
                ("zh-CN", N_("Chinese")),
                ("en", N_("English")),
            ],
        ),
    ],
    labels=events.LABELS,
)
