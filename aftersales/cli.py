"""``aftersales <noun> <verb>``: set up, run and administer the desk.

A command that creates something prints its id or token as the last word of
its output; failures exit 1 with one line on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from aftersales.core.config import Settings
from aftersales.core.errors import AfterSalesError, ConfigError
from aftersales.core.models import Role

DEMO_USER = "demo"
DEMO_PASSWORD = "demo-desk-2026"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aftersales", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    init = sub.add_parser("init", help="create the data dir, migrate, create the admin")
    init.add_argument("--admin-user")
    init.add_argument("--admin-password")

    for name, help_text in (("serve", "run the web app"), ("demo", "load demo data and serve")):
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument("--host", default="127.0.0.1")
        cmd.add_argument("--port", type=int, default=8000)

    sub.add_parser("worker", help="run a standalone background worker (needs REDIS_URL)")
    sub.add_parser("migrate", help="bring the database schema up to date")

    user = sub.add_parser("user", help="manage desk users").add_subparsers(
        dest="verb", required=True
    )
    add = user.add_parser("add", help="create a user")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--password", help="prompted for when absent")
    add.add_argument("--display-name", default="")

    token = sub.add_parser("token", help="manage API tokens").add_subparsers(
        dest="verb", required=True
    )
    create = token.add_parser("create", help="issue a bearer token for a user")
    create.add_argument("name", help="the user the token acts as")
    create.add_argument("--label", default="cli", help="what the token is for")
    return parser


def _password(given: str | None, prompt: str) -> str:
    if given:
        return given
    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\n")
        if not line:
            raise AfterSalesError("no password given (use --password or type it on stdin)")
        return line
    first = getpass.getpass(prompt)
    if first != getpass.getpass("Again: "):
        raise AfterSalesError("the two passwords differ")
    return first


async def _with_db(settings: Settings, work: Callable[[], Awaitable[Any]]) -> Any:
    from aftersales.core import db

    await db.init_db(settings)
    try:
        return await work()
    finally:
        await db.close_db()


async def cmd_migrate(settings: Settings, args: argparse.Namespace) -> None:
    from aftersales.core import db

    await db.migrate(settings)
    await db.close_db()
    print("Database schema is up to date.")


async def cmd_init(settings: Settings, args: argparse.Namespace) -> None:
    from aftersales.core import service
    from aftersales.core.models import User

    await cmd_migrate(settings, args)

    async def create_admin() -> None:
        if args.admin_user is None and await User.filter(role=Role.ADMIN).exists():
            print("An admin already exists; nothing more to do.")
            return
        username = args.admin_user or (await asyncio.to_thread(input, "Admin username: ")).strip()
        password = _password(args.admin_password, "Admin password: ")
        user = await service.create_user(username, password, role=Role.ADMIN)
        print(f"Created admin user {user.username} with id {user.id}")

    await _with_db(settings, create_admin)


async def cmd_user_add(settings: Settings, args: argparse.Namespace) -> None:
    from aftersales.core import service

    password = _password(args.password, f"Password for {args.name}: ")

    async def create() -> None:
        user = await service.create_user(
            args.name, password, role=Role(args.role), display_name=args.display_name
        )
        print(f"Created {user.role.value} {user.username} with id {user.id}")

    await _with_db(settings, create)


async def cmd_token_create(settings: Settings, args: argparse.Namespace) -> None:
    from aftersales.core import service

    async def create() -> None:
        user = await service.get_user(args.name)
        token = await service.create_token(user, args.label)
        print(f"Token for {user.username} (shown once): {token}")

    await _with_db(settings, create)


async def _serve(settings: Settings, host: str, port: int, banner: str | None = None) -> None:
    import signal

    import uvicorn

    from aftersales.core.web import create_app

    class DeskServer(uvicorn.Server):
        """Ctrl-C and SIGTERM stop the server and worker cleanly.

        uvicorn re-raises the captured signal after serving, which would
        interrupt our own shutdown (worker, Redis) with a traceback.
        """

        @contextlib.contextmanager
        def capture_signals(self):  # type: ignore[override]
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self.handle_exit, sig, None)
            try:
                yield
            finally:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(sig)

    app = create_app(settings, run_worker=settings.embedded_redis)
    config = uvicorn.Config(
        app, host=host, port=port, proxy_headers=True, log_level="info", lifespan="on"
    )
    server = DeskServer(config)
    if banner:
        print(banner, flush=True)
    await server.serve()


async def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    from aftersales.core import db

    # Zero setup on one machine: the schema follows the code at start.
    await db.migrate(settings)
    await db.close_db()
    await _serve(settings, args.host, args.port)


async def cmd_demo(settings: Settings, args: argparse.Namespace) -> None:
    from aftersales import demo
    from aftersales.core import db

    await db.migrate(settings)
    await db.close_db()
    summary = await _with_db(settings, lambda: demo.load(DEMO_USER, DEMO_PASSWORD))
    print(summary, flush=True)
    url = f"http://{args.host}:{args.port}/"
    await _serve(
        settings,
        args.host,
        args.port,
        banner=f"Open {url} and sign in as {DEMO_USER} / {DEMO_PASSWORD}",
    )


async def cmd_worker(settings: Settings, args: argparse.Namespace) -> None:
    from aftersales.core.jobs import make_worker
    from aftersales.core.redis import open_redis

    if settings.embedded_redis:
        raise ConfigError(
            "aftersales worker needs REDIS_URL; on one machine `aftersales serve` "
            "runs the worker itself"
        )
    worker = make_worker(settings, open_redis(settings).settings)
    # SIGTERM/SIGINT cancel the run; jobs cut short keep their outbox lease and
    # are handed out again, so stopping here loses nothing.
    with contextlib.suppress(asyncio.CancelledError):
        await worker.async_run()
    await asyncio.gather(*worker.tasks.values(), return_exceptions=True)
    worker.tasks.clear()
    await worker.close()


COMMANDS: dict[
    tuple[str, str | None], Callable[[Settings, argparse.Namespace], Awaitable[None]]
] = {
    ("init", None): cmd_init,
    ("migrate", None): cmd_migrate,
    ("serve", None): cmd_serve,
    ("demo", None): cmd_demo,
    ("worker", None): cmd_worker,
    ("user", "add"): cmd_user_add,
    ("token", "create"): cmd_token_create,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Long-running commands log their work; one-shot commands print only results.
    long_running = args.command in {"serve", "worker", "demo"}
    logging.basicConfig(
        level=logging.INFO if long_running else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    logging.getLogger("tortoise").setLevel(logging.WARNING)
    handler = COMMANDS[(args.command, getattr(args, "verb", None))]
    try:
        settings = Settings.from_env()
        asyncio.run(handler(settings, args))
    except AfterSalesError as exc:
        print(f"aftersales: error: {exc.message}", file=sys.stderr)
        return 1
    except (OSError, ConnectionError) as exc:
        print(f"aftersales: error: cannot reach a service: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
