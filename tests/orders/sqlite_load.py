"""The desk side of ``test_sqlite_concurrency``, run as its own process on its own SQLite file.

A process of its own, because Tortoise binds the model classes to one
database per process: this load always runs on SQLite, even in the suite's
PostgreSQL pass. It plays the desk (web + in-process worker), starts
``aftersales sync`` beside it, and prints what it saw as JSON for the test
to judge.

    python -m tests.orders.sqlite_load DATA_DIR DB_FILE
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from arq import create_pool
from tortoise import Tortoise
from tortoise.migrations.api import migrate as run_migrations

from aftersales.core import db
from aftersales.core.config import Settings
from aftersales.core.models import ApiToken, AuditEvent, Role, User
from aftersales.core.redis import open_redis
from aftersales.core.web import create_app
from aftersales.orders import jobs
from aftersales.orders.lease import lock_key
from aftersales.orders.models import Order
from aftersales.orders.service import create_store
from tests.conftest import SECRET, csrf_from, sign_in
from tests.factories import create_user
from tests.fakes.serve import serve
from tests.fakes.woocommerce import FakeWooShop, make_app

ORDERS = 5000
WRITES = 200


async def write_from_the_web(
    web: httpx.AsyncClient, admin_id: int, deputy_id: int, csrf: str, cli: asyncio.Task[Any]
) -> tuple[list[str], int, set[int]]:
    """Web writes until the CLI sync is over and at least ``WRITES`` were made.

    Tokens issued a few at a time (a write first), and a second admin
    deactivated and activated again and again (a read of the admins, then a
    write: what a deferred SQLite transaction cannot upgrade under another
    process's lock). Returns the token names, the pairs of toggles, the statuses.
    """
    names: list[str] = []
    statuses: set[int] = set()
    pairs = 0

    def more() -> bool:
        return not cli.done() or len(names) + 2 * pairs < WRITES

    async def issue_tokens(lane: int) -> None:
        n = 0
        while more():
            name = f"till {lane}-{n}"
            answer = await web.post(
                f"/users/{admin_id}/tokens", data={"csrf_token": csrf, "name": name}
            )
            statuses.add(answer.status_code)
            names.append(name)
            n += 1

    async def toggle_deputy() -> None:
        nonlocal pairs
        while more():
            for verb in ("deactivate", "activate"):
                answer = await web.post(f"/users/{deputy_id}/{verb}", data={"csrf_token": csrf})
                statuses.add(answer.status_code)
            pairs += 1

    await asyncio.gather(toggle_deputy(), *(issue_tokens(lane) for lane in range(3)))
    return names, pairs, statuses


async def main(data_dir: str, db_file: str) -> dict[str, Any]:
    env = {
        "AFTERSALES_DATA_DIR": data_dir,  # the suite's embedded Redis, shared with the CLI
        "AFTERSALES_SECRET_KEY": SECRET,
        "DATABASE_URL": f"sqlite://{db_file}",
    }
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    settings = Settings.from_env(env)
    config = db.tortoise_config(settings)
    await run_migrations(config=config)
    await Tortoise.close_connections()
    await db.init_db(settings)
    shop = FakeWooShop()
    shop.seed(ORDERS, start=datetime.now(UTC) - timedelta(days=30), refund_every=25)
    handle = open_redis(settings)  # not closed: the suite's embedded server lives on
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
            deputy = await create_user(username="deputy", role=Role.ADMIN)
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                desk = "http://desk.test"
                async with httpx.AsyncClient(transport=transport, base_url=desk) as web:
                    await sign_in(web, "boss")
                    csrf = await csrf_from(web, f"/users/{admin.id}")
                    ctx = {"redis": redis, "settings": settings}
                    worker = asyncio.create_task(jobs.sync_store_stream(ctx, store.id, "orders"))
                    while not await redis.exists(lock_key(store.id, "orders")):
                        if worker.done():
                            return {"worker": worker.result(), "error": "the worker never leased"}
                        await asyncio.sleep(0.01)
                    cli = await asyncio.create_subprocess_exec(
                        sys.executable,
                        *("-m", "aftersales", "sync", "--store", str(store.id)),
                        env={**os.environ, **env},
                        stdout=asyncio.subprocess.PIPE,
                        stderr=asyncio.subprocess.PIPE,
                    )
                    cli_done = asyncio.create_task(asyncio.wait_for(cli.communicate(), 120))
                    names, pairs, statuses = await write_from_the_web(
                        web, admin.id, deputy.id, csrf, cli_done
                    )
                    out, err = await cli_done
                    synced = await worker
            toggles = AuditEvent.filter(subject_type="user", subject_id=str(deputy.id))
            return {
                "store": store.id,
                "worker": synced,
                "cli_returncode": cli.returncode,
                "cli_output": out.decode() + err.decode(),
                "web_statuses": sorted(statuses),
                "web_writes": len(names) + 2 * pairs,
                "orders": await Order.filter(store_id=store.id).count(),
                "tokens_issued": sorted(names),
                "tokens": sorted(
                    await ApiToken.filter(user_id=admin.id).values_list("name", flat=True)
                ),
                "token_audits": await AuditEvent.filter(action="token.created").count(),
                "toggles": pairs,
                "deactivations": await toggles.filter(action="user.deactivated").count(),
                "activations": await toggles.filter(action="user.activated").count(),
                "deputy_active": (await User.get(id=deputy.id)).is_active,
            }
    finally:
        await redis.aclose()
        await db.close_db()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2]))))
