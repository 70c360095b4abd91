"""Order import from CSV files, for shops that have no API access.

Two layouts are read, detected from the header row (or forced with ``format=``):

* ``taobao`` — the Taobao/Tmall seller-center order export (卖家中心/千牛 "订单报表"):
  one row per order, GBK/GB18030 or UTF-8, times in China time.
* ``generic`` — our own CSV, documented in ``docs/csv-import.md``: one row per order
  line, UTF-8, ISO 8601 times, statuses spelled as ``OrderStatus`` values.

Nothing here touches the network or the database: ``read_orders`` turns the bytes of
one upload into ``OrderRecord`` objects plus a ``BadRow`` for every row it could not
read, so one typo in a 5,000-row export costs one order, not the whole import.

Line numbers are physical lines of the file with the header on line 1, counted where
the row starts. A quoted field with a line break inside (a pasted address) makes one
row span several lines, so after such a row a text editor's line numbers and ours
agree, and a spreadsheet's row numbers run behind.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from pydantic import ValidationError

from connectors.base import (
    BuyerRecord,
    ConnectorManifest,
    OrderItemRecord,
    OrderRecord,
    OrderStatus,
)
from connectors.timeutil import CHINA, parse_utc

TAOBAO = "taobao"
GENERIC = "generic"
FORMATS = (TAOBAO, GENERIC)
UNKNOWN = "unknown"

CENT = Decimal("0.01")
# The desk stores item titles in 255 characters; a Taobao 宝贝标题 listing every title
# of a big order can be longer, and one over-long title must not sink a whole import.
TITLE_MAX = 255

# Taobao/Tmall order export columns (订单报表).
TB_ORDER_ID = "订单编号"
TB_BUYER = "买家会员名"
TB_STATUS = "订单状态"
TB_PAID = "买家实际支付金额"
TB_TOTAL = "总金额"
TB_CREATED = "订单创建时间"
TB_PAID_AT = "订单付款时间"
TB_SHIPPED_AT = "发货时间"
TB_TITLE = "宝贝标题"
TB_QUANTITY = "宝贝总数量"
TB_ADDRESS = "收货地址"
TB_NAME = "收货人姓名"
TB_MOBILE = "联系手机"
TB_PHONE = "联系电话"
TAOBAO_REQUIRED = (TB_ORDER_ID, TB_BUYER, TB_STATUS, TB_PAID, TB_CREATED)
TAOBAO_OPTIONAL = (
    TB_TOTAL,
    TB_PAID_AT,
    TB_SHIPPED_AT,
    TB_TITLE,
    TB_QUANTITY,
    TB_ADDRESS,
    TB_NAME,
    TB_MOBILE,
    TB_PHONE,
)

# The generic format: order-level columns first, then one order line.
ORDER_COLUMNS = (
    "platform_order_id",
    "status",
    "buyer_id",
    "buyer_nick",
    "phone",
    "address",
    "currency",
    "total_amount",
    "paid_amount",
    "created_at",
    "paid_at",
    "shipped_at",
    "updated_at",
)
LINE_COLUMNS = ("item_id", "item_title", "sku", "quantity", "unit_price")
GENERIC_COLUMNS = ORDER_COLUMNS + LINE_COLUMNS
GENERIC_REQUIRED = (
    "platform_order_id",
    "status",
    "buyer_id",
    "total_amount",
    "paid_amount",
    "created_at",
    "item_title",
    "quantity",
    "unit_price",
)

EXPECTED = (
    "expected a Taobao/Tmall order export (订单报表) with the columns "
    + ", ".join(TAOBAO_REQUIRED)
    + ", or the generic order CSV with the columns "
    + ", ".join(GENERIC_COLUMNS)
    + " (see docs/csv-import.md)"
)

# Keys are NFKC-normalized (full-width ，：（） become ASCII) with whitespace removed.
# The export writes the seller-center wording; the API-style descriptions are here too
# because some third-party ERP exports copy those into the same column.
TAOBAO_STATUS = {
    "等待买家付款": OrderStatus.AWAITING_PAYMENT,
    "没有创建支付宝交易": OrderStatus.AWAITING_PAYMENT,
    "买家已付款,等待卖家发货": OrderStatus.AWAITING_SHIPMENT,
    "等待卖家发货": OrderStatus.AWAITING_SHIPMENT,
    "等待卖家发货,即:买家已付款": OrderStatus.AWAITING_SHIPMENT,
    "买家已付款": OrderStatus.AWAITING_SHIPMENT,
    # Part of the order is on its way: the buyer can already start a return.
    "卖家部分发货": OrderStatus.SHIPPED,
    "卖家已发货,等待买家确认": OrderStatus.SHIPPED,
    "卖家已发货": OrderStatus.SHIPPED,
    "等待买家确认收货": OrderStatus.SHIPPED,
    "等待买家确认收货,即:卖家已发货": OrderStatus.SHIPPED,
    "买家已签收": OrderStatus.SHIPPED,
    "交易成功": OrderStatus.COMPLETED,
}
# 交易关闭, 交易关闭(付款前), 付款以前，卖家或买家主动关闭交易, 付款以后用户退款成功，交易自动关闭…
TAOBAO_CLOSED_MARK = "关闭"

CHINA_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    # What Excel writes back after opening and saving the export.
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
)
NO_TIME = {"", "null", "none", "-", "--"}

_AMOUNT = re.compile(r"\d+(?:\.\d{1,2})?")
_GROUPED_AMOUNT = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?")
_EXCEL_ROUNDED = re.compile(r"\d(?:\.\d+)?E\+?\d+", re.IGNORECASE)
_APOSTROPHE_NUMBER = re.compile(r"'[\d+\-. ]+")
_CURRENCY = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True)
class BadRow:
    """A row that was not imported: where it is, why, and whose order it was."""

    line: int
    message: str
    order_id: str | None = None


@dataclass
class CsvImport:
    """The result of one upload: what imports, what does not, and which layout was read."""

    records: list[OrderRecord] = field(default_factory=list)
    errors: list[BadRow] = field(default_factory=list)
    format: str = UNKNOWN


@dataclass
class _Row:
    line: int  # physical line where the row starts
    end: int  # physical line where it ends (later than ``line`` if a field has a newline)
    cells: list[str]


def read_orders(
    data: bytes, *, format: str | None = None, updated_at: datetime | None = None
) -> CsvImport:
    """Read an order export; ``updated_at`` (the import time) stamps rows that carry none.

    Never raises for bad content: every problem becomes a ``BadRow`` and the other rows
    still import. Only a wrong ``format`` argument (a programming error) raises.
    """
    if format is not None and format not in FORMATS:
        raise ValueError(f"unknown CSV format {format!r}; use one of {', '.join(FORMATS)}")
    stamp = _as_utc(updated_at) if updated_at is not None else None
    result = CsvImport(format=format or UNKNOWN)

    text, problem = _decode(data)
    if text is None:
        result.errors.append(BadRow(1, problem))
        return result
    rows, unreadable = _split_rows(text)
    if not rows and unreadable is not None:
        result.errors.append(unreadable)
        return result
    if not rows:
        result.errors.append(BadRow(1, f"the file is empty; {EXPECTED}"))
        return result

    header, body = rows[0], rows[1:]
    names = [_clean(name).lstrip("\ufeff") for name in header.cells]
    while names and not names[-1]:
        names.pop()  # a trailing comma on every line is common and harmless
    detected = format or _detect(names)
    if detected is None:
        result.errors.append(BadRow(header.line, f"the header row is not recognised; {EXPECTED}"))
        return result
    result.format = detected

    required: tuple[str, ...]
    wanted: tuple[str, ...]
    if detected == TAOBAO:
        required, wanted = TAOBAO_REQUIRED, TAOBAO_REQUIRED + TAOBAO_OPTIONAL
    else:
        names = [name.lower() for name in names]
        required, wanted = GENERIC_REQUIRED, GENERIC_COLUMNS
    index: dict[str, int] = {}
    for position, name in enumerate(names):
        if name in wanted:
            index.setdefault(name, position)
    missing = [name for name in required if name not in index]
    if missing:
        label = "Taobao/Tmall order export" if detected == TAOBAO else "generic order CSV"
        result.errors.append(
            BadRow(
                header.line,
                f"the header row lacks {', '.join(missing)}; a {label} needs the columns "
                f"{', '.join(required)}",
            )
        )
        return result

    if detected == TAOBAO:
        _read_taobao(body, index, len(names), stamp, result)
    else:
        _read_generic(body, index, len(names), stamp, result)
    if unreadable is not None:
        result.errors.append(unreadable)
    result.errors.sort(key=lambda bad: bad.line)
    return result


# -- reading the file ---------------------------------------------------------------


def _decode(data: bytes) -> tuple[str | None, str]:
    """UTF-8 (with or without BOM) first, then GB18030, a superset of GBK.

    A GBK file is almost never valid UTF-8, so trying UTF-8 first is safe and lets
    "CSV UTF-8" saves from Excel and WPS through untouched.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, (
            "the file is UTF-16 text (Excel's 'Unicode Text'); save it as 'CSV UTF-8' instead"
        )
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        return None, (
            "the file is an Excel workbook, not CSV; open it and save it as 'CSV UTF-8' first"
        )
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding), ""
        except UnicodeDecodeError:
            continue
    return None, "the file is neither UTF-8 nor GBK text; save it as 'CSV UTF-8' and try again"


