"""After a post the desk goes back only to a page of its own, whichever form posted.

Two forms carry a "go back to" field: the assign form of a queue row
(``next``) and the buyer card on a case page (``back``). Both pass the one
check in ``case_routes.back_to``: a backslash, ``//host``, a scheme or a
control character lands on the form's own page instead.
"""

from __future__ import annotations

import httpx
import pytest

from aftersales.core.models import Role
from aftersales.orders.models import Customer
from aftersales.refunds.models import Refund, RefundStatus
from tests.conftest import csrf_from, sign_in
from tests.factories import create_user
from tests.returns.test_cases import synced_shop

AWAY = [
    "//evil.example/x",
    "/\\evil.example/x",
    "\\\\evil.example",
    "https://evil.example/",
    "/refunds/\r\nSet-Cookie: x=1",
    "/refunds/\x00",
    "refunds/",
    "",
]


async def _setup(client: httpx.AsyncClient) -> tuple[Refund, str]:
    await synced_shop()
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    refund = (
        await Refund.filter(status=RefundStatus.REQUESTED, worked_in__isnull=True)
        .order_by("id")
        .first()
    )
    assert refund is not None and refund.order_id is not None
    return refund, await csrf_from(client, f"/refunds/{refund.id}")


@pytest.mark.parametrize("target", AWAY)
async def test_the_assign_form_goes_back_only_to_a_desk_page(
    client: httpx.AsyncClient, app, target: str
) -> None:
    refund, token = await _setup(client)
    taken = await client.post(
        f"/refunds/{refund.id}/assign",
        data={"csrf_token": token, "version": str(refund.version), "next": target},
    )
    assert taken.status_code == 303
    assert taken.headers["location"] == f"/refunds/{refund.id}"
    back = await client.post(
        f"/refunds/{refund.id}/assign",
        data={"csrf_token": token, "version": str(refund.version + 1), "next": "/refunds/?q=1"},
    )
    assert back.headers["location"] == "/refunds/?q=1"


@pytest.mark.parametrize("target", AWAY)
async def test_the_buyer_card_goes_back_only_to_a_desk_page(
    client: httpx.AsyncClient, app, target: str
) -> None:
    refund, token = await _setup(client)
    customer = await Customer.filter(orders__id=refund.order_id).first()
    assert customer is not None
    saved = await client.post(
        f"/orders/customers/{customer.id}",
        data={"csrf_token": token, "back": target, "notes": "x"},
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/orders/customers/{customer.id}"
    back = await client.post(
        f"/orders/customers/{customer.id}",
        data={"csrf_token": token, "back": f"/refunds/{refund.id}", "notes": "y"},
    )
    assert back.headers["location"] == f"/refunds/{refund.id}"
