"""API mechanics every case type shares: the queue's filters and page, and a step's endpoint.

A case queue on the API is strict where the page is lenient: an unknown
status or a bad ``due`` is a 400, so a client learns of its typo. A step
reads the same things for every case type (the JSON body, the ``version``
the client saw, its ``Idempotency-Key``, who asks), calls one service
function and answers the case. What a type adds (its own filters, its own
fields, how it writes a case as JSON) stays in its module.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from aftersales.core import api, cases, clock
from aftersales.core.api import json_money, json_time
from aftersales.core.auth import current_user
from aftersales.core.errors import InvalidInput
from aftersales.core.i18n import N_
from aftersales.core.models import Referral, User
from aftersales.core.reasons import ReasonCode

if TYPE_CHECKING:
    from aftersales.core.modules import Registry

T = TypeVar("T")

Endpoint = Callable[[Request], Awaitable[Response]]

MAX_PER_PAGE = 500


def per_page(request: Request) -> int:
    """How many rows a page of a case queue holds (``per_page``, 1..500, default 50)."""
    return api.int_param(
        request.query_params.get("per_page"), 50, name="per_page", minimum=1, maximum=MAX_PER_PAGE
    )


async def shift_end(request: Request, due: str) -> datetime | None:
    """Where "this shift" ends now, as the rota says, when the ``due`` filter asks for it.

    Pages and the API build their queue filters with it, so ``?due=shift``
    follows the rota (``Registry.shift_end``), not a fixed day and night.
    """
    if due != "shift":
        return None
    registry: Registry = request.app.state.registry
    return await registry.shift_end(clock.now(), request.app.state.settings.zone)


async def queue_filters(
    request: Request, *, statuses: type[Enum], kinds: type[Enum]
) -> dict[str, Any]:
    """The ``QueueFilters`` fields of a case queue's query, each checked (400 when wrong)."""
    q = request.query_params
    due = q.get("due", "")
    if due and due not in cases.DUE_FILTERS:
        raise InvalidInput(
            N_("%(name)s must be one of %(choices)s."),
            name="due",
            choices=", ".join(cases.DUE_FILTERS),
            code="invalid_parameter",
        )
    status = q.get("status") or None
    assignee = q.get("assignee", "")
    return {
        "store_id": api.id_param(q.get("store_id"), name="store_id"),
        "status": api.choice_param(statuses, status if status != "open" else None, "status"),
        "kind": api.choice_param(kinds, q.get("kind"), "kind"),
        "reason": api.choice_param(ReasonCode, q.get("reason"), "reason"),
        "due": due,
        "assignee_id": current_user(request).id
        if assignee == "me"
        else (api.id_param(assignee, name="assignee") if assignee not in ("", "none") else None),
        "unassigned": assignee == "none",
        "open_only": status == "open",
        "page": api.page_param(q.get("page")),
        "zone": request.app.state.settings.zone,
        "shift_end": await shift_end(request, due),
    }


def page_json(items: list[dict[str, Any]], *, total: int, page: int, size: int) -> Response:
    """One page of a case queue, as every queue answers it."""
    return JSONResponse({"items": items, "total": total, "page": page, "per_page": size})


@dataclass(frozen=True)
class CaseAction:
    """One step asked of one case: what the service call needs from the request.

    The actor, version and key are read when the call asks for them, so a
    step that takes no version (adding a tracking number) does not refuse a
    body whose ``version`` it never reads.
    """

    request: Request
    case_id: int
    body: dict[str, Any]

    @property
    def actor(self) -> User:
        return current_user(self.request)

    @property
    def version(self) -> int | None:
        """The case version the client saw; a newer one refuses the step (409)."""
        return api.expected_version(self.body)

    @property
    def key(self) -> str | None:
        """The ``Idempotency-Key``: the same key for the same step answers it again."""
        return api.idempotency_key(self.request)


def action(
    param: str,
    call: Callable[[CaseAction], Awaitable[T]],
    answer: Callable[[T], Awaitable[Response]],
) -> Endpoint:
    """An endpoint for one step of a case: read the body, ``call`` the service, ``answer``."""

    async def endpoint(request: Request) -> Response:
        body = await api.json_body(request)
        return await answer(await call(CaseAction(request, request.path_params[param], body)))

    endpoint.__doc__ = call.__doc__  # the step's body, as its module documents it
    return endpoint


def referral_json(r: Referral) -> dict[str, Any]:
    """One referral as the API answers a send (``POST .../refer``), for any case type."""
    return {
        "id": r.id,
        "case": f"{r.module}:{r.kind}:{r.case_id}",
        "amount": json_money(r.amount) if r.amount is not None else None,
        "currency": r.currency or None,
        "note": r.note,
        "from_user_id": r.from_user_id,
        "to_role": r.to_role.value,
        "sent_at": json_time(r.created_at),
        "closed_at": json_time(r.closed_at),
        "outcome": r.outcome or None,
    }


class Refer(Protocol):
    """A module's ``refer`` service: send one of its cases to a supervisor."""

    def __call__(
        self, case_id: int, *, actor: User, note: str = "", expected_version: int | None = None
    ) -> Awaitable[Referral]: ...


def refer(param: str, service: Refer) -> Endpoint:
    """``POST .../{id}/refer``: send the case to a supervisor with ``note``.

    ``version`` is the case's as the client read it. The answer (201) is
    the referral, with ``case_version``: sending moves the case's version,
    so a client that decides next sends that one.
    """

    async def call(step: CaseAction) -> Referral:
        note = step.body.get("note", "")
        if not isinstance(note, str):
            raise InvalidInput(
                N_("%(name)s must be a string."), name="note", code="invalid_parameter"
            )
        return await service(
            step.case_id, actor=step.actor, note=note, expected_version=step.version
        )

    async def answer(referral: Referral) -> Response:
        model = cases.case_model(cases.CaseRef(referral.module, referral.kind, referral.case_id))
        case = await model.get_or_none(id=referral.case_id) if model else None
        body = referral_json(referral) | {"case_version": case.version if case else None}
        return JSONResponse(body, status_code=201)

    call.__doc__ = refer.__doc__
    return action(param, call, answer)


ASSIGN_BODY = {
    "type": "object",
    "properties": {
        "assignee": {"type": "integer", "minimum": 1},
        "version": {"type": "integer", "minimum": 1},
    },
}
"""Take a case (no ``assignee``, or one's own id) or, as a manager, give it to a colleague."""


def assign(
    param: str, service: cases.Assign, answer: Callable[[int], Awaitable[Response]]
) -> Endpoint:
    """``POST .../{id}/assign``: the page's take and hand-over, for scripts.

    ``version`` is the case's as the client read it: a case that changed
    hands (or anything else) meanwhile answers 409 and stays as it is.
    """

    async def call(step: CaseAction) -> int:
        raw = step.body.get("assignee")
        wanted = None if raw is None else api.body_int(raw, name="assignee")
        user = await cases.assignee(wanted, step.actor)
        await service(step.case_id, user, expected_version=step.version, actor=step.actor)
        return step.case_id

    call.__doc__ = assign.__doc__
    return action(param, call, answer)
