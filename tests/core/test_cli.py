"""The ``aftersales`` command as a script would use it: last word is the id or token."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from aftersales.core.config import Settings
from aftersales.core.models import Role, User


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
