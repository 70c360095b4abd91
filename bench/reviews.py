"""Classify endpoint latency against a trivial authenticated endpoint, same desk, same run.

Starts ``aftersales serve`` on a fresh data dir (SQLite, or ``DATABASE_URL``),
issues a bearer token from the CLI, warms both endpoints, then alternates
``POST /api/v1/reviews/classify`` with a review text (Chinese and English,
short and long, drawn from a fixed list) and ``GET /api/v1/me`` (the cheapest
call that still authenticates, reads the user and renders JSON) over one
keep-alive HTTP connection, so both pay the same HTTP, auth and JSON costs
and the difference is the classifier. Prints the median and p99 of each and
their ratio. Target: classify median under 20 ms.

    .venv/bin/python -m bench.reviews [--calls 2000]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]

TEXTS = [
    "质量太差了，穿了一次就起球，再也不买了",
    "物流很快，包装完好，宝贝和描述一致，好评！",
    "客服态度很差，问什么都不回，发错了颜色也不给换",
    "一般般吧，价格有点贵，做工还行",
    "好评返现才给的好评，其实衣服有色差，尺码偏小一码",
    "东西不错就是快递太慢了，等了一个星期",
    "收到的时候盒子都压坏了，里面的杯子碎了一个",
    "假货！和专柜买的完全不一样，气味刺鼻",
    "Great quality, fits perfectly, fast shipping. Would buy again.",
    "Arrived broken and the seller never answered my messages. Waste of money.",
    "It's okay for the price, nothing special.",
    "Wrong size sent, and the color looks nothing like the photos.",
    "还可以，没有想象中那么好，但也不差，下次看看别家的。" * 3,
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def desk(directory: Path) -> Iterator[tuple[str, str]]:
    """A desk served on loopback with one admin and a bearer token: (url, token)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AFTERSALES_")}
    env.pop("REDIS_URL", None)  # its own embedded Redis: nothing else shares it
    env["AFTERSALES_DATA_DIR"] = str(directory)
    cli = [sys.executable, "-m", "aftersales"]

    def run(*args: str) -> str:
        done = subprocess.run(
            [*cli, *args], env=env, capture_output=True, text=True, check=True, cwd=ROOT
        )
        return done.stdout.strip()

    run("migrate")
    run("user", "add", "bench", "--role", "admin", "--password", "bench-pass-2026")
    token = run("token", "create", "bench").split()[-1]
    port = free_port()
    log = directory / "desk.log"
    process = subprocess.Popen(
        [*cli, "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit("the desk stopped:\n" + log.read_text())
            try:
                httpx.get(url + "/healthz", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit("the desk did not start:\n" + log.read_text()) from None
                time.sleep(0.2)
        yield url, token
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls to each endpoint")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, desk(Path(tmp)) as (url, token):
        headers = {"Authorization": f"Bearer {token}"}
        classify_ms: list[float] = []
        me_ms: list[float] = []
        with httpx.Client(base_url=url, headers=headers, timeout=10) as client:

            def classify(text: str) -> float:
                started = time.perf_counter()
                response = client.post("/api/v1/reviews/classify", json={"text": text})
                elapsed = time.perf_counter() - started
                response.raise_for_status()
                assert "negative" in response.json(), response.text
                return elapsed

            def me() -> float:
                started = time.perf_counter()
                response = client.get("/api/v1/me")
                elapsed = time.perf_counter() - started
                response.raise_for_status()
                return elapsed

            for text in TEXTS * 5:  # warm-up: the model loads, connections settle
                classify(text)
                me()
            for n in range(args.calls):
                classify_ms.append(classify(TEXTS[n % len(TEXTS)]) * 1000)
                me_ms.append(me() * 1000)
        database = "PostgreSQL" if os.environ.get("DATABASE_URL") else "SQLite"
        c50, c99 = statistics.median(classify_ms), percentile(classify_ms, 0.99)
        m50, m99 = statistics.median(me_ms), percentile(me_ms, 0.99)
        print(
            f"database: {database}; {args.calls} calls each, one keep-alive connection\n"
            f"classify  median {c50:6.2f} ms  p99 {c99:6.2f} ms  (target: median < 20 ms: "
            f"{'yes' if c50 < 20 else 'NO'})\n"
            f"/me       median {m50:6.2f} ms  p99 {m99:6.2f} ms\n"
            f"ratio classify/me: median {c50 / m50:.2f}, p99 {c99 / m99:.2f}"
        )


if __name__ == "__main__":
    main()
