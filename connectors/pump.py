"""Page through a platform in a child process, so parsing and committing use two cores.

A large sync is CPU-bound in one process: decoding and validating a page of
orders (about 20 ms for 250 Shopify orders) takes turns with building and
sending the rows to the database. Run in a child, the connector fetches and
parses while the parent commits; the parent only unpickles finished pages
(about 4 ms each).

The child is built from a ``ConnectorSpec`` (the connector's entry-point name
and its arguments) and starts from a cursor, which connectors already resume
from. It sends each page as it is parsed; a pipe holds less than one page, so
the child never runs more than a page ahead of what the parent has taken.
An error in the child comes back as the same exception where it can be
pickled, else as ``PlatformError`` with its text. If the parent dies, the
child's next send fails and it exits; if the child dies, the parent raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import pickle
import resource
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any

from connectors.base import Page, PlatformError

GROUP = "aftersales.connectors"
# The largest peak RSS a page reader reported on finishing (KB), for the benchmark.
peak_child_rss_kb = 0


@dataclass(frozen=True)
class ConnectorSpec:
    """How to build a connector again in another process."""

    platform: str
    base_url: str | None
    credentials: dict[str, str]
    options: dict[str, Any] = field(default_factory=dict)

    def build(self) -> Any:
        from connectors import registry  # the registry imports every connector module

        manifest = registry.find(self.platform)
        if manifest is None or not manifest.syncs:
            raise PlatformError(f"No connector is installed for platform {self.platform!r}.")
        return manifest.connect(
            base_url=self.base_url, credentials=self.credentials, **self.options
        )


def _portable(exc: BaseException) -> BaseException:
    """The exception itself if it survives pickling, else its text as a PlatformError."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return PlatformError(f"{type(exc).__name__}: {exc}")
    return exc


def _run_child(
    spec: ConnectorSpec, stream: str, cursor: str | None, since: datetime, out: Connection
) -> None:
    async def pump() -> None:
        connector = spec.build()
        try:
            async for page in getattr(connector, stream)(cursor, since=since):
                out.send_bytes(pickle.dumps(("page", page), protocol=pickle.HIGHEST_PROTOCOL))
        except Exception as exc:
            out.send_bytes(pickle.dumps(("error", _portable(exc))))
            return
        finally:
            await connector.aclose()
        out.send_bytes(pickle.dumps(("end", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)))

    with contextlib.suppress(BrokenPipeError, KeyboardInterrupt):  # the parent went away
        asyncio.run(pump())
    out.close()


async def child_pages(
    spec: ConnectorSpec, stream: str, cursor: str | None, *, since: datetime
) -> AsyncIterator[Page[Any]]:
    """The connector's pages for ``stream`` from ``cursor``, paged in a child process."""
    context = multiprocessing.get_context("spawn")  # no copy of the parent's event loop
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_run_child,
        args=(spec, stream, cursor, since, sender),
        name=f"aftersales-pages-{spec.platform}-{stream}",
        daemon=True,
    )
    child.start()
    sender.close()
    try:
        while True:
            try:
                raw = await asyncio.to_thread(receiver.recv_bytes)
            except EOFError:
                raise PlatformError(
                    f"the {spec.platform} page reader stopped (exit code {child.exitcode})"
                ) from None
            kind, value = pickle.loads(raw)
            if kind == "page":
                yield value
            elif kind == "error":
                raise value
            else:
                global peak_child_rss_kb
                peak_child_rss_kb = max(peak_child_rss_kb, int(value))
                return
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        await asyncio.to_thread(child.join, 5)
