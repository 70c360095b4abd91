"""Return pages: the queue, a case's steps from its page, receiving scans, the policy editor."""

from __future__ import annotations

import re

import httpx

from aftersales.core.models import AuditEvent, Role, Store
from aftersales.core.reasons import ReasonCode
from aftersales.returns import service
from aftersales.returns.models import ReturnCase, ReturnLine, ReturnStatus
from aftersales.returns.policy import ReturnKind
from tests.conftest import csrf_from, sign_in
from tests.factories import create_user
from tests.returns.test_api_flow import a_shipped_item, open_return
from tests.returns.test_cases import ADDRESS, synced_shop


async def test_the_queue_lists_open_cases_soonest_deadline_first(
    client: httpx.AsyncClient, app
) -> None:
    await synced_shop()
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    page = (await client.get("/returns/")).text
    timed = await ReturnCase.filter(
        status__not_in=[ReturnStatus.CLOSED, ReturnStatus.CANCELLED, ReturnStatus.REJECTED],
        due_at__not_isnull=True,
    ).order_by("due_at", "id")
    links = [int(i) for i in re.findall(r'href="/returns/(\d+)"', page)]
    assert timed and links[: len(timed)] == [c.id for c in timed]
    order, item = await a_shipped_item()
    agent = await create_user(role=Role.AGENT)
    exchange = await service.open_case(
        order.id,
        kind=ReturnKind.EXCHANGE,
        lines=[service.LineRequest(item.platform_item_id, 1, replacement_sku="L")],
        reason=ReasonCode.SIZE_FIT,
        actor=agent,
    )
    exchanges = (await client.get("/returns/?kind=exchange")).text
    shown = {int(i) for i in re.findall(r'href="/returns/(\d+)"', exchanges)}
    kinds = set(await ReturnCase.filter(id__in=list(shown)).values_list("kind", flat=True))
    assert exchange.id in shown and kinds == {ReturnKind.EXCHANGE}


async def test_a_case_is_approved_received_and_inspected_from_its_page(
    client: httpx.AsyncClient, app
) -> None:
    await synced_shop()
    agent = await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    case, _order, _item = await open_return(
        agent, kind=ReturnKind.RETURN, reason=ReasonCode.CHANGED_MIND
    )
    page = await client.get(f"/returns/{case.id}")
    assert "Inside the policy" in page.text or "Outside the policy" in page.text
    token = await csrf_from(client, f"/returns/{case.id}")
    short = await client.post(
        f"/returns/{case.id}/approve",
        data={"csrf_token": token, "version": str(case.version), "return_address": "x"},
        follow_redirects=True,
    )
    assert "Give the return address" in short.text
    assert (await ReturnCase.get(id=case.id)).status is ReturnStatus.REQUESTED
    await client.post(
        f"/returns/{case.id}/approve",
        data={"csrf_token": token, "version": str(case.version), "return_address": ADDRESS,
              "shipping_payer": "insurance", "shipping_cost": "8.00"},
    )  # fmt: skip
    approved = await ReturnCase.get(id=case.id)
    assert approved.status is ReturnStatus.AWAITING_SHIPMENT
    assert str(approved.shipping_cost) == "8.00"
    line = await ReturnLine.get(case_id=case.id)
    done = await client.post(
        f"/returns/{case.id}/inspect",
        data={"csrf_token": token, "version": str(approved.version), f"good_{line.id}": "1",
              f"damaged_{line.id}": "0", f"restock_{line.id}": "on"},
        follow_redirects=True,
    )  # fmt: skip
    assert "Inspection recorded." in done.text
    assert (await ReturnCase.get(id=case.id)).status is ReturnStatus.REFUND_TRIGGERED
    no_csrf = await client.post(f"/returns/{case.id}/close", data={"note": "x"})
    assert no_csrf.status_code == 403


async def test_scanning_a_tracking_number_lands_on_its_case(client: httpx.AsyncClient, app) -> None:
    await synced_shop()
    agent = await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    case, order, _item = await open_return(
        agent, kind=ReturnKind.RETURN, reason=ReasonCode.CHANGED_MIND
    )
    await service.approve(case.id, actor=agent, return_address=ADDRESS)
    await service.add_tracking(case.id, carrier="韵达", tracking_no="4312345678901", actor=agent)
    found = await client.get("/returns/receiving?q= 4312345678901 ")
    assert found.status_code == 303
    assert found.headers["location"] == f"/returns/{case.id}?scanned=1"
    by_order = await client.get(f"/returns/receiving?q={order.platform_order_id}")
    assert by_order.headers["location"].startswith(f"/returns/{case.id}")
    nothing = await client.get("/returns/receiving?q=NOPE0000000")
    assert "No return case has NOPE0000000" in nothing.text


