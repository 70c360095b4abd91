"""Connecting stores and importing order exports, through the real database and CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from aftersales.core.config import Settings
from aftersales.core.errors import InvalidInput
from aftersales.core.models import AuditEvent, Role, Store
from aftersales.core.security import decrypt_credentials
from aftersales.orders.models import Order
from aftersales.orders.service import StoreChanges, create_store, import_orders, update_store
from aftersales.returns import service as returns_service
from tests.core.test_cli import run
from tests.factories import create_user

HEADER = (
    "订单编号,买家会员名,订单状态,买家实际支付金额,订单创建时间,订单付款时间,宝贝标题,收货地址\n"
)
ROWS = [
    '="3001",王小雨,交易成功,129.00,2026-11-01 10:00:00,2026-11-01 10:05:00,保温杯,浙江省杭州市\n',
    '="3002",李先生,等待买家付款,不是金额,2026-11-02 10:00:00,,雨靴,上海市\n',
    '="3003",张同学,卖家已发货，等待买家确认,59.90,'
    "2026-11-03 10:00:00,2026-11-03 10:01:00,草帽,北京市\n",
]


@pytest.mark.usefixtures("clean_db")
async def test_a_csv_with_a_broken_row_imports_the_good_rows(settings: Settings) -> None:
    store = await create_store(name="导入店", platform="csv", secret_key=settings.secret_key)
    data = (HEADER + "".join(ROWS)).encode("gbk")
    result = await import_orders(store, data)
    assert [bad.line for bad in result.errors] == [3]
    orders = {o.platform_order_id: o for o in await Order.filter(store=store)}
    assert set(orders) == {"3001", "3003"}
    assert str(orders["3003"].paid_amount) == "59.90"
    assert await AuditEvent.exists(action="store.csv_imported", subject_id=str(store.id))


@pytest.mark.usefixtures("clean_db")
async def test_store_credentials_are_encrypted_at_rest(settings: Settings) -> None:
    store = await create_store(
        name="Woo",
        platform="woocommerce",
        base_url="https://shop.example",
        credentials={"key": "ck_live_abc", "secret": "cs_live_secret"},
        secret_key=settings.secret_key,
    )
    row = await Store.get(id=store.id)
    assert "cs_live_secret" not in row.credentials_encrypted
    assert decrypt_credentials(settings.secret_key, row.credentials_encrypted)["secret"] == (
        "cs_live_secret"
    )
    with pytest.raises(InvalidInput, match="secret"):
        await create_store(
            name="Half", platform="woocommerce", base_url="https://x", credentials={"key": "k"},
            secret_key=settings.secret_key,
        )  # fmt: skip


@pytest.mark.usefixtures("clean_db")
async def test_cli_store_add_and_import_csv(settings: Settings, tmp_path: Path) -> None:
    added = run(settings, "store", "add", "--platform", "csv", "--name", "导出店")
    assert added.returncode == 0, added.stderr
    store_id = added.stdout.split()[-1]
    export = tmp_path / "orders.csv"
    export.write_bytes((HEADER + "".join(ROWS)).encode("gbk"))
    imported = run(settings, "import-csv", "--store", store_id, str(export))
    assert imported.returncode == 0, imported.stderr
    assert "Imported 2 orders" in imported.stdout
    assert "line 3:" in imported.stderr
    assert await Order.filter(store_id=int(store_id)).count() == 2
    listed = run(settings, "store", "list")
    assert "导出店" in listed.stdout


@pytest.mark.usefixtures("clean_db")
async def test_saving_the_store_form_keeps_a_returns_policy_saved_meanwhile(
    settings: Settings,
) -> None:
    owner = await create_user(role=Role.OWNER)
    store = await create_store(name="Demo", platform="demo", secret_key=settings.secret_key)
    form = await Store.get(id=store.id)  # the owner opens the store page
    # Meanwhile a supervisor saves the store's returns policy on the returns page.
    policy_page = await Store.get(id=store.id)
    await returns_service.save_policy(
        policy_page, {"no_reason_days": 10}, return_address="仓库", actor=owner
    )
    changes = StoreChanges(
        name="Demo 2", base_url=None, enabled=False, sync_interval_minutes=30, credentials={}
    )
    await update_store(form, changes, secret_key=settings.secret_key, actor=owner)
    saved = await Store.get(id=store.id)
    assert (saved.name, saved.enabled) == ("Demo 2", False)
    assert saved.settings == {
        "returns_policy": {"no_reason_days": 10},
        "return_address": "仓库",
        "sync_interval_minutes": 30,
    }
    assert form.settings == saved.settings
