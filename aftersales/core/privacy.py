"""Buyer contact details: shown whole only to roles that need them."""

from __future__ import annotations

from collections.abc import Mapping

from aftersales.core.auth import MANAGERS
from aftersales.core.models import Role
from connectors import registry


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


def decryptable(platform: str, ciphertext: Mapping[str, str] | None) -> bool:
    """Whether the platform can decrypt this buyer's stored ciphertext on request.

    The desk asks the connector's capability, never a platform by name.
    """
    manifest = registry.find(platform)
    return bool(
        ciphertext
        and manifest is not None
        and manifest.syncs
        and manifest.capabilities.decrypt_contact
    )


def may_reveal(role: Role, platform: str, ciphertext: Mapping[str, str] | None) -> bool:
    """Whether a "show full contact" button is offered: the role and the platform both."""
    return can_see_contact(role) and decryptable(platform, ciphertext)