async def test_owners_edit_the_policy_and_cannot_go_below_the_law(
    client: httpx.AsyncClient, app
) -> None:
    store = await synced_shop()
    await create_user(username="agent", role=Role.AGENT)
    await create_user(username="owner", role=Role.OWNER)
    await sign_in(client, "agent")
    assert (await client.get(f"/returns/policy/{store.id}")).status_code == 403
    await client.get("/logout")
    client.cookies.clear()
    await sign_in(client, "owner")
    page = await client.get(f"/returns/policy/{store.id}")
    assert page.status_code == 200 and "perishable" in page.text
    token = await csrf_from(client, f"/returns/policy/{store.id}")
    form = {"csrf_token": token, "rows": "1", "no_reason_days": "15", "quality_return_days": "7",
            "quality_exchange_days": "15", "return_address": ADDRESS, "cat_0_name": "underwear",
            "cat_0_keywords": "内裤、袜子", "cat_0_excluded": "yes"}  # fmt: skip
    saved = await client.post(f"/returns/policy/{store.id}", data=form, follow_redirects=True)
    assert "Return policy saved." in saved.text
    settings = (await Store.get(id=store.id)).settings
    assert settings["returns_policy"]["no_reason_days"] == 15
    assert settings["returns_policy"]["categories"]["underwear"] == {"excluded": True}
    assert settings["return_address"] == ADDRESS
    too_short = await client.post(
        f"/returns/policy/{store.id}", data={**form, "no_reason_days": "5"}, follow_redirects=True
    )
    assert "cannot be shorter than the law" in too_short.text
    assert (await Store.get(id=store.id)).settings["returns_policy"]["no_reason_days"] == 15
    assert await AuditEvent.filter(action="return.policy_changed").count() == 1


async def test_the_returns_report_counts_rates_reasons_and_shipping(
    client: httpx.AsyncClient, app
) -> None:
    from datetime import datetime, timedelta

    from aftersales.core import clock
    from aftersales.orders.models import Order, OrderItem
    from aftersales.returns.models import ShippingPayer
    from tests.orders.test_api import bearer

    await synced_shop()
    await ReturnCase.all().delete()
    agent = await create_user(role=Role.AGENT)
    order, item = await a_shipped_item()
    case = await service.open_case(
        order.id, kind=ReturnKind.RETURN, lines=[service.LineRequest(item.platform_item_id, 1)],
        reason=ReasonCode.QUALITY, actor=agent,
    )  # fmt: skip
    await service.approve(case.id, actor=agent, return_address=ADDRESS,
                          shipping_payer=ShippingPayer.SHOP, shipping_cost="12.50")  # fmt: skip
    other, other_item = await a_shipped_item()
    refused = await service.open_case(
        other.id, kind=ReturnKind.RETURN,
        lines=[service.LineRequest(other_item.platform_item_id, 1)],
        reason=ReasonCode.CHANGED_MIND, actor=agent,
    )  # fmt: skip
    await service.reject(refused.id, actor=agent, reason="已超过七天无理由退货期限")
    day = order.placed_at.astimezone(clock.now().tzinfo).date()
    first, last = day - timedelta(days=40), clock.now().date() + timedelta(days=1)
    headers = await bearer(Role.OWNER)
    body = (
        await client.get(f"/api/v1/reports/returns?from={first}&to={last}", headers=headers)
    ).json()
    in_period = await Order.filter(
        placed_at__gte=datetime.fromisoformat(body["from"].replace("Z", "+00:00")),
        placed_at__lt=datetime.fromisoformat(body["to"].replace("Z", "+00:00")),
    ).values_list("id", flat=True)
    sold = sum(await OrderItem.filter(order_id__in=list(in_period)).values_list(
        "quantity", flat=True))  # fmt: skip
    assert (body["cases"], body["returns"], body["refused"]) == (2, 1, 1)
    assert body["by_reason"] == {"quality": 1}
    assert body["shipping_by_payer"] == {"shop": "12.50"}
    assert body["units_sold"] == sold and body["units_back"] == 1
    product = next(p for p in body["products"] if p["title"] == item.title)
    assert product["returned"] == 1 and 0 < product["return_rate"] <= 1
    agent_headers = await bearer(Role.AGENT)
    denied = await client.get("/api/v1/reports/returns", headers=agent_headers)
    assert denied.status_code == 403
    await create_user(username="boss", role=Role.OWNER)
    await sign_in(client, "boss")
    page = await client.get(f"/returns/report?from={first}&to={last}")
    assert page.status_code == 200 and item.title in page.text and "12.50" in page.text


