"""A case module from a dist-info gets the whole case kernel by declaring one model.

``tests/plugins/complaints`` is installed by entry point, as ``pip install``
would, and imports nothing from refunds or returns. Its table comes from its
own migrations, so each test runs on a fresh database migrated with the
plugin installed, in a Tortoise context of its own (the suite's database
never sees the plugin's table).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from arq.connections import ArqRedis
from starlette.applications import Starlette

from aftersales.core import clock, db
from aftersales.core.cases import CaseRef, Severity
from aftersales.core.config import Settings
from aftersales.core.models import AuditEvent, Role, Store
from aftersales.core.modules import HandoverWindow, Registry
from aftersales.core.redis import RedisHandle
from aftersales.core.web import create_app
from aftersales.orders.models import Customer, Order
from connectors.base import OrderStatus
from tests.conftest import csrf_from, sign_in
from tests.databases import fresh_database_url, in_own_tortoise_context
from tests.factories import create_store, create_user
from tests.plugins import COMPLAINTS_SITE

PLUGIN = Path(__file__).resolve().parents[1] / "plugins" / "complaints"

Scenario = Callable[[httpx.AsyncClient, Starlette], Awaitable[None]]


@pytest.fixture
def on_plugin_desk(
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    redis_handle: RedisHandle,
    redis: ArqRedis,
    tmp_path: Path,
) -> Callable[[Scenario], Awaitable[None]]:
    """Run a scenario against a desk with the complaints plugin installed and migrated."""
    monkeypatch.syspath_prepend(str(COMPLAINTS_SITE))
    importlib.invalidate_caches()

    async def run(scenario: Scenario) -> None:
        async with fresh_database_url(tmp_path) as url:
            desk = dataclasses.replace(settings, database_url=url)

            async def work() -> None:
                clock.reset()
                await db.migrate(desk)
                await db.close_db()
                await db.init_db(desk)
                try:
                    app = create_app(desk, manage_db=False, redis=redis_handle)
                    async with app.router.lifespan_context(app):
                        transport = httpx.ASGITransport(app=app)
                        async with httpx.AsyncClient(
                            transport=transport, base_url="http://desk.test"
                        ) as client:
                            await scenario(client, app)
                finally:
                    clock.reset()
                    await db.close_db()

            await in_own_tortoise_context(work)

    return run


def _registry(app: Starlette) -> Registry:
    registry: Registry = app.state.registry
    assert "complaints" in registry
    return registry


async def _open(store: Store, order: str = "P-1001"):  # type: ignore[no-untyped-def]
    from tests.plugins.complaints import service

    return await service.open_complaint(store, topic="箱子压坏了", platform_order_id=order)


async def _post(client: httpx.AsyncClient, path: str, **data: str) -> httpx.Response:
    token = await csrf_from(client, path.rsplit("/", 1)[0])
    return await client.post(path, data={"csrf_token": token, **data})


async def test_an_allowed_move_is_audited_and_shown_on_the_timeline(on_plugin_desk) -> None:
    async def scenario(client: httpx.AsyncClient, app: Starlette) -> None:
        store = await create_store()
        await create_user(username="agent1", role=Role.AGENT)
        await sign_in(client, "agent1")
        complaint = await _open(store)
        page = await client.get(f"/complaints/{complaint.id}")
        assert page.status_code == 200
        assert "Complaint received" in page.text and "箱子压坏了" in page.text

        moved = await _post(client, f"/complaints/{complaint.id}/move", to="answered", version="1")
        assert moved.status_code == 303
        event = await AuditEvent.get(action="complaint.answered", subject_id=str(complaint.id))
        assert event.subject_type == "complaint"
        assert event.data["from"] == "open" and event.data["to"] == "answered"
        page = await client.get(f"/complaints/{complaint.id}")
        history = page.text.split('class="timeline"', 1)[1]
        assert "Complaint answered" in history and "agent1" in history
        assert history.index("Complaint answered") < history.index("Complaint received")

    await on_plugin_desk(scenario)


async def test_an_illegal_move_and_a_stale_version_answer_409(on_plugin_desk) -> None:
    async def scenario(client: httpx.AsyncClient, app: Starlette) -> None:
        from tests.plugins.complaints.models import Complaint

        store = await create_store()
        await create_user(username="agent1", role=Role.AGENT)
        await sign_in(client, "agent1")
        closed = await _open(store)
        path = f"/complaints/{closed.id}/move"
        assert (await _post(client, path, to="closed", version="1")).status_code == 303
        illegal = await _post(client, path, to="open", version="2")
        assert illegal.status_code == 409
        assert "cannot go from Closed to Open" in illegal.text
        assert (await Complaint.get(id=closed.id)).version == 2

        fresh = await _open(store, "P-1002")
        path = f"/complaints/{fresh.id}/move"
        assert (await _post(client, path, to="answered", version="1")).status_code == 303
        stale = await _post(client, path, to="closed", version="1")
        assert stale.status_code == 409
        assert "changed since you opened it" in stale.text
        row = await Complaint.get(id=fresh.id)
        assert (row.status.value, row.version) == ("answered", 2)

    await on_plugin_desk(scenario)


async def test_assign_is_guarded_by_version(on_plugin_desk) -> None:
    async def scenario(client: httpx.AsyncClient, app: Starlette) -> None:
        from tests.plugins.complaints.models import Complaint

        store = await create_store()
        first = await create_user(username="agent1", role=Role.AGENT)
        await create_user(username="agent2", role=Role.AGENT)
        complaint = await _open(store)
        path = f"/complaints/{complaint.id}/assign"
        await sign_in(client, "agent1")
        assert (await _post(client, path, version="1")).status_code == 303

        client.cookies.clear()
        await sign_in(client, "agent2")
        late = await _post(client, path, version="1")  # agent2's page still shows nobody
        assert late.status_code == 409
        assert (await Complaint.get(id=complaint.id)).assignee_id == first.id
        page = await client.get(f"/complaints/{complaint.id}")
        assert "Taken by an agent" in page.text
        assert f'action="/complaints/{complaint.id}/assign"' not in page.text

    await on_plugin_desk(scenario)


async def test_escalation_marks_an_overdue_complaint(on_plugin_desk) -> None:
    async def scenario(client: httpx.AsyncClient, app: Starlette) -> None:
        from tests.plugins.complaints.models import Complaint
        from tests.plugins.complaints.service import sweep_overdue_complaints

        store = await create_store()
        late = await _open(store)  # due in 24 hours, the declared default
        clock.travel(timedelta(hours=23))
        on_time = await _open(store, "P-1002")
        clock.travel(timedelta(hours=2))

        outcome = await sweep_overdue_complaints({})
        assert (outcome.found, outcome.escalated) == (1, 1)
        assert (await Complaint.get(id=late.id)).escalated
        assert not (await Complaint.get(id=on_time.id)).escalated
        assert await AuditEvent.filter(action="complaint.escalated").count() == 1
        assert (await sweep_overdue_complaints({})).found == 0  # once only

        await create_user(username="agent1", role=Role.AGENT)
        await sign_in(client, "agent1")
        page = await client.get(f"/complaints/{late.id}")
        assert "Escalated: past its deadline" in page.text

    await on_plugin_desk(scenario)


TILE_RE = r'<a class="tile (\w+)" href="{href}">\s*<span class="value">(\d+)</span>'


async def test_the_home_page_shows_the_due_soon_tile_with_its_count(on_plugin_desk) -> None:
    async def scenario(client: httpx.AsyncClient, app: Starlette) -> None:
        hurried = await create_store(name="快店")
        hurried.settings = {"timers": {"complaint_answer_hours": 1}}  # a per-store timer
        await hurried.save()
        calm = await create_store(name="慢店")
        soon = await _open(hurried, "P-1")
        await _open(calm, "P-2")  # due in 24 hours: not soon
        await create_user(username="agent1", role=Role.AGENT)
        await sign_in(client, "agent1")

        home = await client.get("/")
        tile = re.search(TILE_RE.format(href=re.escape("/complaints/?due=soon")), home.text)
        assert tile is not None, "no due-soon tile"
        assert tile.groups() == ("warn", "1")
        assert "Complaints due within 2 hours" in home.text
        listed = await client.get("/complaints/?due=soon")
        assert re.findall(r'href="/complaints/(\d+)"', listed.text) == [str(soon.id)]

    await on_plugin_desk(scenario)


async def test_handover_items_carry_the_kernels_severity_for_a_window(on_plugin_desk) -> None:
    async def scenario(client: httpx.AsyncClient, app: Starlette) -> None:
        from tests.plugins.complaints import service
        from tests.plugins.complaints.models import Complaint, ComplaintStatus

        store = await create_store()
        overdue = await _open(store, "P-1")  # due at +24h
        clock.travel(timedelta(hours=20))
        this_shift = await _open(store, "P-2")  # due at +44h
        later = await _open(store, "P-3")
        later.due_at = clock.now() + timedelta(days=3)
        await later.save()
        answered = await _open(store, "P-4")  # due with P-2, closed since
        boss = await create_user(username="boss", role=Role.SUPERVISOR)
        await service.move(answered.id, ComplaintStatus.CLOSED, actor=boss, expected_version=1)
        buyer = await Customer.create(store=store, platform_buyer_id="b1", nick="买家", tags=[])
        order = await Order.create(
            store=store,
            platform_order_id="P-1",
            customer=buyer,
            status=OrderStatus.SHIPPED,
            platform_status="shipped",
            total_amount=Decimal("9.90"),
            paid_amount=Decimal("9.90"),
            placed_at=clock.now(),
            platform_updated_at=clock.now(),
            synced_at=clock.now(),
        )
        await Complaint.filter(id=overdue.id).update(order_id=order.id)
        start = clock.now() + timedelta(hours=6)  # the next shift: +26h to +46h
        window = HandoverWindow(start=start, end=start + timedelta(hours=20))

        items = await _registry(app).handover_items(window)
        graded = {item.ref: item.severity for item in items if item.module == "complaints"}
        # Not the one due after the shift (P-3), nor the closed one (P-4).
        assert graded == {overdue.ref: Severity.OVERDUE, this_shift.ref: Severity.DUE_THIS_SHIFT}
        item = next(i for i in items if i.ref == overdue.ref)
        assert item.summary == "Complaint about order P-1"
        assert item.href == f"/complaints/{overdue.id}"
        assert item.todo and item.if_fails
        assert item.customer_id == buyer.id  # the buyer, read by core through the order
        assert next(i for i in items if i.ref == this_shift.ref).customer_id is None

    await on_plugin_desk(scenario)


async def test_resolve_case_names_title_link_and_state(on_plugin_desk) -> None:
    async def scenario(client: httpx.AsyncClient, app: Starlette) -> None:
        complaint = await _open(await create_store(), "P-77")
        ref = CaseRef.parse(str(complaint.ref))
        assert str(ref) == f"complaints:complaint:{complaint.id}"
        found = await _registry(app).resolve_case(ref)
        assert found is not None
        assert (found.text, found.href, found.status) == (
            "Complaint about order P-77",
            f"/complaints/{complaint.id}",
            "open",
        )
        gone = CaseRef("complaints", "complaint", complaint.id + 100)
        assert await _registry(app).resolve_case(gone) is None

    await on_plugin_desk(scenario)


def test_the_plugin_imports_nothing_from_refunds_or_returns() -> None:
    for source in PLUGIN.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert not name.startswith(("aftersales.refunds", "aftersales.returns")), (
                    f"{source.name} imports {name}"
                )
