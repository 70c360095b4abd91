"""Every registry hook, called the way core calls it, through a plugin that uses them all.

``hooked`` (tests/plugins/hooked_module.py) is installed from a dist-info
entry point, as ``pip install`` would; ``BROKEN`` makes one of its hooks raise.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from starlette.routing import Mount, Route
from tortoise.transactions import in_transaction

from aftersales.core import modules
from aftersales.core.cases import CaseRef
from aftersales.core.config import Settings
from aftersales.core.errors import ConfigError
from aftersales.core.jobs import worker_kwargs
from aftersales.core.models import Role, Store
from aftersales.core.modules import BuyerFlag, HandoverWindow, Module, Registry
from aftersales.core.redis import RedisHandle
from aftersales.refunds import intake as refunds_intake
from aftersales.refunds import module as refunds_module
from aftersales.returns import intake as returns_intake
from aftersales.returns import module as returns_module
from tests.conftest import sign_in
from tests.factories import create_store, create_user
from tests.plugins import HOOKS_SITE, hooked_module

WINDOW = HandoverWindow(
    start=datetime(2026, 11, 23, 8, tzinfo=UTC), end=datetime(2026, 11, 23, 20, tzinfo=UTC)
)


@pytest.fixture
def hooked(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The plugin on the path; the process's registry is put back afterwards."""
    monkeypatch.syspath_prepend(str(HOOKS_SITE))
    importlib.invalidate_caches()
    monkeypatch.setattr(modules, "_current", None)
    hooked_module.CALLS.clear()
    hooked_module.BROKEN.clear()
    yield
    hooked_module.BROKEN.clear()


@pytest.fixture
def registry(hooked: None, settings: Settings) -> Registry:
    return Registry.build(settings)