def _split_rows(text: str) -> tuple[list[_Row], BadRow | None]:
    """Non-blank rows with the physical lines they span; a broken tail becomes one BadRow."""
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[_Row] = []
    start = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                rows.append(_Row(start, reader.line_num, cells))
            start = reader.line_num + 1
    except csv.Error as exc:
        return rows, BadRow(start, f"the file cannot be read from this line on ({exc})")
    return rows, None


def _detect(names: list[str]) -> str | None:
    if TB_ORDER_ID in names:
        return TAOBAO
    if "platform_order_id" in (name.lower() for name in names):
        return GENERIC
    return None


def _clean(value: str) -> str:
    """Undo the tricks exports use to stop Excel from mangling numbers.

    ``="1234567890123"`` (a formula yielding text), a leading tab, and a leading
    apostrophe before digits all mean "this is text"; the value is what is inside.
    Line breaks inside a value become ``\\n`` whichever system typed them.
    """
    value = value.strip()
    if "\r" in value:  # a line break typed inside an address, saved on Windows
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    if value.startswith('="') and value.endswith('"') and len(value) >= 3:
        value = value[2:-1].strip()
    if _APOSTROPHE_NUMBER.fullmatch(value):
        value = value[1:].strip()
    return value


def _cells(
    row: _Row, index: dict[str, int], width: int, id_column: str
) -> tuple[dict[str, str], str | None]:
    """The wanted cells of ``row`` by column name, and a problem if its width is wrong.

    Cells are returned even for a row of the wrong width, so the report can still say
    which order the broken row belonged to.
    """
    cells = row.cells
    values = {name: _clean(cells[at]) if at < len(cells) else "" for name, at in index.items()}
    count = len(cells)
    if count < width or (count > width and any(cell.strip() for cell in cells[width:])):
        message = f"the row has {count} columns but the header has {width}"
        if row.end > row.line:
            message += f'; it runs on to line {row.end}, so a quote (") may be missing its partner'
        else:
            message += "; is a comma inside a value missing its quotes?"
        return {id_column: values.get(id_column, "")}, message
    return values, None


