"""What the orders module hands to the next shift, and what it says about buyers.

Two kinds of handover item, neither a case of its own:

- a store whose sync is failing (``orders:store:<store id>``): orders and
  requests may be stale until someone fixes it;
- on the day's first handover (``HandoverWindow.morning_check``), the morning
  checks the team does once a day, one item each, named by the local day
  (``orders:unpaid_over_a_day:20261202``), so a second draft the same morning
  finds the same items and the next morning's are new ones.

``resolve_case(s)`` answer these references with their live state (a store
syncing again, a check whose list is empty now, yesterday's check replaced
by today's), so the handover shows what changed since it was written.
``buyer_flags`` repeats the VIP and angry tags agents set, so a reader that
sees no tags (the handover, through the registry) knows the buyer is one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from aftersales.core import clock
from aftersales.core.cases import URGENT_BUYER_FLAGS, CaseRef, HandoverItem, ResolvedCase, Severity
from aftersales.core.errors import Msgid
from aftersales.core.i18n import N_
from aftersales.core.models import Store
from aftersales.core.modules import BuyerFlag, HandoverWindow
from aftersales.orders import events as order_words
from aftersales.orders import service
from aftersales.orders.models import Customer

MODULE = "orders"
STORE = "store"  # the kind of a failing store's reference

CHECK_ITEMS = {
    "unpaid_over_a_day": (
        N_("%(count)s orders unpaid for over a day"),
        Severity.DUE_THIS_SHIFT,
        N_("Remind the buyers to pay, or cancel the orders they no longer want."),
        N_("If a buyer does not answer, let the platform close the order at its deadline."),
    ),
    "late_shipment": (
        N_("%(count)s paid orders not shipped within 48 hours"),
        Severity.OVERDUE,
        N_("Ship these orders, or tell each buyer when theirs will ship."),
        N_("If an order cannot ship, tell a supervisor before the buyer complains."),
    ),
}
"""Morning check (a key of ``service.CHECKS``) -> summary, severity, what to do, if it fails."""


def day_number(day: date) -> int:
    """A local day as a reference id: 2026-12-02 is 20261202."""
    return day.year * 10000 + day.month * 100 + day.day


def day_of(number: int) -> date | None:
    try:
        return date(number // 10000, number // 100 % 100, number % 100)
    except ValueError:
        return None


def check_href(check: str) -> str:
    """The order list with one check applied: the link its home tile opens."""
    return f"/orders/?check={check}"


def store_href(store_id: int) -> str:
    return f"/orders/stores/{store_id}"


async def handover_items(window: HandoverWindow) -> list[HandoverItem]:
    """Stores whose sync is failing, and on the morning's handover the day's checks."""
    items = [_store_item(failing) for failing in await service.failing_syncs()]
    if window.morning_check:
        items.extend(await _morning_items(window))
    return items


def _store_item(failing: service.FailingSync) -> HandoverItem:
    store = failing.store
    streams = [Msgid(order_words.STREAMS.get(s.stream, s.stream)) for s in failing.streams]
    params = {"store": store.name, "streams": streams}
    ref = CaseRef(MODULE, STORE, store.id)
    if failing.retried:
        # The next scheduled sync may well succeed: watch it, act if it does not.
        severity = Severity.DUE_THIS_SHIFT
        todo = N_("Check the store page during the shift: the next sync may succeed by itself.")
        if_fails = N_(
            "If it still fails, tell an owner, and check new orders and requests "
            "in the platform's back office meanwhile."
        )
    else:
        severity = Severity.OVERDUE
        todo = N_("Ask an owner to fix the store's connection on the store page.")
        if_fails = N_(
            "Until it is fixed, check new orders and requests in the platform's back office."
        )
    return HandoverItem(
        ref=ref,
        msgid=N_("Store %(store)s is not syncing (%(streams)s)"),
        params=params,
        due_at=None,
        severity=severity,
        todo=todo,
        if_fails=if_fails,
        href=store_href(store.id),
    )


async def _morning_items(window: HandoverWindow) -> list[HandoverItem]:
    zone = await service.desk_zone()
    today = window.start.astimezone(zone).date()
    items = []
    for check, (msgid, severity, todo, if_fails) in CHECK_ITEMS.items():
        count = await service.check_count(check)
        if count:
            items.append(
                HandoverItem(
                    ref=CaseRef(MODULE, check, day_number(today)),
                    msgid=msgid,
                    params={"count": count},
                    due_at=None,
                    severity=severity,
                    todo=todo,
                    if_fails=if_fails,
                    href=check_href(check),
                )
            )
    return items


# -- live state --------------------------------------------------------------------------------


async def resolve_case(ref: CaseRef) -> ResolvedCase | None:
    return (await resolve_cases([ref])).get(ref)


async def resolve_cases(refs: Sequence[CaseRef]) -> dict[CaseRef, ResolvedCase]:
    """A failing store's sync now (failing or fixed), and a morning check's list now.

    A check is open while its day is today and its list still has orders.
    (Yesterday's ratings are the reviews module's morning item.)
    """
    mine = [r for r in dict.fromkeys(refs) if r.module == MODULE]
    found: dict[CaseRef, ResolvedCase] = {}
    stores = [r for r in mine if r.kind == STORE]
    if stores:
        found.update(await _resolve_stores(stores))
    checks = [r for r in mine if r.kind in CHECK_ITEMS]
    if checks:
        zone = await service.desk_zone()
        today = clock.now().astimezone(zone).date()
        counts: dict[str, int] = {}
        for ref in checks:
            day = day_of(ref.id)
            if day is None:
                continue
            if ref.kind not in counts and day == today:
                counts[ref.kind] = await service.check_count(ref.kind)
            found[ref] = _resolved_check(ref, day, counts.get(ref.kind, 0) if day == today else 0)
    return found


async def _resolve_stores(refs: list[CaseRef]) -> dict[CaseRef, ResolvedCase]:
    ids = {r.id for r in refs}
    names = dict(await Store.filter(id__in=ids).values_list("id", "name"))
    failing = {f.store.id for f in await service.failing_syncs(ids)}
    return {
        ref: ResolvedCase(
            ref,
            N_("Sync of store %(store)s"),
            store_href(ref.id),
            "failing" if ref.id in failing else "syncing",
            {"store": names[ref.id]},
            status_label=N_("Sync failing") if ref.id in failing else N_("Syncing again"),
            open=ref.id in failing,
        )
        for ref in refs
        if ref.id in names
    }


def _resolved_check(ref: CaseRef, day: date, count: int) -> ResolvedCase:
    return ResolvedCase(
        ref,
        N_("%(check)s (%(day)s)"),
        check_href(ref.kind),
        "open" if count else "done",
        {"check": Msgid(service.CHECKS[ref.kind]), "day": day.isoformat()},
        status_label=N_("Orders still to do") if count else N_("None left"),
        open=bool(count),
    )


# -- buyers ------------------------------------------------------------------------------------


async def buyer_flags(customer_ids: Sequence[int]) -> dict[int, list[BuyerFlag]]:
    """VIP and angry on each buyer an agent tagged so, one query for the page's buyers.

    The flag repeats the hand-set tag (``hand_set``): pages that show the
    tags show the tag as agents know it, once; the handover, which sees
    buyers only through the registry, learns from it that the item is urgent
    (``URGENT_BUYER_FLAGS``).
    """
    rows = await Customer.filter(id__in=list(customer_ids)).values_list("id", "tags")
    flags: dict[int, list[BuyerFlag]] = {}
    for customer_id, tags in rows:
        for tag in URGENT_KEYS:
            if isinstance(tags, list) and tag in tags:
                flags.setdefault(customer_id, []).append(
                    BuyerFlag(
                        key=tag,
                        label=order_words.CUSTOMER_TAGS[tag],
                        hint=N_("Tagged by an agent"),
                        level="alert" if tag == "angry" else "info",
                        hand_set=True,
                    )
                )
    return flags


URGENT_KEYS = tuple(sorted(URGENT_BUYER_FLAGS))  # vip, angry: both hand-set tags of this module
assert set(URGENT_KEYS) <= set(order_words.CUSTOMER_TAGS)