@pytest.fixture
def hooked_client(hooked: None, client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The suite's desk client, built after the plugin is on the path (argument order)."""
    return client


def test_build_reads_the_entry_points_once_and_keeps_the_enabled(registry: Registry) -> None:
    assert "hooked" in registry
    assert registry.module("hooked").label == "Hooked"
    names = [m.name for m in registry.modules]
    assert names.index("hooked") > names.index("returns")  # its ``after``


def test_switched_off_the_plugin_is_not_in_the_registry(hooked: None, settings: Settings) -> None:
    import dataclasses

    off = dataclasses.replace(settings, disabled_modules=frozenset({"hooked"}))
    assert "hooked" not in Registry.build(off)


# -- ordering ---------------------------------------------------------------------------------


def test_returns_intake_runs_after_refunds_intake_whatever_the_listed_order() -> None:
    registry = Registry([returns_module, refunds_module])
    assert registry.record_handlers("after_sales") == [refunds_intake.intake, returns_intake.intake]
    assert registry.record_handlers("reviews") == []


def test_the_plugins_record_handler_comes_after_the_modules_it_names(registry: Registry) -> None:
    handlers = registry.record_handlers("after_sales")
    assert handlers == [refunds_intake.intake, returns_intake.intake, hooked_module.handle_records]


def test_an_order_cycle_or_an_unknown_name_is_a_config_error() -> None:
    a = Module(name="a", label="A", after=("b",))
    b = Module(name="b", label="B", after=("a",))
    with pytest.raises(ConfigError, match="cycle"):
        Registry([a, b])
    with pytest.raises(ConfigError, match="nowhere"):
        Registry([Module(name="c", label="C", after=("nowhere",))])
    # Installed but switched off: nothing to wait for.
    assert [m.name for m in Registry([a], installed=[a, b]).modules] == ["a"]


def test_a_module_runs_after_what_it_names_and_otherwise_keeps_its_place() -> None:
    first = Module(name="first", label="1", after=("last",))
    middle = Module(name="middle", label="2")
    last = Module(name="last", label="3")
    assert [m.name for m in Registry([first, middle, last]).modules] == ["middle", "last", "first"]


# -- what is mounted and scheduled ------------------------------------------------------------


async def test_routes_api_routes_and_webhooks_are_mounted(
    hooked_client: httpx.AsyncClient, registry: Registry
) -> None:
    assert any(isinstance(r, Mount) and r.path == "/hooked" for r in registry.routes())
    assert [r.path for r in registry.api_routes() if isinstance(r, Route)].count(
        "/hooked/ping"
    ) == 1
    assert [r.path for r in registry.webhooks()][-1] == "/hooked/ping"  # after the built-ins
    await create_user(username="agent1", role=Role.AGENT)
    # A webhook needs no login; a page does.
    assert (await hooked_client.post("/hooks/hooked/ping")).text == "hooked webhook"
    await sign_in(hooked_client, "agent1")
    assert (await hooked_client.get("/hooked/")).text == "hooked page"


def test_jobs_cron_and_outbox_handlers_reach_the_worker(
    registry: Registry, settings: Settings, redis_handle: RedisHandle
) -> None:
    assert hooked_module.hooked_job in registry.jobs()
    assert "cron:hooked_cron" in [job.name for job in registry.cron()]
    assert registry.outbox_handlers()["hooked.deliver"] is hooked_module.deliver
    kwargs = worker_kwargs(settings, redis_handle.settings, registry=registry, manage_db=False)
    assert "hooked_job" in [fn.__name__ for fn in kwargs["functions"]]  # in a unit of work
    assert "cron:hooked_cron" in [job.name for job in kwargs["cron_jobs"]]


def test_template_dirs_and_tortoise_apps_come_from_the_manifests(registry: Registry) -> None:
    assert registry.template_dirs() == []  # no module here ships templates
    apps = registry.tortoise_apps()
    assert {"core", "orders", "refunds", "returns"} <= set(apps)
    assert "hooked" not in apps  # no models
    assert apps["refunds"]["models"] == ["aftersales.refunds.models"]
    assert registry.labels()["refund_status"]["refunded"]  # each module's words, by kind


# -- what pages show --------------------------------------------------------------------------


async def test_nav_and_the_reports_menu_follow_roles(
    hooked_client: httpx.AsyncClient, registry: Registry
) -> None:
    agent = await create_user(username="agent1", role=Role.AGENT)
    boss = await create_user(username="boss", role=Role.SUPERVISOR)
    assert registry.nav(None) == []
    agent_nav = [e.path for e in registry.nav(agent)]
    assert "/hooked/" in agent_nav and modules.REPORTS_PATH not in agent_nav
    assert registry.reports(agent) == []
    assert modules.REPORTS_PATH in [e.path for e in registry.nav(boss)]
    readable = {m.name: [r.path for r in links] for m, links in registry.reports(boss)}
    assert readable == {
        "refunds": ["/refunds/report"],
        "returns": ["/returns/report"],
        "reviews": ["/reviews/report"],
        "hooked": ["/hooked/report"],
    }

    await sign_in(hooked_client, "boss")
    home = await hooked_client.get("/")
    assert f'href="{modules.REPORTS_PATH}"' in home.text
    page = await hooked_client.get(modules.REPORTS_PATH)
    assert page.status_code == 200
    assert 'href="/refunds/report"' in page.text and 'href="/hooked/report"' in page.text

    hooked_client.cookies.clear()
    await sign_in(hooked_client, "agent1")
    assert f'href="{modules.REPORTS_PATH}"' not in (await hooked_client.get("/")).text
    assert (await hooked_client.get(modules.REPORTS_PATH)).status_code == 403


async def test_order_links_follow_roles(clean_db: Settings, registry: Registry) -> None:
    agent = await create_user(username="agent1", role=Role.AGENT)
    boss = await create_user(username="boss", role=Role.SUPERVISOR)
    agent_links = [link.label for link in registry.order_links(agent)]
    assert "Start a refund" in agent_links and "Hook this order" not in agent_links
    assert "Hook this order" in [link.label for link in registry.order_links(boss)]


async def test_dashboard_tiles_give_each_module_its_section(
    clean_db: Settings, registry: Registry
) -> None:
    user = await create_user(username="agent1", role=Role.AGENT)
    sections = {module.name: tiles for module, tiles in await registry.dashboard_tiles(user)}
    assert [t.label for t in sections["hooked"]] == ["Hooked tile"]
    assert "orders" in sections and "refunds" in sections


async def test_a_broken_tiles_hook_leaves_the_home_page_up_with_the_other_tiles(
    hooked_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    await create_user(username="agent1", role=Role.AGENT)
    await sign_in(hooked_client, "agent1")
    assert "Hooked tile" in (await hooked_client.get("/")).text

    hooked_module.BROKEN.add("dashboard_tiles")
    with caplog.at_level(logging.ERROR, logger="aftersales.modules"):
        home = await hooked_client.get("/")
    assert home.status_code == 200
    assert "Hooked tile" not in home.text
    assert 'href="/orders/?check=late_shipment"' in home.text  # the orders module's tile
    assert 'href="/refunds/?due=soon"' in home.text
    assert "module=hooked hook=dashboard_tiles" in caplog.text


async def test_handover_items_gather_every_module_and_skip_a_broken_one(
    clean_db: Settings, registry: Registry
) -> None:
    items = await registry.handover_items(WINDOW)
    assert [i.summary for i in items if i.module == "hooked"] == ["Hooked thing"]
    assert ("handover_items", WINDOW) in hooked_module.CALLS
    hooked_module.BROKEN.add("handover_items")
    assert [i for i in await registry.handover_items(WINDOW) if i.module == "hooked"] == []


async def test_order_events_reach_the_order_page(clean_db: Settings, registry: Registry) -> None:
    events = await registry.order_events(42)
    assert [(e.label, e.detail) for e in events] == [("Hooked event", "order 42")]
    hooked_module.BROKEN.add("order_events")
    assert await registry.order_events(42) == []


async def test_order_badges_mark_the_listed_orders_in_one_call(
    clean_db: Settings, registry: Registry
) -> None:
    badges = await registry.order_badges([42, 43])
    assert [(b.label, b.href) for b in badges[42]] == [("Hooked badge", "/hooked/42")]
    assert [(b.label, b.href) for b in badges[43]] == [("Hooked badge", "/hooked/43")]
    assert [c for c in hooked_module.CALLS if c[0] == "order_badges"] == [
        ("order_badges", [42, 43])
    ]  # once for the page, not once a row
    assert await registry.order_badges([]) == {}  # an empty page asks nobody
    hooked_module.BROKEN.add("order_badges")
    assert await registry.order_badges([42]) == {}  # refunds and returns have none open


async def test_buyer_flags_mark_the_buyers_of_a_page_in_one_call(
    clean_db: Settings, registry: Registry
) -> None:
    flags = await registry.buyer_flags([7, 8])
    assert [(f.key, f.label, f.params) for f in flags[7]] == [("hooked", "Hooked flag", {"n": 7})]
    assert [c for c in hooked_module.CALLS if c[0] == "buyer_flags"] == [("buyer_flags", [7, 8])]
    assert await registry.buyer_flags([]) == {}  # a page with no buyers asks nobody
    hooked_module.BROKEN.add("buyer_flags")
    assert await registry.buyer_flags([7]) == {}  # refunds: no such buyer, no requests


async def test_buyer_flags_for_some_keys_skip_the_modules_that_cannot_answer_them(
    clean_db: Settings, registry: Registry
) -> None:
    """The handover asks only who is VIP or angry: a module declaring other keys is not asked."""
    asked: list[str] = []

    def flags_of(name: str, key: str) -> Module:
        async def buyer_flags(customer_ids: Any) -> dict[int, list[BuyerFlag]]:
            asked.append(name)
            return {cid: [BuyerFlag(key, key), BuyerFlag("other", "other")] for cid in customer_ids}

        return Module(
            name=name, label=name, buyer_flags=buyer_flags, buyer_flag_keys=frozenset({key})
        )

    two = Registry([flags_of("tags", "vip"), flags_of("history", "frequent_refunds")])
    flags = await two.buyer_flags([7], keys={"vip", "angry"})
    assert [f.key for f in flags[7]] == ["vip"] and asked == ["tags"]
    assert await two.buyer_flags([7], keys={"angry"}) == {} and asked == ["tags"]  # nobody
    everything = await two.buyer_flags([7])  # no keys: every module, every flag
    assert [f.key for f in everything[7]] == ["vip", "other", "frequent_refunds", "other"]
    # A module that declares no keys is always asked; only the flags asked for come back.
    assert await registry.buyer_flags([7], keys={"vip"}) == {}
    assert [c for c in hooked_module.CALLS if c[0] == "buyer_flags"] == [("buyer_flags", [7])]


async def test_store_links_follow_roles(clean_db: Settings, registry: Registry) -> None:
    agent = await create_user(username="agent1", role=Role.AGENT)
    owner = await create_user(username="owner1", role=Role.OWNER)
    assert registry.store_links(agent) == []
    paths = [link.path for link in registry.store_links(owner)]
    assert "/refunds/rules/{store_id}" in paths and "/returns/policy/{store_id}" in paths
    assert "/hooked/settings/{store_id}" in paths


async def test_resolve_case_asks_the_module_that_owns_the_reference(registry: Registry) -> None:
    ref = CaseRef("hooked", "thing", 5)
    resolved = await registry.resolve_case(ref)
    assert (resolved.title, resolved.href, resolved.state) == ("Hooked case 5", "/hooked/5", "open")
    assert await registry.resolve_case(CaseRef("nowhere", "x", 1)) is None
    assert await registry.resolve_case(CaseRef("orders", "x", 1)) is None
    hooked_module.BROKEN.add("resolve_case")
    assert await registry.resolve_case(ref) is None


# -- start-up and domain events ---------------------------------------------------------------


async def test_on_startup_runs_when_the_desk_starts(hooked_client: httpx.AsyncClient) -> None:
    assert [call for call in hooked_module.CALLS if call[0] == "on_startup"] == [
        ("on_startup", None)
    ]


async def test_a_broken_startup_hook_is_logged_and_the_rest_start(
    registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    hooked_module.BROKEN.add("on_startup")
    with caplog.at_level(logging.ERROR, logger="aftersales.modules"):
        await registry.on_startup()
    assert "module=hooked hook=on_startup" in caplog.text


async def test_emit_reaches_each_subscriber(clean_db: Settings, registry: Registry) -> None:
    await registry.emit("refund_settled", refund_id=12345, source="desk")
    assert ("refund_settled", {"refund_id": 12345, "source": "desk"}) in hooked_module.CALLS


async def test_a_failing_subscriber_is_rolled_back_alone(
    clean_db: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async def writes_then_fails(**payload: object) -> None:
        await Store.create(name="ghost", platform="demo")
        raise RuntimeError("a subscriber bug")

    async def writes(**payload: object) -> None:
        await Store.create(name="follower", platform="demo")

    registry = Registry(
        [
            Module(name="bad", label="Bad", subscribers={"refund_settled": writes_then_fails}),
            Module(name="good", label="Good", subscribers={"refund_settled": writes}),
        ]
    )
    with caplog.at_level(logging.ERROR, logger="aftersales.modules"):
        async with in_transaction():
            await Store.create(name="cause", platform="demo")
            await registry.emit("refund_settled", refund_id=1, source="desk")
    names = set(await Store.all().values_list("name", flat=True))
    assert names == {"cause", "follower"}
    assert "module=bad event=refund_settled" in caplog.text


def test_events_are_declared_before_anyone_subscribes_or_emits() -> None:
    async def handler(**payload: object) -> None: ...

    with pytest.raises(ConfigError, match="nothing emits"):
        Registry([Module(name="x", label="X", subscribers={"refund_setled": handler})])
    plugin = Module(name="y", label="Y", emits=("y_happened",))
    listener = Module(name="z", label="Z", subscribers={"y_happened": handler})
    assert "z" in Registry([plugin, listener])


async def test_emitting_an_undeclared_event_is_a_programmer_error(registry: Registry) -> None:
    with pytest.raises(AssertionError):
        await registry.emit("refund_setled", refund_id=1)


# -- per-store settings -----------------------------------------------------------------------


async def test_store_setting_is_the_stored_value_else_the_declared_default(
    clean_db: Settings, registry: Registry
) -> None:
    store = await create_store()
    assert registry.store_setting(store, "hooked", "hooked_level") == 3
    store.settings = {"hooked_level": 5}
    assert registry.store_setting(store, "hooked", "hooked_level") == 5
    assert registry.store_setting(store, "returns", "return_address") == ""
    assert registry.store_setting(store, "orders", "sync_interval_minutes") == 5
    with pytest.raises(KeyError):
        registry.store_setting(store, "hooked", "not_declared")


async def test_update_store_settings_writes_only_the_modules_own_keys(
    clean_db: Settings, registry: Registry
) -> None:
    store = await create_store()
    stale = await Store.get(id=store.id)
    # Meanwhile the store page saved the sync interval.
    await Store.filter(id=store.id).update(settings={"sync_interval_minutes": 30})
    async with in_transaction() as conn:
        await registry.update_store_settings(stale, "hooked", {"hooked_level": 4}, conn)
        with pytest.raises(KeyError):
            await registry.update_store_settings(stale, "hooked", {"history_days": 1}, conn)
    fresh = await Store.get(id=store.id)
    assert fresh.settings == {"sync_interval_minutes": 30, "hooked_level": 4}
    assert stale.settings == fresh.settings


def test_two_modules_cannot_own_one_store_setting() -> None:
    with pytest.raises(ConfigError, match="return_address"):
        Registry(
            [
                refunds_module,
                returns_module,
                Module(name="x", label="X", store_settings={"return_address": 1}),
            ]
        )


def test_the_process_registry_is_the_one_installed(hooked: None, settings: Settings) -> None:
    built = Registry.build(settings)
    assert modules.install(built) is built and modules.current() is built
