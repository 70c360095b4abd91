"""Page mechanics every case queue shares: its filters, its page, a step from a form, a take.

Refunds and returns (and any later case type) read the same query
parameters for the filters of ``paging.QueueFilters`` and answer a case form
the same way: run one service call, flash its outcome, go back to the case.
What differs (a module's own filters, fields and templates) stays in the
module; this is only the part that would otherwise be written twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterable
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from aftersales.core import case_api, cases
from aftersales.core.api import MAX_PAGE, number_or_none
from aftersales.core.auth import BUYER_EDITORS, current_user
from aftersales.core.case_api import Refer
from aftersales.core.errors import AfterSalesError, InvalidInput
from aftersales.core.i18n import N_
from aftersales.core.i18n import gettext as _
from aftersales.core.models import Store, User
from aftersales.core.photos import photo_response
from aftersales.core.privacy import address_for, may_reveal, phone_for
from aftersales.core.reasons import LABELS, ReasonCode
from aftersales.core.templating import flash, render

E = TypeVar("E", bound=Enum)

Endpoint = Callable[[Request], Awaitable[Response]]
Fields = dict[str, str]


def choice(kind: type[E], value: str | None) -> E | None:
    """``value`` as a member of ``kind``; anything else (a stale link, a typo) is no filter."""
    return kind(value) if value in {e.value for e in kind} else None


async def queue_filters(
    request: Request, *, statuses: type[Enum], kinds: type[Enum]
) -> dict[str, Any]:
    """The ``QueueFilters`` fields read from the query string, as every case queue reads them.

    A module passes them, with its own filters, to its ``QueueFilters``
    subclass; a bad value is dropped rather than refused, since a queue link
    may outlive the status or kind it named.
    """
    q = request.query_params
    user = current_user(request)
    due = q.get("due", "") if q.get("due") in cases.DUE_FILTERS else ""
    return {
        "store_id": number_or_none(q.get("store")),
        "status": choice(statuses, q.get("status")),
        "kind": choice(kinds, q.get("kind")),
        "reason": choice(ReasonCode, q.get("reason")),
        "due": due,
        "assignee_id": user.id if q.get("assignee") == "me" else None,
        "unassigned": q.get("assignee") == "none",
        "open_only": q.get("status") in (None, "", "open"),
        "page": number_or_none(q.get("page"), maximum=MAX_PAGE) or 1,
        "zone": request.app.state.settings.zone,
        "shift_end": await case_api.shift_end(request, due),
    }


async def queue_page(
    request: Request, template: str, *, result: Any, filters: Any, **context: Any
) -> Response:
    """A queue page: the rows, the filters, the query kept for the pager, the shared choices.

    Rows that carry their ``customer`` get the buyers' flags, asked once for the page.
    """
    params = {k: v for k, v in request.query_params.items() if k != "page"}
    buyers = await buyer_context(request, (getattr(row, "customer", None) for row in result.rows))
    return render(
        request,
        template,
        {
            "result": result,
            "filters": filters,
            "params": params,
            "args": urlencode(params),
            "stores": await Store.all().order_by("id"),
            "reasons": LABELS,
            "due_soon": cases.is_due_soon,
            **buyers,
            **context,
        },
    )


async def buyer_context(request: Request, customers: Iterable[Any]) -> dict[str, Any]:
    """What the buyer macros of ``_case.html`` read beside the customers themselves.

    ``buyer_flags``: what the modules mark on these buyers (frequent refunds),
    one registry call for the whole page, so a queue costs no query per row.
    ``may_edit_buyer``: whether the reader may change tags and notes (the form
    shows only then; the orders route checks the role again).
    """
    ids = sorted({c.id for c in customers if c is not None})
    return {
        "buyer_flags": await request.app.state.registry.buyer_flags(ids),
        "may_edit_buyer": current_user(request).role in BUYER_EDITORS,
    }


def buyer_contact(request: Request, customer: Any, store: Any = None) -> dict[str, Any]:
    """The buyer's phone and address on a case page, masked unless the reader's role sees them.

    ``may_reveal_contact``: the order card offers "show full contact" (the order
    page decrypts, for one response) where the role and the store's platform allow.
    """
    if customer is None:
        return {"phone": None, "address": None, "may_reveal_contact": False}
    role = current_user(request).role
    return {
        "phone": phone_for(role, customer.phone),
        "address": address_for(role, customer.address),
        "may_reveal_contact": store is not None
        and may_reveal(role, store.platform, customer.contact_ciphertext),
    }


async def stored_photo(
    request: Request,
    fetch: Callable[[int, int, Path], Awaitable[tuple[Path, str]]],
    *,
    case: str,
    photo: str,
) -> Response:
    """A photo kept with a case, found by ``fetch(case_id, photo_id, data_dir)``."""
    path, content_type = await fetch(
        request.path_params[case], request.path_params[photo], request.app.state.settings.data_dir
    )
    return photo_response(path, content_type)


async def form_fields(request: Request) -> Fields:
    """The text fields of a posted form (uploads are read by the routes that take them)."""
    form = await request.form()
    return {k: str(v) for k, v in form.items() if isinstance(v, str)}


def form_version(fields: Fields) -> int | None:
    """The case version the page was rendered with; none or garbage means "do not check"."""
    return number_or_none(fields.get("version", ""))


async def outcome(
    request: Request, to: str, work: Callable[[], Awaitable[object]], done: str
) -> Response:
    """Run ``work``, flash how it went (its error, or ``done``) and go back to ``to``.

    An expected error is a flash on the page the agent came from, never an
    error page: nothing changed, and the form is still there to try again.
    """
    try:
        await work()
    except AfterSalesError as exc:
        flash(request, exc.message, "alert")
    else:
        flash(request, done)
    return RedirectResponse(to, status_code=303)


async def step(
    request: Request, to: str, action: Callable[[Fields], Awaitable[object]], done: str
) -> Response:
    """Run one step from a case's form; an error is flashed and nothing else changes."""
    fields = await form_fields(request)
    return await outcome(request, to, lambda: action(fields), done)


