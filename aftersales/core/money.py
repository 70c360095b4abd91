"""Money is Decimal plus a currency, never float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def to_decimal(value: str | int | Decimal) -> Decimal:
    """Parse a platform amount; floats are refused because they already lost cents."""
    if isinstance(value, float):
        raise TypeError("money must not be a float")
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


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
