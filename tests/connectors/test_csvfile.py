"""CSV order import: the files are built here, byte for byte, the way shops send them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.base import BuyerRecord, OrderItemRecord, OrderRecord, OrderStatus
from connectors.csvfile import EXPECTED, BadRow, read_orders

TB_HEADER = (
    "订单编号,买家会员名,买家支付宝账号,买家应付货款,总金额,买家实际支付金额,订单状态,"
    "收货人姓名,收货地址,联系手机,订单创建时间,订单付款时间,宝贝标题,宝贝总数量,发货时间,物流单号"
)
# Two exports' worth of tricks: a formula-wrapped order number, a tab and an apostrophe
# in front of numbers, a full-width yuan sign with a thousands comma, an address typed
# over two lines with a comma in it, and times Excel rewrote with slashes.
TB_ROWS = [
    '="3301234567890123",tb_buyer01,buyer@example.com,"1,258.00","￥1,258.00",1248.00,'
    '交易成功,张三,"浙江省 杭州市 西湖区, 文一路 100号\r\n3幢 501室",\'13800138000,'
    "2026-11-01 12:34:56,2026-11-01 12:35:10,纯棉短袖T恤 男款 白色 L；加绒连帽卫衣,2,"
    '2026-11-02 09:00:00,="SF1234567890"',
    "\t3301234567890124,小李,,89.00,89.00,89.00,买家已付款，等待卖家发货,李四,"
    "上海市 浦东新区 世纪大道 1号,13900139000,2026-11-02 08:00:00,2026-11-02 08:01:00,"
    "儿童防水雨靴,1,,",
    "'3301234567890125,王五,,45.00,45.00,0.00,等待买家付款,王五,北京市 朝阳区 建国路 8号,,"
    "2026-11-03 23:59:59,,手工编织草帽,,,",
    "3301234567890126,buyer4,,129.00,129.00,129.00,交易关闭,,,,2026/11/4 8:05,2026/11/4 8:06,"
    "乳胶枕头 护颈,1,,",
    "3301234567890127,buyer5,,79.00,,79.00,卖家已发货，等待买家确认,,,,2026-11-05 10:00:00,"
    "2026-11-05 10:00:30,不锈钢保温杯 500ml,3,2026-11-05 18:00:00,YT0001",
]


def crlf(*lines: str) -> str:
    return "".join(line + "\r\n" for line in lines)


def china(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone(timedelta(hours=8))).astimezone(UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


EXPECTED_TB = [
    OrderRecord(
        platform_order_id="3301234567890123",
        status=OrderStatus.COMPLETED,
        platform_status="交易成功",
        buyer=BuyerRecord(
            platform_buyer_id="tb_buyer01",
            nick="tb_buyer01",
            name="张三",
            phone="13800138000",
            address="浙江省 杭州市 西湖区, 文一路 100号\n3幢 501室",
        ),
        total_amount=Decimal("1258.00"),
        paid_amount=Decimal("1248.00"),
        created_at=utc(2026, 11, 1, 4, 34, 56),
        paid_at=utc(2026, 11, 1, 4, 35, 10),
        shipped_at=utc(2026, 11, 2, 1),
        updated_at=utc(2026, 11, 2, 1),
        items=[
            OrderItemRecord(
                platform_item_id="3301234567890123",
                title="纯棉短袖T恤 男款 白色 L；加绒连帽卫衣",
                quantity=2,
                unit_price=Decimal("629.00"),
                amount=Decimal("1258.00"),
            )
        ],
    ),
    OrderRecord(
        platform_order_id="3301234567890124",
        status=OrderStatus.AWAITING_SHIPMENT,
        platform_status="买家已付款，等待卖家发货",
        buyer=BuyerRecord(
            platform_buyer_id="小李",
            nick="小李",
            name="李四",
            phone="13900139000",
            address="上海市 浦东新区 世纪大道 1号",
        ),
        total_amount=Decimal("89.00"),
        paid_amount=Decimal("89.00"),
        created_at=china(2026, 11, 2, 8),
        paid_at=china(2026, 11, 2, 8, 1),
        updated_at=china(2026, 11, 2, 8, 1),
        items=[
            OrderItemRecord(
                platform_item_id="3301234567890124",
                title="儿童防水雨靴",
                quantity=1,
                unit_price=Decimal("89.00"),
                amount=Decimal("89.00"),
            )
        ],
    ),
    OrderRecord(
        platform_order_id="3301234567890125",
        status=OrderStatus.AWAITING_PAYMENT,
        platform_status="等待买家付款",
        buyer=BuyerRecord(
            platform_buyer_id="王五", nick="王五", name="王五", address="北京市 朝阳区 建国路 8号"
        ),
        total_amount=Decimal("45.00"),
        paid_amount=Decimal("0.00"),
        created_at=utc(2026, 11, 3, 15, 59, 59),
        updated_at=utc(2026, 11, 3, 15, 59, 59),
        items=[
            OrderItemRecord(
                platform_item_id="3301234567890125",
                title="手工编织草帽",
                quantity=1,
                unit_price=Decimal("45.00"),
                amount=Decimal("45.00"),
            )
        ],
    ),
    OrderRecord(
        platform_order_id="3301234567890126",
        status=OrderStatus.CLOSED,
        platform_status="交易关闭",
        buyer=BuyerRecord(platform_buyer_id="buyer4", nick="buyer4"),
        total_amount=Decimal("129.00"),
        paid_amount=Decimal("129.00"),
        created_at=china(2026, 11, 4, 8, 5),
        paid_at=china(2026, 11, 4, 8, 6),
        updated_at=china(2026, 11, 4, 8, 6),
        items=[
            OrderItemRecord(
                platform_item_id="3301234567890126",
                title="乳胶枕头 护颈",
                quantity=1,
                unit_price=Decimal("129.00"),
                amount=Decimal("129.00"),
            )
        ],
    ),
    OrderRecord(
        platform_order_id="3301234567890127",
        status=OrderStatus.SHIPPED,
        platform_status="卖家已发货，等待买家确认",
        buyer=BuyerRecord(platform_buyer_id="buyer5", nick="buyer5"),
        # No 总金额: the paid amount stands for the order and its one item.
        total_amount=Decimal("79.00"),
        paid_amount=Decimal("79.00"),
        created_at=china(2026, 11, 5, 10),
        paid_at=china(2026, 11, 5, 10, 0, 30),
        shipped_at=china(2026, 11, 5, 18),
        updated_at=china(2026, 11, 5, 18),
        items=[
            OrderItemRecord(
                platform_item_id="3301234567890127",
                title="不锈钢保温杯 500ml",
                quantity=3,
                unit_price=Decimal("26.33"),
                amount=Decimal("79.00"),
            )
        ],
    ),
]


def test_taobao_gbk_export_with_crlf_quotes_and_excel_guards() -> None:
    result = read_orders(crlf(TB_HEADER, *TB_ROWS).encode("gbk"))
    assert result.format == "taobao"
    assert result.errors == []
    assert result.records == EXPECTED_TB
    assert all(r.currency == "CNY" for r in result.records)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_taobao_export_in_utf8_with_and_without_bom_and_gb18030(encoding: str) -> None:
    result = read_orders(crlf(TB_HEADER, *TB_ROWS).encode(encoding))
    assert result.errors == []
    assert result.records == EXPECTED_TB


def test_characters_beyond_gbk_come_through_gb18030() -> None:
    # 𠮷 is outside GBK; a GB18030 export still carries it.
    row = "3301234567890199,𠮷野家,,10.00,10.00,10.00,交易成功,,,,2026-11-01 00:00:00,,便当,1,,"
    result = read_orders(crlf(TB_HEADER, row).encode("gb18030"))
    assert result.errors == []
    assert result.records[0].buyer.platform_buyer_id == "𠮷野家"
    assert result.records[0].created_at == utc(2026, 10, 31, 16)


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("等待买家付款", OrderStatus.AWAITING_PAYMENT),
        ("买家已付款，等待卖家发货", OrderStatus.AWAITING_SHIPMENT),
        ("买家已付款,等待卖家发货", OrderStatus.AWAITING_SHIPMENT),
        ("等待卖家发货", OrderStatus.AWAITING_SHIPMENT),
        ("卖家部分发货", OrderStatus.SHIPPED),
        ("卖家已发货，等待买家确认", OrderStatus.SHIPPED),
        ("卖家已发货", OrderStatus.SHIPPED),
        ("交易成功", OrderStatus.COMPLETED),
        ("交易关闭", OrderStatus.CLOSED),
        ("交易关闭(付款前)", OrderStatus.CLOSED),
        ("交易关闭（付款前）", OrderStatus.CLOSED),
        ("付款以前，卖家或买家主动关闭交易", OrderStatus.CLOSED),
        ("付款以后用户退款成功，交易自动关闭", OrderStatus.CLOSED),
    ],
)
def test_taobao_statuses_map_and_keep_the_chinese_word(word: str, status: OrderStatus) -> None:
    header = "订单编号,买家会员名,订单状态,买家实际支付金额,订单创建时间"
    row = f'1001,buyer,"{word}",1.00,2026-11-01 00:00:00'
    result = read_orders(crlf(header, row).encode("gbk"))
    assert result.errors == []
    assert result.records[0].status is status
    assert result.records[0].platform_status == word


def test_three_broken_rows_are_reported_and_the_rest_import() -> None:
    good = TB_ROWS
    rows = [
        good[0],  # lines 2-3: the address runs over two lines
        ",nobody,,10.00,10.00,10.00,交易成功,,,,2026-11-01 00:00:00,,无号,1,,",  # line 4
        good[1],  # line 5
        "3301234567890130,buyer6,,10.00,10.00,12.3.4,交易成功,,,,"  # line 6
        "2026-11-01 00:00:00,,坏金额,1,,",
        good[2],  # line 7
        '3301234567890131,buyer7,,10.00,10.00,10.00,退款中,,"广州市\r\n天河区",,'  # lines 8-9
        "昨天下午,,坏状态,1,,",
        good[3],  # line 10
        good[4],  # line 11
    ]
    result = read_orders(crlf(TB_HEADER, *rows).encode("gbk"))
    assert result.errors == [
        BadRow(4, "订单编号 is empty", None),
        BadRow(6, "买家实际支付金额 '12.3.4' is not an amount like 129.00", "3301234567890130"),
        BadRow(
            8,
            "订单状态 '退款中' is not a known Taobao order status; "
            "订单创建时间 '昨天下午' is not a time like 2026-11-01 12:34:56",
            "3301234567890131",
        ),
    ]
    assert result.records == EXPECTED_TB


def test_wrong_column_count_and_an_unclosed_quote() -> None:
    header = "订单编号,买家会员名,订单状态,买家实际支付金额,订单创建时间"
    data = crlf(
        "1001,buyer,交易成功,1.00,2026-11-01 00:00:00",
        "1002,buyer,交易成功,1,000.00,2026-11-01 00:00:00",
        "1003,buyer,交易成功,1.00,2026-11-01 00:00:00,,,",  # empty trailing cells are fine
        '1004,"buyer,交易成功,1.00,2026-11-01 00:00:00',
        "1005,buyer,交易成功,1.00,2026-11-01 00:00:00",
    )
    result = read_orders((crlf(header) + data).encode("gbk"))
    assert [r.platform_order_id for r in result.records] == ["1001", "1003"]
    assert result.errors == [
        BadRow(
            3,
            "the row has 6 columns but the header has 5; "
            "is a comma inside a value missing its quotes?",
            "1002",
        ),
        BadRow(
            5,
            "the row has 2 columns but the header has 5; "
            'it runs on to line 6, so a quote (") may be missing its partner',
            "1004",
        ),
    ]


def test_excel_rounded_order_numbers_are_refused() -> None:
    header = "订单编号,买家会员名,订单状态,买家实际支付金额,订单创建时间"
    row = "3.30123E+15,buyer,交易成功,1.00,2026-11-01 00:00:00"
    result = read_orders(crlf(header, row).encode("gbk"))
    assert result.records == []
    assert result.errors == [
        BadRow(
            2,
            "订单编号 '3.30123E+15' was rounded by Excel; export again, "
            "or format the column as text before saving",
            "3.30123E+15",
        )
    ]


def test_the_same_order_twice_imports_once_unless_the_rows_differ() -> None:
    header = "订单编号,买家会员名,订单状态,买家实际支付金额,订单创建时间"
    data = crlf(
        header,
        "1001,buyer,交易成功,1.00,2026-11-01 00:00:00",
        "1001,buyer,交易成功,1.00,2026-11-01 00:00:00",
        "1001,buyer,交易关闭,1.00,2026-11-01 00:00:00",
    )
    result = read_orders(data.encode("gbk"))
    assert [r.platform_order_id for r in result.records] == ["1001"]
    assert result.errors == [
        BadRow(
            4,
            "order 1001 is already on line 2 with different values; "
            "the export has one row per order",
            "1001",
        )
    ]


def test_the_import_time_stamps_updated_at() -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    result = read_orders(crlf(TB_HEADER, *TB_ROWS).encode("gbk"), updated_at=now)
    assert {r.updated_at for r in result.records} == {now}
    naive = read_orders(
        crlf(TB_HEADER, *TB_ROWS).encode("gbk"), updated_at=now.replace(tzinfo=None)
    )
    assert {r.updated_at for r in naive.records} == {now}


def test_long_title_lists_are_shortened_to_fit() -> None:
    header = "订单编号,买家会员名,订单状态,买家实际支付金额,订单创建时间,宝贝标题"
    row = "1001,buyer,交易成功,1.00,2026-11-01 00:00:00," + "；".join(["保温杯"] * 100)
    title = read_orders(crlf(header, row).encode("gbk")).records[0].items[0].title
    assert len(title) == 255
    assert title.endswith("…")


GENERIC_HEADER = (
    "platform_order_id,status,buyer_id,buyer_nick,phone,address,currency,total_amount,"
    "paid_amount,created_at,paid_at,shipped_at,updated_at,item_id,item_title,sku,quantity,"
    "unit_price"
)


def test_generic_lines_group_into_orders() -> None:
    data = "\n".join(
        [
            GENERIC_HEADER,
            'A-1001,shipped,c-1,Ann,+1 555 0100,"1 Main St, Apt 2\nSpringfield",USD,64.50,64.50,'
            "2026-11-01T10:00:00,2026-11-01T10:05:00Z,2026-11-02T08:00:00+08:00,,L1,Mug,MUG-RED,"
            "2,12.25",
            "A-1002,awaiting_payment,c-2,,,,,19.90,0,2026-11-03 09:00:00,,,2026-11-03T09:30:00,,"
            "Socks,,1,19.90",
            # Same values written differently still agree: 64.5 is 64.50, +08:00 is Z-8h.
            'A-1001,shipped,c-1,Ann,+1 555 0100,"1 Main St, Apt 2\nSpringfield",usd,64.5,64.50,'
            "2026-11-01T10:00:00Z,2026-11-01T10:05:00Z,2026-11-02T00:00:00Z,,L2,Teapot,,1,40",
            "",
        ]
    )
    result = read_orders(data.encode("utf-8"))
    assert result.format == "generic"
    assert result.errors == []
    assert result.records == [
        OrderRecord(
            platform_order_id="A-1001",
            status=OrderStatus.SHIPPED,
            platform_status="shipped",
            buyer=BuyerRecord(
                platform_buyer_id="c-1",
                nick="Ann",
                phone="+1 555 0100",
                address="1 Main St, Apt 2\nSpringfield",
            ),
            currency="USD",
            total_amount=Decimal("64.50"),
            paid_amount=Decimal("64.50"),
            created_at=utc(2026, 11, 1, 10),
            paid_at=utc(2026, 11, 1, 10, 5),
            shipped_at=utc(2026, 11, 2),
            updated_at=utc(2026, 11, 2),
            items=[
                OrderItemRecord(
                    platform_item_id="L1",
                    title="Mug",
                    sku="MUG-RED",
                    quantity=2,
                    unit_price=Decimal("12.25"),
                    amount=Decimal("24.50"),
                ),
                OrderItemRecord(
                    platform_item_id="L2",
                    title="Teapot",
                    quantity=1,
                    unit_price=Decimal("40.00"),
                    amount=Decimal("40.00"),
                ),
            ],
        ),
        OrderRecord(
            platform_order_id="A-1002",
            status=OrderStatus.AWAITING_PAYMENT,
            platform_status="awaiting_payment",
            buyer=BuyerRecord(platform_buyer_id="c-2", nick="c-2"),
            currency="CNY",
            total_amount=Decimal("19.90"),
            paid_amount=Decimal("0.00"),
            created_at=utc(2026, 11, 3, 9),
            updated_at=utc(2026, 11, 3, 9, 30),
            items=[
                OrderItemRecord(
                    platform_item_id="A-1002-1",
                    title="Socks",
                    quantity=1,
                    unit_price=Decimal("19.90"),
                    amount=Decimal("19.90"),
                )
            ],
        ),
    ]


def test_generic_columns_may_come_in_any_order_and_optional_ones_may_be_missing() -> None:
    data = crlf(
        "unit_price,quantity,item_title,created_at,paid_amount,total_amount,buyer_id,status,"
        "platform_order_id",
        "5.00,2,Pen,2026-11-01T00:00:00Z,10.00,10.00,c-9,completed,B-1",
    ).encode("utf-8-sig")
    now = datetime(2026, 11, 23, tzinfo=UTC)
    [record] = read_orders(data, updated_at=now).records
    assert record.platform_order_id == "B-1"
    assert record.updated_at == now
    assert record.items[0].platform_item_id == "B-1-1"
    assert record.items[0].amount == Decimal("10.00")


def test_generic_conflicting_lines_reject_their_order_only() -> None:
    line = "{id},{status},c-1,,,,CNY,{total},64.50,2026-11-01T10:00:00Z,,,,{item},Mug,,{qty},12.25"
    data = crlf(
        GENERIC_HEADER,
        line.format(id="C-1", status="shipped", total="64.50", item="L1", qty=2),  # line 2
        line.format(id="C-2", status="completed", total="24.50", item="", qty=2),  # line 3
        line.format(id="C-1", status="completed", total="70.00", item="L2", qty=1),  # line 4
        line.format(id="C-1", status="shipped", total="64.50", item="L3", qty=1),  # line 5
        line.format(id="C-3", status="shipped", total="64.50", item="L1", qty=0),  # line 6
        line.format(id="C-3", status="shipped", total="64.50", item="L1", qty=1),  # line 7
        line.format(id="C-4", status="sent", total='"1,2"', item="L1", qty=1),  # line 8
        line.format(id="", status="shipped", total="64.50", item="L1", qty=1),  # line 9
    )
    result = read_orders(data.encode("utf-8"))
    assert [r.platform_order_id for r in result.records] == ["C-2"]
    assert result.records[0].items[0].platform_item_id == "C-2-1"
    assert result.errors == [
        BadRow(
            4,
            "status is 'completed' here but 'shipped' on line 2; "
            "total_amount is '70.00' here but '64.50' on line 2; order C-1 was not imported",
            "C-1",
        ),
        BadRow(
            6, "quantity '0' is not a whole number above zero; order C-3 was not imported", "C-3"
        ),
        BadRow(7, "item_id 'L1' is also on line 6 of order C-3; order C-3 was not imported", "C-3"),
        BadRow(
            8,
            "status 'sent' is not one of awaiting_payment, awaiting_shipment, shipped, "
            "completed, closed; total_amount '1,2' is not an amount like 129.00",
            "C-4",
        ),
        BadRow(9, "platform_order_id is empty", None),
    ]


def test_generic_bad_times_and_currency() -> None:
    data = crlf(
        GENERIC_HEADER,
        "D-1,shipped,c-1,,,,RMB yuan,1.00,1.00,01/11/2026,,,,,Mug,,1,1.00",
    )
    result = read_orders(data.encode("utf-8"))
    assert result.errors == [
        BadRow(
            2,
            "currency 'RMB yuan' is not a three-letter code like CNY; "
            "created_at '01/11/2026' is not a time like 2026-11-01T04:34:56Z",
            "D-1",
        )
    ]


def test_unknown_header_is_one_error_on_line_1() -> None:
    result = read_orders(b"order,customer,total\n1,Ann,5.00\n")
    assert result.format == "unknown"
    assert result.records == []
    assert result.errors == [BadRow(1, f"the header row is not recognised; {EXPECTED}")]
    assert "订单编号" in EXPECTED and "platform_order_id" in EXPECTED


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\r\n\r\n", b" , ,\n"])
def test_empty_file_is_one_error_on_line_1(data: bytes) -> None:
    result = read_orders(data)
    assert result.records == []
    assert result.errors == [BadRow(1, f"the file is empty; {EXPECTED}")]


def test_missing_required_columns_are_named() -> None:
    result = read_orders("订单编号,买家会员名,订单状态\r\n1001,buyer,交易成功\r\n".encode("gbk"))
    assert result.format == "taobao"
    assert result.errors == [
        BadRow(
            1,
            "the header row lacks 买家实际支付金额, 订单创建时间; a Taobao/Tmall order export "
            "needs the columns 订单编号, 买家会员名, 订单状态, 买家实际支付金额, 订单创建时间",
        )
    ]


def test_a_forced_format_checks_the_header_against_it() -> None:
    taobao = crlf(TB_HEADER, *TB_ROWS).encode("gbk")
    assert read_orders(taobao, format="taobao").records == EXPECTED_TB
    forced = read_orders(taobao, format="generic")
    assert forced.format == "generic"
    assert forced.records == []
    assert [e.line for e in forced.errors] == [1]
    assert forced.errors[0].message.startswith("the header row lacks platform_order_id, status")
    with pytest.raises(ValueError, match="unknown CSV format 'xlsx'"):
        read_orders(taobao, format="xlsx")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            "订单编号".encode("utf-16"),
            "the file is UTF-16 text (Excel's 'Unicode Text'); save it as 'CSV UTF-8' instead",
        ),
        (
            b"PK\x03\x04\x14\x00\x06\x00",
            "the file is an Excel workbook, not CSV; open it and save it as 'CSV UTF-8' first",
        ),
        (
            b"\x81\x20\xff\xfe\x80",
            "the file is neither UTF-8 nor GBK text; save it as 'CSV UTF-8' and try again",
        ),
    ],
)
def test_files_that_are_not_csv_text(data: bytes, message: str) -> None:
    assert read_orders(data).errors == [BadRow(1, message)]


def test_a_20000_row_export_imports() -> None:
    rows = [
        f'="{3300000000000000 + n}",buyer{n % 997},,99.00,"1,099.00",1099.00,交易成功,收件人,'
        f'"浙江省 杭州市, 文一路 {n}号",13800138000,2026-11-01 12:34:56,2026-11-01 12:35:00,'
        f"商品 {n},{n % 5 + 1},,"
        for n in range(20_000)
    ]
    result = read_orders(crlf(TB_HEADER, *rows).encode("gbk"))
    assert result.errors == []
    assert len(result.records) == 20_000
    assert result.records[-1].platform_order_id == "3300000000019999"
    assert result.records[-1].items[0].quantity == 5
    assert result.records[-1].items[0].unit_price == Decimal("219.80")


def test_the_documented_example_reads_as_the_docs_say() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "csv-import.md").read_text(encoding="utf-8")
    example = doc.split("```csv\n", 1)[1].split("```", 1)[0]
    result = read_orders(example.encode("utf-8"))
    assert result.errors == []
    a1001, a1002 = result.records
    assert [(i.platform_item_id, i.amount) for i in a1001.items] == [
        ("L1", Decimal("24.50")),
        ("L2", Decimal("40.00")),
    ]
    assert (a1002.currency, a1002.buyer.nick, a1002.items[0].platform_item_id) == (
        "CNY",
        "c-2",
        "A-1002-1",
    )
    broken = read_orders(example.replace("awaiting_payment", "unpaid").encode("utf-8"))
    assert [(e.line, e.order_id) for e in broken.errors] == [(6, "A-1002")]


def test_a_row_that_breaks_the_csv_reader_stops_the_import_there() -> None:
    header = "订单编号,买家会员名,订单状态,买家实际支付金额,订单创建时间"
    huge = "x" * 200_000  # beyond the csv module's field size limit
    data = crlf(header, "1001,buyer,交易成功,1.00,2026-11-01 00:00:00", f"1002,{huge},,,")
    result = read_orders(data.encode("utf-8"))
    assert [r.platform_order_id for r in result.records] == ["1001"]
    assert [e.line for e in result.errors] == [3]
    assert result.errors[0].message.startswith("the file cannot be read from this line on")
