"""The desk's files are its own: data dir 0700; database, secret key and photos 0600.

Every check runs under a permissive umask, so it is the desk's explicit modes
(or its own umask) that keep others out, not the test runner's.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def loose_umask(mask: int = 0o000) -> Iterator[None]:
    """Run with a umask that would leave new files readable (and writable) by everyone."""
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def desk_env(data_dir: Path) -> dict[str, str]:
    """A fresh one-machine desk: SQLite and the secret key under the data dir."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"REDIS_URL", "DATABASE_URL"} and not k.startswith("AFTERSALES_")
    }
    env["AFTERSALES_DATA_DIR"] = str(data_dir)
    return env


def test_init_makes_the_data_dir_database_and_secret_key_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "var"
    done = subprocess.run(
        [sys.executable, "-m", "aftersales", "init", "--admin-user", "boss",
         "--admin-password", "boss-pass-123"],
        env=desk_env(data_dir), capture_output=True, text=True, timeout=120,
        umask=0,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert mode(data_dir) == 0o700
    assert mode(data_dir / "secret_key") == 0o600
    assert mode(data_dir / "aftersales.sqlite3") == 0o600
    leftovers = [p for p in data_dir.iterdir() if mode(p) & 0o077]
    assert not leftovers, [(p.name, oct(mode(p))) for p in leftovers]


def test_init_tightens_a_data_dir_made_by_hand(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    os.chmod(data_dir, 0o755)
    done = subprocess.run(
        [sys.executable, "-m", "aftersales", "init", "--admin-user", "boss",
         "--admin-password", "boss-pass-123"],
        env=desk_env(data_dir), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert mode(data_dir) == 0o700
    assert "readable by this user only" in done.stdout


SQLITE_WHILE_OPEN = """
import asyncio, json, os
from aftersales.core import db
from aftersales.core.config import Settings
from aftersales.core.models import Store

async def main():
    settings = Settings.from_env()
    await db.migrate(settings)
    await db.close_db()
    await db.init_db(settings)
    await Store.create(name="x", platform="demo")
    found = {p.name: oct(os.stat(p).st_mode & 0o777) for p in settings.data_dir.iterdir()}
    print(json.dumps(found))
    await db.close_db()

os.umask(0)
asyncio.run(main())
"""


def test_the_database_and_its_wal_and_shm_files_are_private_while_open(tmp_path: Path) -> None:
    """The web app and worker open the database without ``init``: db.init_db guards it."""
    data_dir = tmp_path / "var"
    done = subprocess.run(
        [sys.executable, "-c", SQLITE_WHILE_OPEN],
        env=desk_env(data_dir), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    modes = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"aftersales.sqlite3", "aftersales.sqlite3-wal", "aftersales.sqlite3-shm"} <= set(
        modes
    ), modes
    assert all(m == "0o600" for m in modes.values()), modes
    assert mode(data_dir) == 0o700


@pytest.mark.parametrize("existing", [0o644, 0o666])
def test_a_readable_database_from_an_older_desk_is_tightened(tmp_path: Path, existing: int) -> None:
    from aftersales.core import db

    path = tmp_path / "old.sqlite3"
    path.write_bytes(b"")
    os.chmod(path, existing)
    db.private_sqlite_file(f"sqlite://{path}")
    assert mode(path) == 0o600


def test_settings_create_the_data_dir_private_under_any_umask(tmp_path: Path) -> None:
    from aftersales.core.config import Settings

    data_dir = tmp_path / "a" / "b"
    with loose_umask():
        Settings.from_env({"AFTERSALES_DATA_DIR": str(data_dir)})
    assert mode(data_dir) == 0o700
    assert mode(data_dir / "secret_key") == 0o600
