"""The registry: an entry-point plugin is as much at home as a built-in module."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib

import httpx
import pytest
from arq.connections import ArqRedis

from aftersales.core.config import Settings
from aftersales.core.errors import ConfigError
from aftersales.core.jobs import make_worker, stop_worker, worker_kwargs
from aftersales.core.models import Role
from aftersales.core.modules import BUILTIN, all_modules, enabled_modules
from aftersales.core.redis import RedisHandle
from aftersales.core.web import create_app
from tests.conftest import sign_in
from tests.factories import create_user
from tests.plugins import SITE
from tests.plugins.sample_module import CRON_KEY


@pytest.fixture
def plugin_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(SITE))
    importlib.invalidate_caches()


@pytest.fixture
def plugin_client(plugin_installed: None, client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The suite's desk client, built after the plugin is on the path (argument order)."""
    return client


def test_builtin_modules_are_all_registered() -> None:
    names = [m.name for m in all_modules()]
    assert names[: len(BUILTIN)] == ["core", "orders", "refunds", "returns", "reviews", "handover"]


def test_without_the_plugin_installed_it_is_absent() -> None:
    assert "sample" not in [m.name for m in all_modules()]


@pytest.mark.usefixtures("plugin_installed")
def test_an_entry_point_module_is_found() -> None:
    assert "sample" in [m.name for m in all_modules()]


async def test_plugin_nav_shows_to_its_roles_only(plugin_client: httpx.AsyncClient) -> None:
    await create_user(username="boss", role=Role.SUPERVISOR)
    await create_user(username="agent1", role=Role.AGENT)
    await sign_in(plugin_client, "boss")
    home = await plugin_client.get("/")
    assert 'href="/sample/"' in home.text
    assert (await plugin_client.get("/sample/")).text == "sample secrets for managers"

    plugin_client.cookies.clear()
    await sign_in(plugin_client, "agent1")
    home = await plugin_client.get("/")
    assert 'href="/sample/"' not in home.text
    assert 'href="/orders/"' in home.text
    assert (await plugin_client.get("/sample/")).status_code == 403


@pytest.mark.usefixtures("plugin_installed")
async def test_plugin_cron_job_is_scheduled_and_runs(
    clean_db: Settings, redis_handle: RedisHandle, redis: ArqRedis
) -> None:
    kwargs = worker_kwargs(clean_db, redis_handle.settings, manage_db=False)
    assert "cron:mark_cron" in [job.name for job in kwargs["cron_jobs"]]
    worker = make_worker(clean_db, redis_handle.settings, manage_db=False, handle_signals=False)
    task = asyncio.create_task(worker.async_run())
    try:
        for _ in range(100):
            if await redis.get(CRON_KEY):
                break
            await asyncio.sleep(0.1)
    finally:
        await stop_worker(worker, task)
    assert await redis.get(CRON_KEY) == b"yes"


@pytest.mark.usefixtures("plugin_installed")
def test_a_module_can_be_switched_off_but_core_cannot(settings: Settings) -> None:
    off = dataclasses.replace(settings, disabled_modules=frozenset({"sample", "core"}))
    names = [m.name for m in enabled_modules(off)]
    assert "sample" not in names
    assert "core" in names


def test_switching_off_an_unknown_module_is_a_config_error(settings: Settings) -> None:
    off = dataclasses.replace(settings, disabled_modules=frozenset({"nonsense"}))
    with pytest.raises(ConfigError, match="nonsense"):
        enabled_modules(off)


async def test_a_crashing_page_gets_a_friendly_500_without_a_traceback(
    plugin_installed: None, clean_db: Settings, redis_handle: RedisHandle, redis: ArqRedis
) -> None:
    app = create_app(clean_db, manage_db=False, redis=redis_handle)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as c:
            await create_user(username="boss", role=Role.OWNER)
            await sign_in(c, "boss")
            response = await c.get("/sample/boom")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.text
    assert "Back to the desk" in response.text
    assert "RuntimeError" not in response.text and "Traceback" not in response.text
