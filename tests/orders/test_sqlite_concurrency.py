"""The embedded default under load: a worker sync, a CLI sync and the web at once on SQLite.

The desk process (web + in-process worker) and ``aftersales sync`` in a second
process share one SQLite file. Write transactions begin immediately with a
busy timeout, so each waits its turn instead of failing with ``database is
locked``; the CLI takes the worker's per-stream lease, so it waits for the
worker's orders sync instead of running beside it.

This test always runs on its own SQLite file, whatever ``DATABASE_URL`` the
suite was given (in its own Tortoise context, so the suite's stays untouched).
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from arq import create_pool
from tortoise import Tortoise
from tortoise.migrations.api import migrate as run_migrations

from aftersales.core import db
from aftersales.core.config import Settings
from aftersales.core.models import ApiToken, AuditEvent, Role
from aftersales.core.redis import RedisHandle
from aftersales.core.web import create_app
from aftersales.orders import jobs
from aftersales.orders.lease import lock_key
from aftersales.orders.models import Order
from aftersales.orders.service import create_store
from tests.conftest import SECRET, csrf_from, sign_in
from tests.databases import in_own_tortoise_context
from tests.factories import create_user
from tests.fakes.serve import serve
from tests.fakes.woocommerce import FakeWooShop, make_app

ORDERS = 5000
WRITES = 200


async def test_worker_cli_and_web_share_sqlite_without_locking_or_losing_anything(
    tmp_path: Path, data_dir: Path, redis_handle: RedisHandle
) -> None:
    env = {
        "AFTERSALES_DATA_DIR": str(data_dir),  # the suite's embedded Redis, shared with the CLI
        "AFTERSALES_SECRET_KEY": SECRET,
        "DATABASE_URL": f"sqlite://{tmp_path / 'desk.sqlite3'}",
    }
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    settings = Settings.from_env(env)
    await in_own_tortoise_context(lambda: _everything_at_once(settings, env, redis_handle))


async def _everything_at_once(settings: Settings, env: dict[str, str], handle: RedisHandle) -> None:
    config = db.tortoise_config(settings)
    await run_migrations(config=config)
    await Tortoise.close_connections()
    await Tortoise.init(config=config)
    shop = FakeWooShop()
    shop.seed(ORDERS, start=datetime.now(UTC) - timedelta(days=30), refund_every=25)
    redis = await create_pool(handle.settings)
    app = create_app(settings, manage_db=False, redis=handle)
    try:
        with serve(make_app(shop)) as url:
            store = await create_store(
                name="Woo",
                platform="woocommerce",
                base_url=url,
                credentials={"key": shop.key, "secret": shop.secret},
                settings={"history_days": 3650},
                secret_key=settings.secret_key,
            )
            admin = await create_user(username="boss", role=Role.ADMIN)
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(
                    transport=transport, base_url="http://desk.test"
                ) as web:
                    await sign_in(web, "boss")
                    csrf = await csrf_from(web, f"/users/{admin.id}")
                    worker = asyncio.create_task(
                        jobs.sync_store_stream(
                            {"redis": redis, "settings": settings}, store.id, "orders"
                        )
                    )
                    while not await redis.exists(lock_key(store.id, "orders")):
                        assert not worker.done(), worker.result()
                        await asyncio.sleep(0.01)
                    cli = await asyncio.create_subprocess_exec(
                        sys.executable,
                        *("-m", "aftersales", "sync", "--store", str(store.id)),
                        env={**os.environ, **env},
                        stdout=asyncio.subprocess.PIPE,
                        stderr=asyncio.subprocess.PIPE,
                    )
                    answers = await _write_from_the_web(web, admin.id, csrf)
                    out, err = await asyncio.wait_for(cli.communicate(), timeout=120)
                    synced = await worker
    finally:
        await redis.aclose()
        await Tortoise.close_connections()

    output = out.decode() + err.decode()
    assert "database is locked" not in output
    assert cli.returncode == 0, output
    assert "another sync is running; waiting for it" in output
    assert re.search(rf"store {store.id} orders: \d+ records", output), output
    assert synced.startswith(f"{ORDERS} records"), synced
    assert all(answer.status_code == 303 for answer in answers)
    await Tortoise.init(config=config)
    try:
        assert await Order.filter(store_id=store.id).count() == ORDERS
        names = set(await ApiToken.filter(user_id=admin.id).values_list("name", flat=True))
        assert names == {f"till {n}" for n in range(WRITES)}
        assert await AuditEvent.filter(action="token.created").count() == WRITES
    finally:
        await Tortoise.close_connections()


async def _write_from_the_web(
    web: httpx.AsyncClient, user_id: int, csrf: str
) -> list[httpx.Response]:
    """``WRITES`` token issues through the desk's pages, a few at a time, while the syncs run."""
    gate = asyncio.Semaphore(4)

    async def issue(n: int) -> httpx.Response:
        async with gate:
            return await web.post(
                f"/users/{user_id}/tokens", data={"csrf_token": csrf, "name": f"till {n}"}
            )

    return await asyncio.gather(*(issue(n) for n in range(WRITES)))
