"""Report tables as CSV (one table) or XLSX (a sheet per table), for any module.

Owners take the figures into Excel, so a cell keeps what it means there: an
amount is a number with two decimals, a rate is a fraction formatted ``0.0%``
(Excel sums and charts it, where the text "12.3%" would be dead), hours are a
number with one decimal, a time is an Excel date in the store's time zone
(naive, since Excel has no zones). A table marks its rates and hours with
``Rate`` and ``Hours``; amounts are ``Decimal``, times ``date``/``datetime``.

CSV carries the same figures rounded as the desk shows them (``12.3%``,
``4.5``, ``2026-12-01 10:00`` local), because a CSV has no number formats.

No cell is ever a formula: text from the data (a product titled
``=HYPERLINK(...)``) is written as a string cell in XLSX, and prefixed with
``'`` in CSV, as OWASP's CSV-injection guidance says.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal

import xlsxwriter
from starlette.responses import Response

Table = tuple[list[str], list[list[object]]]

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RATE_FORMAT = "0.0%"
HOURS_FORMAT = "0.0"
MONEY_FORMAT = "0.00"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
MIN_WIDTH, MAX_WIDTH = 8, 60

# A spreadsheet runs a cell that starts with one of these as a formula (CSV
# injection): a product titled ``=HYPERLINK(...)`` must open as that text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Rate:
    """A share as a fraction (0.123); shown as a percentage with one decimal."""

    value: float | None


@dataclass(frozen=True)
class Hours:
    """A duration in hours; shown with one decimal."""

    value: float | None


def _local(value: datetime, zone: tzinfo) -> datetime:
    """The store's wall-clock time, naive: what Excel can hold and the owner reads."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(zone).replace(tzinfo=None)


def _text(value: str) -> str:
    """Text as a spreadsheet shows it: a leading ``'`` keeps a formula-looking cell text."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def shown(value: object, zone: tzinfo = UTC) -> str:
    """A cell as CSV (and a column width) reads it: rounded like the desk shows it."""
    if value is None:
        return ""
    if isinstance(value, Rate):
        return "" if value.value is None else f"{value.value * 100:.1f}%"
    if isinstance(value, Hours):
        return "" if value.value is None else f"{value.value:.1f}"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return _local(value, zone).isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _csv_cell(value: object, zone: tzinfo) -> object:
    """Only text from the data is guarded, so a negative amount (``-5.00``) stays a number."""
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return shown(value, zone)


def to_csv(table: Table, *, zone: tzinfo = UTC) -> bytes:
    """UTF-8 with a byte-order mark, so Excel opens Chinese text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    headers, rows = table
    writer.writerow([_text(h) for h in headers])
    for row in rows:
        writer.writerow([_csv_cell(v, zone) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _width(text: str) -> int:
    """Columns Excel needs for the text: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def to_xlsx(all_tables: dict[str, Table], names: dict[str, str], *, zone: tzinfo = UTC) -> bytes:
    """One sheet per table, header bold and frozen, columns as wide as their content.

    Every cell is written by its type, never with ``worksheet.write``, which
    would store text starting with ``=`` as a formula.
    """
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "remove_timezone": True})
    bold = book.add_format({"bold": True})
    formats = {
        name: book.add_format({"num_format": spec})
        for name, spec in (
            ("money", MONEY_FORMAT),
            ("rate", RATE_FORMAT),
            ("hours", HOURS_FORMAT),
            ("date", DATE_FORMAT),
            ("datetime", DATETIME_FORMAT),
        )
    }
    for key, (headers, rows) in all_tables.items():
        sheet = book.add_worksheet(names.get(key, key)[:31])
        widths = [_width(h) for h in headers]
        for c, header in enumerate(headers):
            sheet.write_string(0, c, header, bold)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row):
                _write(sheet, r, c, value, formats, zone)
                if c < len(widths):
                    widths[c] = max(widths[c], _width(shown(value, zone)))
        for c, width in enumerate(widths):
            sheet.set_column(c, c, min(max(width + 2, MIN_WIDTH), MAX_WIDTH))
        sheet.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()


def _write(
    sheet: xlsxwriter.worksheet.Worksheet,
    r: int,
    c: int,
    value: object,
    formats: dict[str, xlsxwriter.format.Format],
    zone: tzinfo,
) -> None:
    if isinstance(value, Rate | Hours):
        if value.value is None:
            sheet.write_blank(r, c, None)
        else:
            kind = "rate" if isinstance(value, Rate) else "hours"
            sheet.write_number(r, c, float(value.value), formats[kind])
    elif isinstance(value, Decimal):
        sheet.write_number(r, c, float(value), formats["money"])
    elif isinstance(value, datetime):
        sheet.write_datetime(r, c, _local(value, zone), formats["datetime"])
    elif isinstance(value, date):
        sheet.write_datetime(r, c, value, formats["date"])
    elif isinstance(value, int | float) and not isinstance(value, bool):
        sheet.write_number(r, c, value)
    elif value is None or value == "":
        sheet.write_blank(r, c, None)
    else:
        sheet.write_string(r, c, str(value))


def csv_response(body: bytes, filename: str) -> Response:
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def xlsx_response(body: bytes, filename: str) -> Response:
    return Response(
        body,
        media_type=XLSX_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