async def test_inspection_photos_are_kept_and_a_fake_one_refuses_the_form(
    client: httpx.AsyncClient, app, settings
) -> None:
    from aftersales.returns.models import ReturnAttachment
    from tests.refunds.test_evidence import PNG

    await synced_shop()
    agent = await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    order, item = await a_shipped_item()
    case = await service.open_case(
        order.id, kind=ReturnKind.RETURN, lines=[service.LineRequest(item.platform_item_id, 1)],
        reason=ReasonCode.DAMAGED, actor=agent,
    )  # fmt: skip
    case = await service.approve(case.id, actor=agent, return_address=ADDRESS)
    line = await ReturnLine.get(case_id=case.id)
    token = await csrf_from(client, f"/returns/{case.id}")
    form = {"csrf_token": token, "version": str(case.version), f"good_{line.id}": "0",
            f"damaged_{line.id}": "1", f"note_{line.id}": "外壳碎裂"}  # fmt: skip
    fake = await client.post(
        f"/returns/{case.id}/inspect", data=form,
        files={f"photo_{line.id}": ("crack.png", b"<script>alert(1)</script>", "image/png")},
        follow_redirects=True,
    )  # fmt: skip
    assert "Only JPEG, PNG, GIF or WebP photos are kept." in fake.text
    assert (await ReturnCase.get(id=case.id)).status is ReturnStatus.AWAITING_SHIPMENT
    done = await client.post(
        f"/returns/{case.id}/inspect", data=form,
        files={f"photo_{line.id}": ("碎裂.png", PNG, "image/png")}, follow_redirects=True,
    )  # fmt: skip
    assert "Inspection recorded." in done.text
    inspected = await ReturnCase.get(id=case.id)
    assert inspected.status is ReturnStatus.INSPECTED and inspected.refund_id is None
    photo = await ReturnAttachment.get(case_id=case.id)
    assert photo.line_id == line.id and photo.file_name == "碎裂.png"
    # Kept for the desk's user alone (0600 in a 0700 folder), whatever the umask.
    from tests.core.test_files import mode

    folder = settings.data_dir / "returns" / str(case.id)
    assert mode(folder) == 0o700 and mode(folder / photo.stored_as) == 0o600
    served = await client.get(f"/returns/{case.id}/photos/{photo.id}")
    assert served.content == PNG and served.headers["content-type"] == "image/png"
    assert f"/returns/{case.id}/photos/{photo.id}" in done.text


async def test_an_agent_opens_an_exchange_from_the_order_page(
    client: httpx.AsyncClient, app
) -> None:
    await synced_shop()
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    order, item = await a_shipped_item()
    order_page = await client.get(f"/orders/{order.id}")
    assert f"/returns/new?order={order.id}" in order_page.text
    token = await csrf_from(client, f"/returns/new?order={order.id}")
    field = item.platform_item_id
    bad = await client.post(
        "/returns/new",
        data={"csrf_token": token, "order": str(order.id), "kind": "exchange",
              f"qty_{field}": str(item.quantity + 1)},
        follow_redirects=True,
    )  # fmt: skip
    assert "can come back" in bad.text and not await ReturnCase.filter(order_id=order.id).exists()
    done = await client.post(
        "/returns/new",
        data={"csrf_token": token, "order": str(order.id), "kind": "exchange",
              "reason": "size_fit", f"qty_{field}": "1", f"sku_{field}": "XL",
              f"price_{field}": f"{item.unit_price:.2f}", "buyer_text": "换大一码"},
        follow_redirects=True,
    )  # fmt: skip
    assert "Case opened." in done.text
    case = await ReturnCase.get(order_id=order.id)
    line = await ReturnLine.get(case_id=case.id)
    assert (case.kind, line.replacement_sku, line.quantity) == (ReturnKind.EXCHANGE, "XL", 1)
