"""Buyer contact details: shown whole only to roles that need them."""

from __future__ import annotations

from aftersales.core.auth import MANAGERS
from aftersales.core.models import Role


def can_see_contact(role: Role) -> bool:
    return role in MANAGERS


def mask_phone(phone: str | None) -> str:
    """Keep the last four digits: enough to match a caller, not to call."""
    if not phone:
        return ""
    digits = phone.strip()
    return "*" * max(len(digits) - 4, 3) + digits[-4:]


def mask_address(address: str | None) -> str:
    """Keep the first six characters (province and city), hide the street."""
    if not address:
        return ""
    return address[:6] + "****"


def phone_for(role: Role, phone: str | None) -> str:
    return (phone or "") if can_see_contact(role) else mask_phone(phone)


def address_for(role: Role, address: str | None) -> str:
    return (address or "") if can_see_contact(role) else mask_address(address)
