"""Money is Decimal plus a currency, never float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from aftersales.core.errors import InvalidInput
from aftersales.core.i18n import N_

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("9999999999.99")
"""The largest amount an amount column holds (``DECIMAL(12, 2)``)."""


def to_decimal(value: str | int | Decimal) -> Decimal:
    """Parse a platform amount; floats are refused because they already lost cents."""
    if isinstance(value, float):
        raise TypeError("money must not be a float")
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def parse_amount(
    value: str | int | Decimal, *, name: str, minimum: Decimal = CENT, maximum: Decimal = MAX_AMOUNT
) -> Decimal:
    """An amount typed by a person or a client: finite, two decimals at most, in bounds.

    ``Decimal`` accepts ``NaN``, ``Infinity`` and ``1e999999``; the first two
    break every comparison after them and the last overflows the column, so
    they are refused here, with the field's name, before any rule sees them.
    """
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        amount = Decimal("NaN")
    if not amount.is_finite():
        raise InvalidInput(
            N_("%(name)s is not an amount: write a number such as 12.50."),
            name=name,
            code="invalid_amount",
        )
    if not minimum <= amount <= maximum:
        if minimum > 0:
            message = N_("%(name)s must be positive and at most %(max)s.")
        else:
            message = N_("%(name)s must be zero or more and at most %(max)s.")
        raise InvalidInput(message, name=name, max=f"{maximum:.2f}", code="invalid_amount")
    if amount != amount.quantize(CENT):
        raise InvalidInput(
            N_("%(name)s has more than two decimals."), name=name, code="invalid_amount"
        )
    return amount


def optional_amount(
    value: str | int | Decimal | None, *, name: str, minimum: Decimal = Decimal(0)
) -> Decimal | None:
    """An amount a form or query may leave blank (a filter, a rule limit): blank is None.

    Anything else goes through ``parse_amount``, so pages, the API and the
    services refuse the same inputs with the same words.
    """
    if value is None or not str(value).strip():
        return None
    return parse_amount(value, name=name, minimum=minimum)


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str = "CNY"

    def __str__(self) -> str:
        return f"{self.amount:.2f} {self.currency}"

    def __add__(self, other: Money) -> Money:
        assert other.currency == self.currency, "cannot add different currencies"
        return Money(self.amount + other.amount, self.currency)


def format_money(amount: Decimal | None, currency: str = "CNY") -> str:
    if amount is None:
        return "-"
    symbol = {"CNY": "¥", "USD": "$", "EUR": "€"}.get(currency)
    return f"{symbol}{amount:,.2f}" if symbol else f"{amount:,.2f} {currency}"
