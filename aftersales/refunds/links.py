"""Which case works a refund: one request from the buyer, one work item on the desk.

A return-and-refund is one request on the platform, carried here by two
rows: the refund (the money) and the return case (the goods). It is worked
in one place, the return case, which decides the goods and, through the
refunds service, the money. The refunds module must not import returns, so
the link is a field on the refund, ``Refund.worked_in``, holding the
working case's ``CaseRef``: the owning module writes it with ``work_in``
when it links the refund and clears it with ``release`` when its case ends
(closed or withdrawn), after which whatever is left of the refund is the
refund queue's again. Refunds reads it to keep such a refund off its
"work to do" lists, tiles and order badges, to refuse a second decision or
take from the refund page, and to point to the case, resolved through the
registry (``resolve_case``) so refunds never names the other module.

A link to a module that is switched off is void: the refund is worked here.
"""

from __future__ import annotations

from collections.abc import Iterable

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q

from aftersales.core import audit, cases, modules, referrals
from aftersales.core.cases import CaseRef, ResolvedCase
from aftersales.core.errors import InvalidInput
from aftersales.refunds.errors import WorkedInCase
from aftersales.refunds.models import Refund


async def work_in(refund_id: int, case: CaseRef, conn: BaseDBAsyncClient) -> None:
    """``case`` works this refund from now on; audited on the refund's timeline once.

    A referral the refund waits in moves to ``case`` with its note
    (``referrals.carry``): the refund can no longer be decided on its own
    page, so the supervisor's one item is the case that decides it.
    """
    changed = (
        await Refund.filter(id=refund_id)
        .filter(Q(worked_in__isnull=True) | ~Q(worked_in=str(case)))
        .using_db(conn)
        .update(worked_in=str(case))
    )
    if changed:
        await audit.record(
            "refund.linked",
            subject_type="refund",
            subject_id=refund_id,
            data={"case": str(case)},
            using_db=conn,
        )
        model = cases.case_model(case)
        working = await model.get_or_none(id=case.id).using_db(conn) if model else None
        if working is not None:
            refund = await Refund.get(id=refund_id).using_db(conn)
            await referrals.carry(refund, working, conn=conn)


async def release(refund_id: int, case: CaseRef, conn: BaseDBAsyncClient) -> None:
    """``case`` ended: the refund is no longer worked there (another case's link stays)."""
    changed = (
        await Refund.filter(id=refund_id, worked_in=str(case)).using_db(conn).update(worked_in=None)
    )
    if changed:
        await audit.record(
            "refund.unlinked",
            subject_type="refund",
            subject_id=refund_id,
            data={"case": str(case)},
            using_db=conn,
        )


def _working_modules() -> list[str]:
    return [m.name for m in modules.current().modules if m.resolve_case is not None]


def linked() -> Q:
    """The refunds another enabled module's case works: off the refund queue's work."""
    names = _working_modules()
    if not names:
        return Q(id__lt=0)  # nothing: no enabled module works refunds
    return Q(*[Q(worked_in__startswith=f"{name}:") for name in names], join_type="OR")


def worked_here() -> Q:
    """The refunds ``linked()`` leaves: no link, or one to a module that is switched off.

    Spelled out rather than ``exclude(linked())``: SQL's NOT of a comparison
    with NULL is NULL, which would leave out every refund without a link.
    """
    return Q(worked_in__isnull=True) | ~linked()


def is_linked(refund: Refund) -> bool:
    """``linked()`` for one row already read."""
    ref = refund.worked_in or ""
    return bool(ref) and ref.partition(":")[0] in _working_modules()


async def working_case(refund: Refund) -> ResolvedCase | None:
    """The case this refund is worked in (title and link), None when it is worked here."""
    if not is_linked(refund):
        return None
    try:
        ref = CaseRef.parse(refund.worked_in or "")
    except InvalidInput:
        return None
    return await modules.current().resolve_case(ref)


async def working_cases(refunds: Iterable[Refund]) -> dict[int, ResolvedCase]:
    """``working_case`` for a page of refunds, by refund id: one registry call, not one per row.

    Refunds worked here, or whose case is gone, are left out.
    """
    refs: dict[int, CaseRef] = {}
    for refund in refunds:
        if is_linked(refund):
            try:
                refs[refund.id] = CaseRef.parse(refund.worked_in or "")
            except InvalidInput:
                continue
    resolved = await modules.current().resolve_cases(refs.values())
    return {rid: resolved[ref] for rid, ref in refs.items() if ref in resolved}


async def check_free(refund: Refund, *, case: CaseRef | None = None) -> None:
    """Refuse (409 ``refund_worked_in_case``) a decision or take that does not come from
    the case that works ``refund``; ``case`` is the caller's own case, if any."""
    if not is_linked(refund) or (case is not None and str(case) == refund.worked_in):
        return
    resolved = await working_case(refund)
    raise WorkedInCase(refund, case=resolved.text if resolved else str(refund.worked_in))
