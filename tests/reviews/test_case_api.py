"""The review follow-up API: contacts, reply, close (version, Idempotency-Key), and classify."""

from __future__ import annotations

import httpx
import pytest

from aftersales.core.models import Role
from aftersales.reviews import classify
from aftersales.reviews.case_api import MAX_CLASSIFY_TEXT
from aftersales.reviews.models import ContactAttempt, ReplyState, ReviewCase, ReviewCaseStatus
from tests.orders.test_api import bearer
from tests.reviews.factories import create_review_case

pytestmark = pytest.mark.usefixtures("clean_db")


async def test_a_contact_is_created_once_per_idempotency_key(client: httpx.AsyncClient) -> None:
    case = await create_review_case()
    headers = {**await bearer(Role.AGENT), "Idempotency-Key": "contact-1"}
    body = {"channel": "phone", "result": "reached", "note": "已致歉", "version": case.version}
    first = await client.post(
        f"/api/v1/review-cases/{case.id}/contacts", json=body, headers=headers
    )
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "contacting" and first.json()["first_contact_at"]
    again = await client.post(
        f"/api/v1/review-cases/{case.id}/contacts", json=body, headers=headers
    )
    assert again.status_code == 201 and again.json()["version"] == first.json()["version"]
    assert await ContactAttempt.filter(case_id=case.id).count() == 1


async def test_a_stale_version_is_a_409_and_a_bad_channel_a_400(client: httpx.AsyncClient) -> None:
    case = await create_review_case()
    headers = await bearer(Role.AGENT)
    url = f"/api/v1/review-cases/{case.id}/contacts"
    stale = await client.post(
        url, json={"channel": "chat", "result": "reached", "version": 99}, headers=headers
    )
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "review_case_conflict"
    bad = await client.post(url, json={"channel": "pigeon", "result": "reached"}, headers=headers)
    assert bad.status_code == 400 and "chat" in bad.json()["error"]["message"]
    missing = await client.post(url, json={"result": "reached"}, headers=headers)
    assert missing.status_code == 400
    assert await ContactAttempt.filter(case_id=case.id).count() == 0


async def test_a_reply_and_a_close_through_the_api(client: httpx.AsyncClient) -> None:
    case = await create_review_case()
    headers = await bearer(Role.AGENT)
    reply = await client.post(
        f"/api/v1/review-cases/{case.id}/reply",
        json={"text": "亲，非常抱歉，我们已经改进包装。"},
        headers=headers,
    )
    assert reply.status_code == 200 and reply.json()["reply_state"] == "manual"
    tied = await client.post(
        f"/api/v1/review-cases/{case.id}/reply",
        json={"text": "好评返现10元"},
        headers={**headers, "Accept-Language": "zh-CN"},
    )
    assert tied.status_code == 422 and tied.json()["error"]["code"] == "remedy_tied_to_review"
    assert "评价" in tied.json()["error"]["message"]
    by_hand = await client.post(
        f"/api/v1/review-cases/{case.id}/close",
        json={"outcome": "revised", "version": reply.json()["version"]},
        headers=headers,
    )
    assert by_hand.status_code == 400, by_hand.text  # the synced rating says "revised"
    assert by_hand.json()["error"]["code"] == "review_outcome_automatic"
    closed = await client.post(
        f"/api/v1/review-cases/{case.id}/close",
        json={"outcome": "positive_follow_up", "version": reply.json()["version"]},
        headers=headers,
    )
    assert closed.status_code == 200, closed.text
    assert (closed.json()["status"], closed.json()["outcome"]) == ("closed", "positive_follow_up")
    fresh = await ReviewCase.get(id=case.id)
    assert fresh.status is ReviewCaseStatus.CLOSED and fresh.reply_state is ReplyState.MANUAL
    unknown = await client.post(
        f"/api/v1/review-cases/{case.id}/close", json={"outcome": "happy"}, headers=headers
    )
    assert unknown.status_code == 400


async def test_the_api_needs_a_token(client: httpx.AsyncClient) -> None:
    case = await create_review_case()
    anonymous = await client.post(
        f"/api/v1/review-cases/{case.id}/contacts", json={"channel": "chat", "result": "reached"}
    )
    assert anonymous.status_code == 401
    assert (await client.post("/api/v1/reviews/classify", json={"text": "差"})).status_code == 401


async def test_classify_answers_the_contract_and_refuses_bad_input(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = await bearer(Role.AGENT)

    def model(text: str) -> classify.Classification:  # the trained model's stand-in
        reasons = (
            (classify.ReasonScore(classify.REVIEW_REASONS[1], 0.8765),) if "慢" in text else ()
        )
        sentiment = classify.Sentiment.NEGATIVE if reasons else classify.Sentiment.POSITIVE
        return classify.Classification(sentiment, 0.9, reasons, "test")

    monkeypatch.setattr(classify, "classify_text", model)
    answer = await client.post(
        "/api/v1/reviews/classify", json={"text": "物流太慢"}, headers=headers
    )
    assert answer.status_code == 200
    assert answer.json() == {
        "negative": True,
        "sentiment": "negative",
        "reasons": [{"reason": "logistics", "confidence": 0.8765}],
    }
    praise = await client.post("/api/v1/reviews/classify", json={"text": "很好"}, headers=headers)
    assert praise.json() == {"negative": False, "sentiment": "positive", "reasons": []}
    for body in (
        {},
        {"text": ""},
        {"text": "   "},
        {"text": 5},
        {"text": "差" * (MAX_CLASSIFY_TEXT + 1)},
    ):
        refused = await client.post("/api/v1/reviews/classify", json=body, headers=headers)
        assert refused.status_code == 400, body
    not_json = await client.post(
        "/api/v1/reviews/classify",
        content=b"{",
        headers={**headers, "Content-Type": "application/json"},
    )
    assert not_json.status_code == 400


async def test_the_steps_are_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/v1/openapi.json", headers=await bearer(Role.AGENT))).json()
    paths = spec["paths"]
    for step in ("contacts", "reply", "close"):
        assert "post" in paths[f"/api/v1/review-cases/{{case_id}}/{step}"]
    assert "post" in paths["/api/v1/reviews/classify"]