def back_to(target: object, default: str) -> str:
    """``target`` when it is a path on this site (the queue a row was assigned from, the
    refund a buyer card was edited on), else ``default``.

    The one check every "go back to" field passes through: ``//host``, a
    backslash (browsers read ``/\\host`` as another host), a scheme or a
    control character would send the agent off the desk after a post.
    """
    path = str(target or "")
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return default
    if not path.isprintable():
        return default
    parts = urlsplit(path)
    return path if not parts.netloc and not parts.scheme else default


async def assignee_of(fields: Fields, actor: User) -> User:
    """The colleague a form names (``assignee``: a user id), or the actor: a take."""
    return await cases.assignee(number_or_none(fields.get("assignee", "")), actor)


def assign(case_type: cases.CaseType, service: cases.Assign, *, param: str, taken: str) -> Endpoint:
    """The take / take over / give-to-a-colleague form of a case page or a queue row.

    The form names the case's ``version`` as the page showed it (so a take
    over, or a hand-over, of a case that changed hands meanwhile is refused)
    and, for a hand-over, the ``assignee``; ``next`` is where to go back (a
    queue). ``taken`` is the module's msgid for a take; a refusal (a stale
    version, a closed case, an agent handing work out) is flashed and nothing
    changes.
    """

    async def endpoint(request: Request) -> Response:
        case_id = request.path_params[param]
        fields = await form_fields(request)
        actor = current_user(request)
        to = back_to(fields.get("next"), case_type.page.format(id=case_id))
        try:
            if "assignee" in fields and not number_or_none(fields["assignee"]):
                # The select left on "unassigned": say so rather than take it for the manager.
                raise InvalidInput(N_("Choose the colleague to give it to."))
            user = await assignee_of(fields, actor)
            await service(case_id, user, expected_version=form_version(fields), actor=actor)
        except AfterSalesError as exc:
            flash(request, exc.message, "alert")
        else:
            flash(request, _(taken) if user.id == actor.id else _("Given to %(name)s.") % {
                "name": user.name
            })  # fmt: skip
        return RedirectResponse(to, status_code=303)

    return endpoint


def refer(case_type: cases.CaseType, service: Refer, *, param: str) -> Endpoint:
    """The "send to supervisor" form of a case page: the case waits in their list.

    The page's ``version`` guards the send like any step; a refusal (already
    sent, decided meanwhile, a stale page) is flashed and nothing changes.
    """

    async def endpoint(request: Request) -> Response:
        case_id = request.path_params[param]
        actor = current_user(request)
        return await step(
            request,
            case_type.page.format(id=case_id),
            lambda f: service(
                case_id, actor=actor, note=f.get("note", ""), expected_version=form_version(f)
            ),
            _("Sent to a supervisor. It waits in their list until they decide."),
        )

    return endpoint


async def assign_choices(reader: User, assignee_ids: Collection[int | None]) -> dict[str, Any]:
    """What the assign controls (``_assign.html``) need for ``reader``.

    ``may_assign``: a manager, who gives cases to ``workers`` (the active
    colleagues who work cases); ``assignee_names`` covers every assignee
    shown, a deactivated one too, who is no longer a choice.
    """
    may_assign = cases.may_assign_others(reader)
    workers = await cases.case_workers() if may_assign else []
    ids = {i for i in assignee_ids if i}
    names = {u.id: u.name for u in workers}
    missing = ids - names.keys()
    if missing:
        names |= {u.id: u.name for u in await User.filter(id__in=sorted(missing))}
    return {"workers": workers, "assignee_names": names, "may_assign": may_assign}


def take(
    case_type: cases.CaseType,
    assign: Callable[[int, User], Awaitable[object]],
    *,
    param: str,
    done: str,
) -> Endpoint:
    """The "take it" button of a case page: ``assign`` to the agent, say so, back to the case.

    ``done`` is a msgid, translated for the agent who clicked.
    """

    async def endpoint(request: Request) -> Response:
        case_id = request.path_params[param]
        await assign(case_id, current_user(request))
        flash(request, _(done))
        return RedirectResponse(case_type.page.format(id=case_id), status_code=303)

    return endpoint
