"""The outbox handler that posts a review case's reply on its platform.

It may run twice for one reply (a worker killed after the platform took it,
a lost answer): each attempt passes the same idempotency key, and the
connector looks at the review before it writes, so the reply appears once.
A refusal the platform will never take back (the window closed, the review
already explained) marks the reply failed and stops; anything else retries.
"""

from __future__ import annotations

from typing import Any

from aftersales.core.errors import Msgid
from aftersales.core.i18n import N_
from aftersales.core.modules import OutboxContext
from aftersales.core.outbox import PermanentFailure
from aftersales.orders.sync import connector_for
from aftersales.reviews import service
from aftersales.reviews.events import REPLY_STATES
from aftersales.reviews.models import ReplyState
from connectors.base import ReviewReply, ReviewReplyResult, WriteRefused


async def deliver(
    payload: dict[str, Any], idempotency_key: str, context: OutboxContext
) -> dict[str, Any]:
    found = await service.reply_to_send(int(payload["review_case_id"]))
    if found is None:
        raise PermanentFailure(N_("The review follow-up no longer exists."))
    case, review, store = found
    if case.reply_state is ReplyState.POSTED:
        return {"already_done": True}
    if case.reply_state is not ReplyState.QUEUED:
        raise PermanentFailure(
            N_("The reply is “%(state)s” now; it was not sent."),
            obj=case,
            state=Msgid(REPLY_STATES[case.reply_state]),
        )
    assert context.settings is not None, "the worker passes its settings"
    reply = ReviewReply(
        platform_review_id=review.platform_review_id,
        platform_order_id=review.platform_order_id or None,
        text=case.reply_text,
    )
    connector = connector_for(store, context.settings.secret_key)
    try:
        result: ReviewReplyResult = await connector.reply_review(
            reply, idempotency_key=idempotency_key
        )
    except WriteRefused as exc:
        await service.fail_reply(case.id, str(exc))
        # ``from exc``: the page says why the platform refused (core.failures reads the cause).
        raise PermanentFailure(N_("The platform refused the reply.")) from exc
    finally:
        await connector.aclose()
    await service.finish_reply(case.id, result.platform_reply, already_done=result.already_done)
    return result.model_dump(mode="json")