# -- typed values -------------------------------------------------------------------


class _Fields:
    """One row's cells, read as typed values; collects every problem, not just the first,
    so the shop can fix a row in one go."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.problems: list[str] = []

    def text(self, column: str, *, required: bool = False) -> str:
        value = self.values.get(column, "")
        if required and not value:
            self.problems.append(f"{column} is empty")
        return value

    def order_id(self, column: str) -> str:
        value = self.text(column, required=True)
        if _EXCEL_ROUNDED.fullmatch(value):
            self.problems.append(
                f"{column} '{value}' was rounded by Excel; export again, or format the "
                "column as text before saving"
            )
        return value

    def amount(self, column: str, *, required: bool = False) -> Decimal | None:
        raw = self.values.get(column, "")
        if not raw:
            if required:
                self.problems.append(f"{column} is empty")
            return None
        value = _money(raw)
        if value is None:
            self.problems.append(f"{column} '{raw}' is not an amount like 129.00")
        return value

    def time(
        self,
        column: str,
        parse: Callable[[str], datetime],
        example: str,
        *,
        required: bool = False,
    ) -> datetime | None:
        raw = self.values.get(column, "")
        if raw.lower() in NO_TIME:
            if required:
                self.problems.append(f"{column} is empty")
            return None
        try:
            return parse(raw)
        except ValueError:
            self.problems.append(f"{column} '{raw}' is not a time like {example}")
            return None

    def quantity(self, column: str, *, default: int | None = None) -> int | None:
        raw = self.values.get(column, "")
        if not raw and default is not None:
            return default
        if not raw:
            self.problems.append(f"{column} is empty")
            return None
        if raw.isascii() and raw.isdigit() and int(raw) > 0:
            return int(raw)
        self.problems.append(f"{column} '{raw}' is not a whole number above zero")
        return None


def _money(raw: str) -> Decimal | None:
    """``129.00``, ``¥1,299.00``, ``￥ 45``: two decimals at most, never negative."""
    value = raw.replace("¥", "").replace("￥", "").replace("\u00a0", "").replace(" ", "")
    if "," in value:
        if not _GROUPED_AMOUNT.fullmatch(value):
            return None
        value = value.replace(",", "")
    if not _AMOUNT.fullmatch(value) or len(value) > 16:
        return None
    return Decimal(value).quantize(CENT)


def _china_time(raw: str) -> datetime:
    for pattern in CHINA_TIME_FORMATS:
        try:
            parsed = datetime.strptime(raw, pattern)
        except ValueError:
            continue
        return parsed.replace(tzinfo=CHINA).astimezone(UTC)
    raise ValueError(raw)


def _iso_time(raw: str) -> datetime:
    parsed = parse_utc(raw)
    if parsed is None:  # pragma: no cover - empty values never get here
        raise ValueError(raw)
    return parsed


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _latest(first: datetime, *times: datetime | None) -> datetime:
    return max([first, *(time for time in times if time is not None)])


def _taobao_status(raw: str) -> OrderStatus | None:
    key = "".join(unicodedata.normalize("NFKC", raw).split())
    if key in TAOBAO_STATUS:
        return TAOBAO_STATUS[key]
    if TAOBAO_CLOSED_MARK in key:
        return OrderStatus.CLOSED
    return None


def _title(value: str) -> str:
    return value if len(value) <= TITLE_MAX else value[: TITLE_MAX - 1] + "…"


# -- Taobao/Tmall order export -------------------------------------------------------


def _read_taobao(
    rows: Iterable[_Row],
    index: dict[str, int],
    width: int,
    stamp: datetime | None,
    result: CsvImport,
) -> None:
    """One order per row. The same order twice (two overlapping exports pasted together)
    imports once if the rows agree and is reported if they do not."""
    first_seen: dict[str, tuple[int, OrderRecord]] = {}
    for row in rows:
        values, problem = _cells(row, index, width, TB_ORDER_ID)
        order_id = values.get(TB_ORDER_ID) or None
        if problem is not None:
            result.errors.append(BadRow(row.line, problem, order_id))
            continue
        record, problems = _taobao_record(values, stamp)
        if record is None:
            result.errors.append(BadRow(row.line, "; ".join(problems), order_id))
            continue
        earlier = first_seen.get(record.platform_order_id)
        if earlier is not None:
            if earlier[1] != record:
                result.errors.append(
                    BadRow(
                        row.line,
                        f"order {record.platform_order_id} is already on line {earlier[0]} "
                        "with different values; the export has one row per order",
                        record.platform_order_id,
                    )
                )
            continue
        first_seen[record.platform_order_id] = (row.line, record)
        result.records.append(record)


def _taobao_record(
    values: dict[str, str], stamp: datetime | None
) -> tuple[OrderRecord | None, list[str]]:
    """One row of the order export; the export has no order lines, so one item stands
    for the whole order (宝贝标题 may list several titles)."""
    f = _Fields(values)
    order_id = f.order_id(TB_ORDER_ID)
    buyer = f.text(TB_BUYER, required=True)
    raw_status = f.text(TB_STATUS, required=True)
    status = _taobao_status(raw_status) if raw_status else None
    if raw_status and status is None:
        f.problems.append(f"{TB_STATUS} '{raw_status}' is not a known Taobao order status")
    paid = f.amount(TB_PAID) or Decimal("0.00")  # unpaid orders may leave it empty
    total = f.amount(TB_TOTAL)
    example = "2026-11-01 12:34:56"
    created = f.time(TB_CREATED, _china_time, example, required=True)
    paid_at = f.time(TB_PAID_AT, _china_time, example)
    shipped_at = f.time(TB_SHIPPED_AT, _china_time, example)
    quantity = f.quantity(TB_QUANTITY, default=1)
    if f.problems or status is None or created is None or quantity is None:
        return None, f.problems

    amount = total if total is not None else paid
    try:
        record = OrderRecord(
            platform_order_id=order_id,
            status=status,
            platform_status=raw_status,
            buyer=BuyerRecord(
                platform_buyer_id=buyer,
                nick=buyer,
                name=f.text(TB_NAME) or None,
                phone=f.text(TB_MOBILE) or f.text(TB_PHONE) or None,
                address=f.text(TB_ADDRESS) or None,
            ),
            currency="CNY",
            total_amount=amount,
            paid_amount=paid,
            created_at=created,
            paid_at=paid_at,
            shipped_at=shipped_at,
            updated_at=stamp or _latest(created, paid_at, shipped_at),
            items=[
                OrderItemRecord(
                    # The export has no sub-order ids; the order id is stable, so a
                    # re-import updates this item instead of adding another.
                    platform_item_id=order_id,
                    title=_title(f.text(TB_TITLE)),
                    quantity=quantity,
                    unit_price=(amount / quantity).quantize(CENT, ROUND_HALF_UP),
                    amount=amount,
                )
            ],
        )
    except ValidationError as exc:  # pragma: no cover - every field is checked above
        return None, [f"the order cannot be read: {exc.errors()[0]['msg']}"]
    return record, []


# -- generic CSV, one row per order line ----------------------------------------------


@dataclass(frozen=True)
class _Item:
    """An order line's own columns; its id is settled once the order's lines are known."""

    title: str
    sku: str | None
    quantity: int
    unit_price: Decimal


@dataclass
class _Line:
    """One line of the generic format, read but not yet joined to its order."""

    line: int
    order_id: str
    problems: list[str]
    raw: dict[str, str] = field(default_factory=dict)
    head: OrderRecord | None = None  # the order-level columns, if they all read well
    item_id: str = ""
    item: _Item | None = None  # the line's own columns, if they all read well


def _read_generic(
    rows: Iterable[_Row],
    index: dict[str, int],
    width: int,
    stamp: datetime | None,
    result: CsvImport,
) -> None:
    """Group lines into orders; an order imports only if every one of its lines is good,
    because an order missing a line would show the wrong items to whoever handles it."""
    orders: dict[str, list[_Line]] = {}
    for row in rows:
        values, problem = _cells(row, index, width, "platform_order_id")
        if problem is not None:
            parsed = _Line(row.line, values["platform_order_id"], [problem])
        else:
            parsed = _generic_line(row.line, values, stamp)
        if not parsed.order_id or _EXCEL_ROUNDED.fullmatch(parsed.order_id):
            # Without a usable order number the line cannot join an order.
            bad_id = parsed.order_id or None
            result.errors.append(BadRow(row.line, "; ".join(parsed.problems), bad_id))
            continue
        orders.setdefault(parsed.order_id, []).append(parsed)

    for order_id, lines in orders.items():
        _check_order(order_id, lines)
        bad = [line for line in lines if line.problems]
        for line in bad:
            message = "; ".join(line.problems)
            if len(lines) > 1:
                message += f"; order {order_id} was not imported"
            result.errors.append(BadRow(line.line, message, order_id))
        if not bad:
            result.records.append(_generic_record(order_id, lines))


def _generic_line(line: int, values: dict[str, str], stamp: datetime | None) -> _Line:
    f = _Fields(values)
    order_id = f.order_id("platform_order_id")
    buyer_id = f.text("buyer_id", required=True)
    raw_status = f.text("status", required=True)
    status = None
    if raw_status:
        try:
            status = OrderStatus(raw_status.lower())
        except ValueError:
            choices = ", ".join(s.value for s in OrderStatus)
            f.problems.append(f"status '{raw_status}' is not one of {choices}")
    currency = f.text("currency").upper() or "CNY"
    if not _CURRENCY.fullmatch(currency):
        f.problems.append(f"currency '{f.text('currency')}' is not a three-letter code like CNY")
    total = f.amount("total_amount", required=True)
    paid = f.amount("paid_amount", required=True)
    example = "2026-11-01T04:34:56Z"
    created = f.time("created_at", _iso_time, example, required=True)
    paid_at = f.time("paid_at", _iso_time, example)
    shipped_at = f.time("shipped_at", _iso_time, example)
    updated = f.time("updated_at", _iso_time, example)

    head = None
    if not f.problems:
        assert status is not None and created is not None
        assert total is not None and paid is not None
        nick = f.text("buyer_nick") or buyer_id
        head = OrderRecord(
            platform_order_id=order_id,
            status=status,
            platform_status=status.value,
            buyer=BuyerRecord(
                platform_buyer_id=buyer_id,
                nick=nick,
                phone=f.text("phone") or None,
                address=f.text("address") or None,
            ),
            currency=currency,
            total_amount=total,
            paid_amount=paid,
            created_at=created,
            paid_at=paid_at,
            shipped_at=shipped_at,
            updated_at=updated or stamp or _latest(created, paid_at, shipped_at),
            items=[],
        )

    title = f.text("item_title", required=True)
    quantity = f.quantity("quantity")
    unit_price = f.amount("unit_price", required=True)
    item = None
    if title and quantity is not None and unit_price is not None:
        sku = f.text("sku") or None
        item = _Item(_title(title), sku, quantity, unit_price)
    return _Line(
        line=line,
        order_id=order_id,
        problems=f.problems,
        raw={column: values.get(column, "") for column in ORDER_COLUMNS},
        head=head,
        item_id=f.text("item_id"),
        item=item,
    )


def _head_values(record: OrderRecord) -> dict[str, object]:
    """The order-level columns of a line, as read, for comparing lines of one order."""
    return {
        "status": record.status,
        "buyer_id": record.buyer.platform_buyer_id,
        "buyer_nick": record.buyer.nick,
        "phone": record.buyer.phone,
        "address": record.buyer.address,
        "currency": record.currency,
        "total_amount": record.total_amount,
        "paid_amount": record.paid_amount,
        "created_at": record.created_at,
        "paid_at": record.paid_at,
        "shipped_at": record.shipped_at,
        "updated_at": record.updated_at,
    }


def _check_order(order_id: str, lines: list[_Line]) -> None:
    """Every line of an order must repeat the same order-level values: a line that
    disagrees with the order's first readable line gets a problem naming both lines.
    Values are compared as read, so ``129.0`` and ``129.00`` agree."""
    reference = next((line for line in lines if line.head is not None), None)
    expected = _head_values(reference.head) if reference and reference.head else {}
    item_lines: dict[str, int] = {}
    for line in lines:
        if reference is not None and line is not reference and line.head is not None:
            for column, value in _head_values(line.head).items():
                if value != expected[column]:
                    line.problems.append(
                        f"{column} is '{line.raw[column]}' here but "
                        f"'{reference.raw[column]}' on line {reference.line}"
                    )
        if line.item_id in item_lines:
            line.problems.append(
                f"item_id '{line.item_id}' is also on line {item_lines[line.item_id]}"
                f" of order {order_id}"
            )
        elif line.item_id:
            item_lines[line.item_id] = line.line


def _generic_record(order_id: str, lines: list[_Line]) -> OrderRecord:
    """The order from lines that all read well and agree; unnamed items are numbered in
    file order, so re-importing the same file updates rather than duplicates them."""
    items = []
    for number, line in enumerate(lines, start=1):
        assert line.item is not None
        items.append(
            OrderItemRecord(
                platform_item_id=line.item_id or f"{order_id}-{number}",
                title=line.item.title,
                sku=line.item.sku,
                quantity=line.item.quantity,
                unit_price=line.item.unit_price,
                amount=(line.item.unit_price * line.item.quantity).quantize(CENT),
            )
        )
    head = lines[0].head
    assert head is not None
    return head.model_copy(update={"items": items})


# A store fed by uploads: nothing to sign in to and nothing to sync.
# Imports are mostly Taobao's seller-center export: its buyers read Chinese.
manifest = ConnectorManifest(platform="csv", label="CSV import", base_url_label="")
