"""The ``aftersales`` command as a script would use it: last word is the id or token."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import asyncpg
import httpx
import pytest

from aftersales.core.config import Settings
from aftersales.core.models import AuditEvent, Role, User
from tests.conftest import sign_in
from tests.databases import fresh_database_url
from tests.factories import create_user


def run(settings: Settings, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {
        **{k: v for k, v in os.environ.items() if k != "REDIS_URL"},
        "AFTERSALES_DATA_DIR": str(settings.data_dir),
        "AFTERSALES_SECRET_KEY": settings.secret_key,
        "DATABASE_URL": settings.database_url,
    }
    return subprocess.run(
        [sys.executable, "-m", "aftersales", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.usefixtures("clean_db")
async def test_init_user_add_and_token_create(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    init = run(settings, "init", "--admin-user", "boss", "--admin-password", "boss-pass-123")
    assert init.returncode == 0, init.stderr
    admin = await User.get(username="boss")
    assert admin.role is Role.ADMIN
    assert init.stdout.split()[-1] == str(admin.id)
    assert "boss-pass-123" not in init.stdout + init.stderr

    again = run(settings, "init")
    assert again.returncode == 0
    assert "already" in again.stdout

    added = run(settings, "user", "add", "night1", "--role", "night_agent", stdin="night-pass-1\n")
    assert added.returncode == 0, added.stderr
    night = await User.get(username="night1")
    assert added.stdout.split()[-1] == str(night.id)
    assert night.role is Role.NIGHT_AGENT

    token = run(settings, "token", "create", "night1").stdout.split()[-1]
    assert token.startswith("as_")
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["username"] == "night1"


@pytest.mark.usefixtures("clean_db")
def test_failures_exit_1_with_one_line(settings: Settings) -> None:
    first = run(settings, "user", "add", "dup", "--role", "agent", "--password", "password-1")
    assert first.returncode == 0
    second = run(settings, "user", "add", "dup", "--role", "agent", "--password", "password-1")
    assert second.returncode == 1
    assert second.stderr.strip().count("\n") == 0
    assert "taken" in second.stderr
    missing = run(settings, "token", "create", "nobody")
    assert missing.returncode == 1
    assert "nobody" in missing.stderr
    short = run(settings, "user", "add", "weak", "--role", "agent", "--password", "short")
    assert short.returncode == 1 and "10 characters" in short.stderr


def test_worker_without_redis_url_says_how_to_run(settings: Settings) -> None:
    result = run(settings, "worker")
    assert result.returncode == 1
    assert "REDIS_URL" in result.stderr and "Traceback" not in result.stderr


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr


@pytest.mark.usefixtures("clean_db")
async def test_user_list_deactivate_activate_and_password(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    await create_user(username="boss", role=Role.ADMIN)
    night = await create_user(username="night1", role=Role.NIGHT_AGENT)
    token = run(settings, "token", "create", "night1").stdout.split()[-1]
    bearer = {"Authorization": f"Bearer {token}"}
    await sign_in(client, "night1")
    assert (await client.get("/")).status_code == 200

    listed = run(settings, "user", "list")
    assert listed.returncode == 0, listed.stderr
    rows = {line.split("\t")[1]: line.split("\t") for line in listed.stdout.splitlines()}
    assert rows["night1"][:4] == [str(night.id), "night1", "night_agent", "active"]
    assert rows["boss"][2:4] == ["admin", "active"]

    off = run(settings, "user", "deactivate", "night1")
    assert off.returncode == 0, off.stderr
    assert off.stdout.split()[-1] == str(night.id)
    assert (await client.get("/")).status_code == 303  # the open session ended
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 401
    assert (await sign_in(client, "night1")).status_code == 401
    assert "\tdeactivated" in run(settings, "user", "list").stdout

    on = run(settings, "user", "activate", "night1")
    assert on.returncode == 0 and on.stdout.split()[-1] == str(night.id)
    assert (await sign_in(client, "night1")).status_code == 303
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 200

    short = run(settings, "user", "password", "night1", stdin="too-short\n")
    assert "10 characters" in one_line_error(short)
    changed = run(settings, "user", "password", "night1", stdin="night-shift-2027\n")
    assert changed.returncode == 0, changed.stderr
    assert changed.stdout.split()[-1] == str(night.id)
    assert "night-shift-2027" not in changed.stdout + changed.stderr
    assert (await client.get("/")).status_code == 303  # signed in with the old password
    assert (await sign_in(client, "night1")).status_code == 401
    assert (await sign_in(client, "night1", "night-shift-2027")).status_code == 303
    actions = set(
        await AuditEvent.filter(subject_id=str(night.id)).values_list("action", flat=True)
    )
    assert {"user.deactivated", "user.activated", "user.password_reset"} <= actions


@pytest.mark.usefixtures("clean_db")
async def test_the_last_active_admin_stays_and_unknown_names_fail(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    await create_user(username="boss", role=Role.ADMIN)
    last = run(settings, "user", "deactivate", "boss")
    assert "last active admin" in one_line_error(last)
    assert (await User.get(username="boss")).is_active
    await create_user(username="boss2", role=Role.ADMIN)
    assert run(settings, "user", "deactivate", "boss").returncode == 0
    assert "last active admin" in one_line_error(run(settings, "user", "deactivate", "boss2"))
    assert (await User.get(username="boss2")).is_active

    for verb in ("deactivate", "activate", "password"):
        assert "nobody" in one_line_error(run(settings, "user", verb, "nobody", stdin="x" * 12))
    assert "nobody" in one_line_error(run(settings, "token", "list", "nobody"))


@pytest.mark.usefixtures("clean_db")
async def test_token_list_and_revoke(settings: Settings, client: httpx.AsyncClient) -> None:
    await create_user(username="night1", role=Role.NIGHT_AGENT)
    first = run(settings, "token", "create", "night1", "--label", "erp").stdout.split()[-1]
    second = run(settings, "token", "create", "night1", "--label", "bi").stdout.split()[-1]
    listed = run(settings, "token", "list", "night1")
    assert listed.returncode == 0, listed.stderr
    assert first not in listed.stdout and second not in listed.stdout  # never shown again
    by_label = {line.split("\t")[2]: line.split("\t") for line in listed.stdout.splitlines()}
    assert set(by_label) == {"erp", "bi"} and by_label["erp"][-1] == "active"
    erp_id = by_label["erp"][0]

    revoked = run(settings, "token", "revoke", erp_id)
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.split()[-1] == erp_id
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {first}"})
    assert me.status_code == 401
    still = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {second}"})
    assert still.status_code == 200
    after = {
        line.split("\t")[2]: line
        for line in run(settings, "token", "list", "night1").stdout.splitlines()
    }
    assert "revoked" in after["erp"] and after["bi"].endswith("active")

    assert "already revoked" in one_line_error(run(settings, "token", "revoke", erp_id))
    assert "9999" in one_line_error(run(settings, "token", "revoke", "9999"))
    assert await AuditEvent.filter(action="token.revoked").count() == 1


async def create_table(url: str, sql: str) -> None:
    if url.startswith("sqlite"):
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite://"))) as db:
            db.execute(sql)
            db.commit()
        return
    conn = await asyncpg.connect("postgresql://" + url.split("://", 1)[1])
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def test_a_migration_the_database_refuses_exits_1_instead_of_hanging(
    tmp_path: Path,
) -> None:
    # A table in the way of a migration (a hand-made table, a half-restored backup).
    async with fresh_database_url(tmp_path) as url:
        blocked = Settings.from_env(
            {"AFTERSALES_DATA_DIR": str(tmp_path / "var"), "DATABASE_URL": url}
        )
        await create_table(url, "CREATE TABLE shifts (id INTEGER)")
        done = run(blocked, "init", "--admin-user", "boss", "--admin-password", "boss-pass-123")
        assert done.returncode == 1
        assert done.stderr.strip().splitlines() == [
            'aftersales: error: the database refused: relation "shifts" already exists'
            if url.startswith("postgres")
            else 'aftersales: error: the database refused: table "shifts" already exists'
        ]
