"""Every page shows hostile text as text: markup from data or a URL never runs.

The desk is filled through the real sync and services with markup and ``%``
in every free-text field (``tests.factories.HostileShop``), then an owner
opens every GET page of every module, in both languages. A page that
rendered ``<img src=x onerror=...>`` unescaped would run it in the browser;
one that %-formatted a product title would answer 500.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx
import pytest
from markupsafe import escape
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route

from aftersales.core import clock
from aftersales.core.config import Settings
from aftersales.core.models import Role, User
from aftersales.handover import promises
from aftersales.handover.models import Handover, HandoverEntry, HandoverNote, RotaEntry, Shift
from aftersales.orders import service as orders_service
from aftersales.orders.models import Customer, Order
from aftersales.refunds import evidence
from aftersales.refunds import service as refunds_service
from aftersales.refunds.models import EvidenceKind, Refund, RefundKind, RefundStatus
from aftersales.returns import service as returns_service
from aftersales.returns.models import ReturnCase, ReturnStatus
from connectors.base import AfterSaleStatus, RefundDecision, RefundWriteResult
from tests.conftest import sign_in
from tests.factories import HOSTILE, HOSTILE_USERNAME, MARKUP, create_hostile_shop, create_user

pytestmark = pytest.mark.usefixtures("clean_db")
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
# What must never reach a page as markup (escaped, ``&lt;img src=x`` is fine).
RAW = ("<img src=x", "<svg/onload")
SHOWN = str(escape(HOSTILE))
NOT_PAGES = ("/api/v1", "/static", "/hooks")  # JSON, files, signed webhooks
PROBES = ("/healthz",)  # JSON for a load balancer: 503 while no worker runs, by design
PARAM = re.compile(r"{(\w+)(?::\w+)?}")


def page_paths(app: Starlette) -> list[str]:
    """Every GET route the site mounts (``/orders/{order_id:int}``, ...)."""
    found: list[str] = []

    def walk(routes: list[BaseRoute], prefix: str) -> None:
        for route in routes:
            if isinstance(route, Mount) and route.path not in NOT_PAGES:
                walk(list(route.routes), prefix + route.path)
            elif isinstance(route, Route) and "GET" in (route.methods or ()):
                if prefix + route.path in PROBES:
                    continue
                found.append(prefix + route.path)

    walk(list(app.routes), "")
    return found


async def hostile_desk(settings: Settings) -> dict[str, object]:
    """The hostile shop plus what people type: notes, refusal reasons, evidence, tags,
    a display name and a username with markup. Returns the ids pages are opened with."""
    clock.travel(NOW - clock.now())
    store = await create_hostile_shop(now=NOW)
    # An admin sees every page an owner does, and the Users pages besides.
    owner = await create_user(username=HOSTILE_USERNAME, role=Role.ADMIN, display_name=HOSTILE)
    paid, refused, failed = await Refund.filter(
        status=RefundStatus.REQUESTED, kind=RefundKind.REFUND_ONLY
    ).order_by("id").limit(3)  # fmt: skip
    await refunds_service.approve(paid.id, actor=owner, note=HOSTILE)
    await refunds_service.start_writeback(paid.id)
    await refunds_service.finish_writeback(
        paid.id,
        RefundDecision.APPROVE,
        RefundWriteResult(status=AfterSaleStatus.REFUNDED, platform_status="SUCCESS"),
    )
    await refunds_service.reject(refused.id, actor=owner, reason=HOSTILE)
    await refunds_service.approve(failed.id, actor=owner)
    await refunds_service.start_writeback(failed.id)
    # The platform's own error text is data too.
    await refunds_service.fail_writeback(failed.id, RefundDecision.APPROVE, HOSTILE)
    note = await evidence.add_evidence(
        paid.id, actor=owner, kind=EvidenceKind.NOTE, data_dir=settings.data_dir, text=HOSTILE
    )
    order = await Order.get(id=paid.order_id)  # type: ignore[attr-defined]
    customer = await Customer.get(id=order.customer_id)  # type: ignore[attr-defined]
    await orders_service.update_customer(
        customer, tags=["vip", "<img src=x>%"], notes=HOSTILE, actor=owner
    )
    case = await ReturnCase.filter(store_id=store.id, status=ReturnStatus.REQUESTED).first()
    assert case is not None, "the hostile shop's return requests became cases"
    await returns_service.approve(case.id, actor=owner, return_address=HOSTILE, note=HOSTILE)
    handover = await hostile_handover(owner)
    # A supervisor names shifts; the rota shows them and the people on them.
    shift = await Shift.create(name=HOSTILE, start_minute=18 * 60, end_minute=9 * 60)
    rota_day = NOW.astimezone(settings.zone).date()
    await RotaEntry.create(shift=shift, day=rota_day, user=owner)
    return {
        "order_id": order.id,
        "store_id": store.id,
        "customer_id": customer.id,
        "refund_id": paid.id,
        "failed_id": failed.id,  # not a route parameter: the page checked for the error text
        "evidence_id": note.id,
        "case_id": case.id,
        "user_id": owner.id,
        "photo_id": 1,
        "handover_id": handover.id,
        "table": "sku",  # /refunds/report/{table}.csv: the product table
        "rota_cell": f"/handover/rota/cell?shift={shift.id}&day={rota_day.isoformat()}",
    }


async def hostile_handover(author: User) -> Handover:
    """A handover from a shift named with markup, an item, a note and a promise saying it."""
    promise = await promises.make(author, HOSTILE, NOW + timedelta(hours=1))
    handover = await Handover.create(
        key="1:2026-11-23", from_name=HOSTILE, to_name=HOSTILE, window_start=NOW,
        window_end=NOW + timedelta(hours=8), drafted_at=NOW, handed_over_at=NOW,
    )  # fmt: skip
    await HandoverEntry.create(
        handover=handover, ref=str(promises.ref_of(promise)), module="handover",
        severity="due_this_shift", urgent=True, msgid="Promise to a buyer: %(text)s",
        params={"text": HOSTILE}, first_listed_at=NOW - timedelta(days=1),
    )  # fmt: skip
    await HandoverNote.create(handover=handover, author=author, text=HOSTILE, created_at=NOW)
    return handover


def assert_escaped(answer: httpx.Response, url: str) -> None:
    assert answer.status_code < 500, f"{url} answered {answer.status_code}"
    if answer.headers.get("content-type", "").startswith("text/html"):
        for raw in RAW:
            assert raw not in answer.text, f"{url} renders {raw!r} as markup"


async def test_every_page_shows_markup_and_percent_from_data_as_text(
    client: httpx.AsyncClient, app: Starlette, clean_db: Settings
) -> None:
    ids = await hostile_desk(clean_db)
    await sign_in(client, HOSTILE_USERNAME)
    hostile_query = urlencode({k: HOSTILE for k in ("q", "store", "status", "reason", "from")})
    urls = []
    for path in page_paths(app):
        names = PARAM.findall(path)
        assert set(names) <= set(ids), f"{path}: give the test an id for {names}"
        url = PARAM.sub(lambda m: str(ids[m.group(1)]), path)
        urls += [url, f"{url}?{hostile_query}"]
    assert len(urls) > 30
    urls += [
        f"/refunds/{ids['failed_id']}",
        f"/refunds/report/{MARKUP}.csv",
        "/refunds/report/100%25.csv",
        f"/{MARKUP}",
        f"/orders/{MARKUP}",
        f"/refunds/{MARKUP}%25",
        str(ids["rota_cell"]),
    ]
    shown_on: set[str] = set()
    for language in ("en", "zh-CN"):
        for url in urls:
            answer = await client.get(
                url, headers={"Accept-Language": language}, follow_redirects=True
            )
            assert_escaped(answer, url)
            if SHOWN in answer.text:
                shown_on.add(url.partition("?")[0])
    # The hostile text really reached the pages, escaped (so the check above means something).
    for url in (
        "/refunds/report",
        f"/orders/{ids['order_id']}",
        f"/orders/customers/{ids['customer_id']}",
        f"/refunds/{ids['refund_id']}",
        f"/refunds/{ids['failed_id']}",
        f"/returns/{ids['case_id']}",
        "/orders/stores/",
        f"/handover/{ids['handover_id']}",
        f"/handover/{ids['handover_id']}/print",
        "/handover/diary",
        "/handover/promises",
        "/handover/rota",
        "/handover/shifts",
        "/handover/rota/cell",
    ):
        assert url in shown_on, f"{url} did not show the hostile text at all"


async def test_a_crafted_report_url_is_a_404_that_shows_the_name_as_text(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    await create_user(username="owner", role=Role.OWNER)
    await sign_in(client, "owner")
    crafted = await client.get(f"/refunds/report/{MARKUP}.csv")
    assert crafted.status_code == 404
    assert "&lt;img src=x onerror=alert(1)&gt;" in crafted.text and MARKUP not in crafted.text
    percent = await client.get("/refunds/report/100%25.csv", headers={"Accept-Language": "zh-CN"})
    assert percent.status_code == 404
    assert "没有名为 100% 的报表。" in percent.text
