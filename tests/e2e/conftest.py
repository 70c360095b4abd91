"""A real desk process and a real headless Chromium (Debian's, never a downloaded one)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, async_playwright

from tests.databases import fresh_database_url

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"


@dataclass
class RunningDesk:
    url: str
    process: subprocess.Popen
    log: Path
    env: dict[str, str]

    def cli(self, *args: str) -> str:
        """Run ``aftersales ARGS`` against this desk's data, as an operator would."""
        done = subprocess.run(
            [sys.executable, "-m", "aftersales", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def demo_database(tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database_url(tmp_path) as url:
        yield url


@pytest.fixture
def demo_desk(tmp_path: Path, demo_database: str) -> Iterator[RunningDesk]:
    """``aftersales demo`` exactly as the README runs it, on a fresh data dir."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERSALES_")}
    env.update({"AFTERSALES_DATA_DIR": str(tmp_path / "var"), "DATABASE_URL": demo_database})
    log = tmp_path / "desk.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "aftersales", "demo", "--port", str(port)],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, log.read_text()
            try:
                httpx.get(url + "/healthz", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise AssertionError("the desk did not start:\n" + log.read_text()) from None
                time.sleep(0.3)
        yield RunningDesk(url=url, process=process, log=log, env=env)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    assert os.path.exists(CHROMIUM), (  # noqa: ASYNC240 - once per test, before any I/O
        "Debian's chromium is missing: run scripts/test, which installs it"
    )
    SCREENSHOTS.mkdir(exist_ok=True)
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        yield chromium
        await chromium.close()
