"""Complaint pages: the open list (what the tiles link to) and one complaint with its history."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from aftersales.core import cases, clock
from aftersales.core.api import number_or_none
from aftersales.core.auth import current_user
from aftersales.core.errors import InvalidInput
from aftersales.core.i18n import N_
from aftersales.core.i18n import gettext as _
from aftersales.core.templating import flash, render
from tests.plugins.complaints import service
from tests.plugins.complaints.models import OPEN_STATUSES, Complaint, ComplaintStatus


async def open_list(request: Request) -> Response:
    """Open complaints, ``?due=soon`` or ``?due=overdue`` as the home tiles count them."""
    now = clock.now()
    query = Complaint.filter(status__in=list(OPEN_STATUSES))
    due = request.query_params.get("due")
    if due == "soon":
        query = query.filter(**cases.due_soon_filter(now))
    elif due == "overdue":
        query = query.filter(due_at__lt=now)
    complaints = await query.order_by("due_at", "id")
    return render(request, "complaints/list.html", {"complaints": complaints, "due": due})


async def detail(request: Request) -> Response:
    complaint = await service.get_complaint(request.path_params["complaint_id"])
    return render(
        request,
        "complaints/detail.html",
        {
            "complaint": complaint,
            "history": await cases.history(complaint, also=[complaint.assignee_id]),
            "moves": sorted(complaint.machine().transitions[complaint.status]),
            "due_soon": cases.is_due_soon(complaint),
        },
    )


def _version(value: object) -> int | None:
    return number_or_none(value) if isinstance(value, str) else None


async def move(request: Request) -> Response:
    complaint_id = request.path_params["complaint_id"]
    form = await request.form()
    try:
        new_status = ComplaintStatus(str(form.get("to") or ""))
    except ValueError:
        raise InvalidInput(N_("Choose a status."), code="bad_status") from None
    await service.move(
        complaint_id,
        new_status,
        actor=current_user(request),
        expected_version=_version(form.get("version")),
        note=str(form.get("note") or ""),
    )
    flash(request, _("Saved."))
    return RedirectResponse(f"/complaints/{complaint_id}", status_code=303)


async def assign(request: Request) -> Response:
    complaint_id = request.path_params["complaint_id"]
    form = await request.form()
    await service.assign(
        complaint_id, current_user(request), expected_version=_version(form.get("version"))
    )
    flash(request, _("Saved."))
    return RedirectResponse(f"/complaints/{complaint_id}", status_code=303)


routes = [
    Route("/", open_list),
    Route("/{complaint_id:int}", detail),
    Route("/{complaint_id:int}/move", move, methods=["POST"]),
    Route("/{complaint_id:int}/assign", assign, methods=["POST"]),
]
