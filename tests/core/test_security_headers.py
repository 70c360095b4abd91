"""Every response carries the browser-side safety headers; HSTS only over HTTPS."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from starlette.requests import Request
from starlette.routing import Route

from aftersales.core import service
from aftersales.core.models import Role
from aftersales.core.templating import templates_dir
from aftersales.refunds import charts
from aftersales.refunds.models import Refund, RefundEvidence, RefundStatus
from tests.conftest import csrf_from, sign_in
from tests.factories import create_user
from tests.refunds.test_evidence import PNG
from tests.refunds.test_service import demo_shop

CSP_PARTS = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
)


def assert_safety_headers(response: httpx.Response) -> None:
    csp = response.headers["content-security-policy"]
    for part in CSP_PARTS:
        assert part in csp, (part, csp)
    assert "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-frame-options"] == "DENY"


async def test_pages_api_static_files_and_errors_carry_the_headers(
    client: httpx.AsyncClient,
) -> None:
    user = await create_user(role=Role.SUPERVISOR)
    assert_safety_headers(await client.get("/login"))
    await sign_in(client, user.username)
    page = await client.get("/")
    assert page.status_code == 200
    assert_safety_headers(page)
    # Pages have no inline script, no inline handler and no inline style for the CSP to block.
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.text)
    assert not re.search(r"\son[a-z]+=", page.text)
    assert " style=" not in page.text

    token = await service.create_token(user, "script")
    api = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
    assert_safety_headers(api)
    assert_safety_headers(await client.get("/api/v1/me"))  # 401 JSON

    for path in ("/static/desk.css", "/static/desk.js", "/static/charts.css"):
        static = await client.get(path)
        assert static.status_code == 200
        assert_safety_headers(static)

    missing = await client.get("/no-such-page")
    assert missing.status_code == 404
    assert_safety_headers(missing)
    refused = await client.post("/account/language", data={"locale": "en"})
    assert refused.status_code == 403
    assert_safety_headers(refused)


async def test_a_crash_page_carries_the_headers(app) -> None:
    async def boom(request: Request) -> None:
        raise RuntimeError("a bug")

    app.router.routes.append(Route("/boom-for-test", boom))
    user = await create_user()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as client:
        await sign_in(client, user.username)
        crash = await client.get("/boom-for-test")
    assert crash.status_code == 500
    assert "Something went wrong on our side" in crash.text
    assert_safety_headers(crash)


async def test_hsts_only_over_https(app) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://desk.test") as secure:
        over_https = await secure.get("/login")
        assert over_https.headers["strict-transport-security"] == "max-age=31536000"
        assert_safety_headers(over_https)
        assert "strict-transport-security" in (await secure.get("/static/desk.css")).headers
    async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as plain:
        over_http = await plain.get("/login")
        assert "strict-transport-security" not in over_http.headers
        assert_safety_headers(over_http)


async def test_photos_are_inline_images_with_a_safe_name_and_anything_else_downloads(
    client: httpx.AsyncClient,
) -> None:
    await demo_shop()
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    refund = await Refund.filter(status=RefundStatus.REQUESTED).first()
    url = f"/refunds/{refund.id}"
    token = await csrf_from(client, url)
    await client.post(
        f"{url}/evidence",
        data={"csrf_token": token, "kind": "photo"},
        files={"photo": ('包装"完好.png', PNG, "image/png")},
    )
    stored = await RefundEvidence.get(refund_id=refund.id, kind="photo")
    photo = await client.get(f"{url}/evidence/{stored.id}")
    assert photo.status_code == 200
    assert photo.content == PNG
    assert photo.headers["content-type"] == "image/png"
    assert photo.headers["content-disposition"] == f'inline; filename="{stored.stored_as}"'
    assert_safety_headers(photo)

    # A kept file whose recorded type is not an image is never shown as a page.
    await RefundEvidence.filter(id=stored.id).update(content_type="text/html")
    odd = await client.get(f"{url}/evidence/{stored.id}")
    assert odd.headers["content-type"] == "application/octet-stream"
    assert odd.headers["content-disposition"].startswith("attachment;")
    assert_safety_headers(odd)


def test_the_chart_stylesheet_matches_the_chart_style() -> None:
    """Charts carry no inline style; static/charts.css holds pygal's rules for them."""
    path = Path(templates_dir()) / "static" / "charts.css"
    assert path.read_text(encoding="utf-8") == charts.stylesheet(), (
        "regenerate: python -c 'from aftersales.refunds import charts; "
        'print(charts.stylesheet(), end="")\' > templates/static/charts.css'
    )
