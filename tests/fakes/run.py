"""Run a fake platform in its own process (benchmarks keep it off the client's GIL).

``python -m tests.fakes.run woocommerce --orders 100000 --port 8765`` prints
``ready http://127.0.0.1:8765`` once it serves.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime, timedelta

import uvicorn

START = datetime(2026, 6, 1, tzinfo=UTC)


def build(platform: str, orders: int) -> tuple[object, dict[str, str]]:
    if platform == "woocommerce":
        from tests.fakes.woocommerce import FakeWooShop, make_app

        woo = FakeWooShop()
        woo.seed(orders, start=START, refund_every=0)
        return make_app(woo), {"key": woo.key, "secret": woo.secret}
    if platform == "shopify":
        from tests.fakes.shopify import FakeShopifyShop
        from tests.fakes.shopify import make_app as make_shopify

        # A fast-restoring bucket: the benchmark measures us, not Shopify's 2 calls/s.
        shop = FakeShopifyShop(restore_rate=1000.0)
        # Inside the 60 days Shopify shows without read_all_orders.
        now = datetime.now(UTC)
        shop.seed(orders, start=now - timedelta(days=50), spacing=timedelta(days=45) / orders)
        return make_shopify(shop), {"shop": "bench", "token": shop.token}
    if platform == "douyin":
        from tests.fakes.douyin import FakeDouyinShop, douyin_app

        # Inside the 90 days order.searchList answers, on the real clock.
        douyin = FakeDouyinShop(now=lambda: datetime.now(UTC))
        douyin.seed(orders, start=datetime.now(UTC) - timedelta(days=60), days=50)
        credentials = {
            "app_key": douyin.app_key,
            "app_secret": douyin.app_secret,
            "shop_id": douyin.shop_id,  # a self-use app: every process makes its own token
        }
        return douyin_app(douyin), credentials
    if platform == "pinduoduo":
        from tests.fakes.pinduoduo import FakePddShop, pinduoduo_app

        # On the real clock: the connector walks 30-minute windows up to now.
        pdd = FakePddShop(now=lambda: datetime.now(UTC))
        pdd.seed(orders, start=datetime.now(UTC) - timedelta(days=12), days=10)
        credentials = {
            "client_id": pdd.client_id,
            "client_secret": pdd.client_secret,
            "access_token": pdd.access_token,
            "refresh_token": pdd.refresh_token,
        }
        return pinduoduo_app(pdd), credentials
    raise SystemExit(f"unknown fake platform {platform}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("platform", choices=["woocommerce", "shopify", "douyin", "pinduoduo"])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app, credentials = build(args.platform, args.orders)
    config = uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning")
    server = uvicorn.Server(config)

    async def run() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event
            await asyncio.sleep(0.05)
        print(f"ready http://127.0.0.1:{args.port} {credentials}", flush=True)
        await task

    asyncio.run(run())


if __name__ == "__main__":
    main()
