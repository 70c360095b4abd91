"""Platform write-backs that failed for good, as handover items of core.

An outbox row that ended ``failed`` (refused, or out of retries) is a
decision the desk took that the platform never heard of: until someone
retries it or makes the change in the platform's back office, the desk and
the platform disagree, and the platform may act by itself at its deadline.
So every such row is a handover item (``core:outbox:<id>``) until it is
delivered.

The item links to the case the write-back carries, found through the
registry: the payload names it either as ``case`` (a ``CaseRef``) or, as
refunds' write-backs do, by ``<kind>_id`` beside the kind's module prefix
(``refunds.writeback`` with ``refund_id`` -> ``refunds:refund:<id>``). Core
lists failed write-backs on no page of its own, so an item whose case cannot
be found has no link.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from aftersales.core import failures, modules
from aftersales.core.cases import CaseRef, HandoverItem, ResolvedCase, Severity
from aftersales.core.errors import InvalidInput, Msgid
from aftersales.core.events import OUTBOX_STATUSES
from aftersales.core.i18n import N_
from aftersales.core.models import OutboxMessage, OutboxStatus
from aftersales.core.modules import HandoverWindow

MODULE = "core"
KIND = "outbox"
COLUMNS = ("id", "kind", "payload", "status", "error_code", "attempts")


def case_refs(kind: str, payload: Mapping[str, Any]) -> list[CaseRef]:
    """The cases a write-back's payload may name, likeliest first (see the module docstring)."""
    found: list[CaseRef] = []
    named = payload.get("case")
    if isinstance(named, str):
        with contextlib.suppress(InvalidInput):  # not a reference: look for ids instead
            found.append(CaseRef.parse(named))
    module, dot, _ = kind.partition(".")
    if dot and module != MODULE:
        for key, value in payload.items():
            if key.endswith("_id") and isinstance(value, int) and not isinstance(value, bool):
                found.append(CaseRef(module, key.removesuffix("_id"), value))
    return [ref for ref in found if ref.module != MODULE]


async def case_links(messages: Iterable[OutboxMessage]) -> dict[int, ResolvedCase]:
    """Message id -> the case it carries, for all of them in one registry call."""
    candidates = {m.id: case_refs(m.kind, m.payload or {}) for m in messages}
    refs = [ref for group in candidates.values() for ref in group]
    if not refs:
        return {}
    resolved = await modules.current().resolve_cases(refs)
    links: dict[int, ResolvedCase] = {}
    for message_id, group in candidates.items():
        case = next((resolved[ref] for ref in group if ref in resolved), None)
        if case is not None:
            links[message_id] = case
    return links


async def handover_items(window: HandoverWindow) -> list[HandoverItem]:
    """Every write-back that failed for good and was not delivered since, oldest first.

    Not graded by the window: a failed write-back is late whenever it is
    read (the decision is already taken), so each one is overdue.
    """
    failed = (
        await OutboxMessage.filter(status=OutboxStatus.FAILED)
        .order_by("created_at", "id")
        .only(*COLUMNS)
    )
    links = await case_links(failed)
    return [_item(message, links.get(message.id)) for message in failed]


def _item(message: OutboxMessage, case: ResolvedCase | None) -> HandoverItem:
    return HandoverItem(
        ref=CaseRef(MODULE, KIND, message.id),
        msgid=N_("Write-back %(number)s did not reach the platform: %(reason)s"),
        params={"number": message.id, "reason": Msgid(failures.reason(message.error_code))},
        due_at=None,
        severity=Severity.OVERDUE,
        todo=N_(
            "Retry the write-back from its case, or make the same change "
            "in the platform's back office."
        ),
        if_fails=N_(
            "If neither works, tell a supervisor: the platform may act by itself at its deadline."
        ),
        href=case.href if case is not None and case.href else None,
    )


async def resolve_case(ref: CaseRef) -> ResolvedCase | None:
    return (await resolve_cases([ref])).get(ref)


async def resolve_cases(refs: Sequence[CaseRef]) -> dict[CaseRef, ResolvedCase]:
    """A write-back now: failed or retrying is open, delivered since is closed."""
    mine = [r for r in dict.fromkeys(refs) if (r.module, r.kind) == (MODULE, KIND)]
    if not mine:
        return {}
    messages = await OutboxMessage.filter(id__in=[r.id for r in mine]).only(*COLUMNS)
    by_id = {m.id: m for m in messages}
    links = await case_links(messages)
    found: dict[CaseRef, ResolvedCase] = {}
    for ref in mine:
        message = by_id.get(ref.id)
        if message is None:
            continue
        case = links.get(message.id)
        found[ref] = ResolvedCase(
            ref,
            N_("Write-back %(number)s"),
            case.href if case is not None else "",
            message.status.value,
            {"number": message.id},
            status_label=OUTBOX_STATUSES[message.status],
            open=message.status is not OutboxStatus.DELIVERED,
        )
    return found
