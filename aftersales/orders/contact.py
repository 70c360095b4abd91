"""A buyer's full contact details, decrypted by the platform for one page and kept nowhere.

Platforms that encrypt buyer details send masked values (stored as the
customer's name, phone and address) and ciphertext (``contact_ciphertext``).
A person whose role may see contact details asks for the full ones; the
connector asks the platform to decrypt, the audit trail records who saw which
fields of which order, and the plaintext goes into that one response only:
not the database, not the audit, not a log, not a cache.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aftersales.core import audit, failures, privacy
from aftersales.core.errors import AfterSalesError, Msgid, PermissionDenied
from aftersales.core.i18n import N_
from aftersales.core.models import Store, User
from aftersales.orders.models import Customer
from connectors.base import CONTACT_FIELDS, ConnectorError, Decrypted

log = logging.getLogger("aftersales.contact")


class ContactUnavailable(AfterSalesError):
    """The platform could not decrypt just now; the page shows the masked values."""

    status = 424  # the platform failed the request it depends on: the desk itself did not
    code = "contact_unavailable"
    msgid = N_("The platform could not show the full contact details: %(reason)s")


@dataclass(frozen=True)
class FullContact:
    """The plaintext for one response; ``refused`` names the fields the platform kept back."""

    name: Decrypted | None = None
    phone: Decrypted | None = None
    address: Decrypted | None = None
    refused: tuple[str, ...] = ()


def may_reveal(user: User, store: Store, customer: Customer) -> bool:
    return privacy.may_reveal(user.role, store.platform, customer.contact_ciphertext)


async def reveal_contact(
    customer: Customer,
    *,
    actor: User,
    secret_key: str,
    subject_type: str,
    subject_id: int,
) -> FullContact:
    """Decrypt the buyer's contact through the store's connector, audited.

    ``subject_type``/``subject_id`` name the page it is shown on (an order, a
    customer). The audit entry names the fields shown and those refused, never
    a value. Refused to roles that may not see contact details (403).
    """
    if not privacy.can_see_contact(actor.role):
        raise PermissionDenied(N_("Your role may not see buyers' full contact details."))
    store = await Store.get(id=customer.store_id)
    if not privacy.decryptable(store.platform, customer.contact_ciphertext):
        raise PermissionDenied(N_("This buyer's contact details cannot be decrypted here."))
    from aftersales.orders.sync import connector_for

    ciphertext = customer.contact_ciphertext or {}
    names = [name for name in CONTACT_FIELDS if ciphertext.get(name)]
    connector = connector_for(store, secret_key)
    try:
        results = await connector.decrypt_contact([ciphertext[name] for name in names])
    except (ConnectorError, OSError) as exc:
        failure = failures.of_exception(exc)
        # The class only: a platform's answer to a decryption may quote what it decrypted.
        log.warning("decrypting contact of customer %s failed: %s", customer.id, failure.code)
        raise ContactUnavailable(
            reason=Msgid(failures.reason(failure.code)), obj=customer
        ) from None
    finally:
        await connector.aclose()
    found = dict(zip(names, results, strict=True))
    shown = tuple(name for name in names if found[name].text is not None)
    refused = tuple(name for name in names if found[name].text is None)
    await audit.record(
        "contact.decrypted",
        subject_type=subject_type,
        subject_id=subject_id,
        actor=actor,
        data={"customer": customer.id, "fields": list(shown), "refused": list(refused)},
    )
    return FullContact(
        name=found.get("name") if "name" in shown else None,
        phone=found.get("phone") if "phone" in shown else None,
        address=found.get("address") if "address" in shown else None,
        refused=refused,
    )
