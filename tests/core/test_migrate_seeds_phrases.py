"""``aftersales migrate``, run on every deploy, brings an upgraded desk its quick replies."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path


def _migrate(data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}} | {
        "AFTERSALES_DATA_DIR": str(data_dir),
        "AFTERSALES_SECRET_KEY": "k" * 40,
    }
    return subprocess.run(
        [sys.executable, "-m", "aftersales", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_migrate_adds_the_team_replies_once(tmp_path: Path) -> None:
    first = _migrate(tmp_path)
    assert first.returncode == 0, first.stderr
    assert "team quick replies" in first.stdout
    databases = list(tmp_path.glob("*.sqlite3")) + list(tmp_path.glob("*.db"))
    assert databases, list(tmp_path.iterdir())
    with sqlite3.connect(databases[0]) as db:
        (count,) = db.execute(
            "SELECT COUNT(*) FROM phrases WHERE category = 'refuse' AND owner_id IS NULL"
        ).fetchone()
    assert count >= 5  # the refusals the refund and return pages used to hard-code

    again = _migrate(tmp_path)
    assert again.returncode == 0, again.stderr
    assert "team quick replies" not in again.stdout
    with sqlite3.connect(databases[0]) as db:
        (total,) = db.execute("SELECT COUNT(*) FROM phrases").fetchone()
        (seeded,) = db.execute("SELECT COUNT(DISTINCT seed_key) FROM phrases").fetchone()
    assert total == seeded
