"""The embedded default under load: a worker sync, a CLI sync and the web at once on SQLite.

The desk process (web + in-process worker) and ``aftersales sync`` in a second
process share one SQLite file. Write transactions begin immediately with a
busy timeout, so each waits its turn instead of failing with ``database is
locked``; the CLI takes the worker's per-stream lease, so it waits for the
worker's orders sync instead of running beside it, and syncs the other
streams meanwhile.

This test always runs on SQLite, whatever ``DATABASE_URL`` the suite was
given: the desk side runs in a process of its own (``sqlite_load.py``) on its
own file, so it is not skipped in the PostgreSQL pass.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path

import pytest

from tests.orders.sqlite_load import ORDERS, WRITES

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.usefixtures("redis")  # the suite's Redis is up (and empty) for both processes
async def test_worker_cli_and_web_share_sqlite_without_locking_or_losing_anything(
    tmp_path: Path, data_dir: Path
) -> None:
    desk = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "tests.orders.sqlite_load", str(data_dir), str(tmp_path / "desk.sqlite3")),
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(desk.communicate(), timeout=180)
    assert desk.returncode == 0, err.decode()[-4000:]
    seen = json.loads(out.decode().splitlines()[-1])

    output = seen["cli_output"]
    assert "database is locked" not in output + err.decode()
    assert seen["cli_returncode"] == 0, output
    assert "another sync is running; waiting for it" in output
    assert re.search(rf"store {seen['store']} orders: \d+ records", output), output
    assert seen["worker"].startswith(f"{ORDERS} records"), seen["worker"]
    assert seen["orders"] == ORDERS
    assert seen["web_statuses"] == [303]
    assert seen["web_writes"] >= WRITES
    assert seen["tokens"] == seen["tokens_issued"]
    assert seen["token_audits"] == len(seen["tokens_issued"])
    assert seen["deactivations"] == seen["activations"] == seen["toggles"] > 0
    assert seen["deputy_active"]
