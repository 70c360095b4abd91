"""The guard rail: nothing offered or said is tied to the buyer changing the review.

The checker reads Chinese and English; every phrase the desk ships (all
modules, both languages, through the registry) passes it; and a remedy or a
reply that ties value to the rating is refused with a translated 422, with
nothing recorded.
"""

from __future__ import annotations

import pytest

from aftersales.core import i18n
from aftersales.core.models import Role
from aftersales.core.modules import Registry, all_modules
from aftersales.core.phrases import SEEDS
from aftersales.reviews import guard, service
from aftersales.reviews.models import Remedy, RemedyKind, ReplyState, ReviewCase
from tests.factories import create_user
from tests.reviews.factories import create_review_case

TIED = [
    "亲，给个好评返现5元哦",
    "五星好评后联系客服领红包",
    "麻烦您改评一下，我们给您补偿20元",
    "删评后我们马上退款",
    "您修改评价以后，我们返现10元",
    "追评晒图送优惠券",
    "为您补偿10元。麻烦您把评价改成好评，谢谢",  # tied across a full stop
    "We will refund you if you change your review.",
    "Please update your rating to 5 stars and we will send a coupon.",
    "Remove the review and get cash back.",
    "Leave a positive review for a $5 voucher!",
    "We'll give you a discount. Could you edit your feedback?",
]
FINE = [
    "亲，非常抱歉给您带来不好的体验，已为您补偿10元。",
    "感谢您的评价，质量问题我们已反馈给品控。",
    "为您补发一件，请注意查收。",
    "We are sorry; we have refunded 10 yuan to your original payment method.",
    "Thank you for your review. We have fixed the size chart.",
    "We reviewed our packaging and sent a replacement.",
]


@pytest.mark.parametrize("text", TIED)
def test_the_checker_catches_a_remedy_tied_to_the_review(text: str) -> None:
    found = guard.findings(text)
    assert found is not None, text
    assert found.rating and found.value


@pytest.mark.parametrize("text", FINE)
def test_the_checker_lets_an_apology_or_a_plain_remedy_through(text: str) -> None:
    assert guard.findings(text) is None, text


def shipped_phrases() -> list[tuple[str, str, str]]:
    registry = Registry(all_modules())
    return [(p.key, p.language, p.body) for p in [*SEEDS, *registry.seed_phrases()]]


def test_no_shipped_phrase_asks_for_a_rating_change_in_exchange_for_anything() -> None:
    phrases = shipped_phrases()
    keys = {key for key, _, _ in phrases}
    languages = {language for _, language, _ in phrases}
    # The scan reads what it should: every module's phrases, the review ones, both languages.
    assert {"core.review.zh", "reviews.explain.quality.zh", "reviews.apology.en"} <= keys
    assert {"returns.refuse.used.zh"} <= keys
    assert languages == {"zh-CN", "en"}
    tied = [(key, guard.findings(body)) for key, _, body in phrases if guard.findings(body)]
    assert tied == []


def test_the_review_phrases_are_polite_with_placeholders_in_both_languages() -> None:
    ours = [(k, lang, body) for k, lang, body in shipped_phrases() if k.startswith("reviews.")]
    assert {lang for _, lang, _ in ours} == {"zh-CN", "en"}
    for key, language, body in ours:
        assert "{buyer_nick}" in body, key
        assert "{item}" in body or "{order_no}" in body, key
        polite = ("抱歉", "致歉", "歉意") if language == "zh-CN" else ("sorry", "apologise")
        assert any(word in body for word in polite), key


@pytest.mark.usefixtures("clean_db")
async def test_a_remedy_tied_to_the_review_is_refused_in_the_readers_language() -> None:
    agent = await create_user(role=Role.AGENT)
    case = await create_review_case()
    with pytest.raises(guard.TiedToReview) as refused:
        await service.offer_remedy(
            case.id, actor=agent, kind=RemedyKind.COUPON, amount="5",
            offer="您改成好评后送您5元优惠券", why="挽回差评",
        )  # fmt: skip
    assert refused.value.status == 422 and refused.value.code == "remedy_tied_to_review"
    with i18n.speaking("zh_CN"):
        assert "不得" in refused.value.message or "不能" in refused.value.message
    assert await Remedy.filter(case_id=case.id).count() == 0
    assert (await ReviewCase.get(id=case.id)).version == case.version


@pytest.mark.usefixtures("clean_db")
async def test_a_reply_tied_to_the_review_is_refused_and_not_sent() -> None:
    agent = await create_user(role=Role.AGENT)
    case = await create_review_case()
    with pytest.raises(guard.TiedToReview):
        await service.post_reply(case.id, actor=agent, text="亲，删评后给您退款哦")
    assert (await ReviewCase.get(id=case.id)).reply_state is ReplyState.NONE
