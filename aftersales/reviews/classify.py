"""Sentiment and complaint reasons of a review's text, offline.

This is the contract the reviews module and the classify API are written
against. The trained text model and the reason lexicon replace the body of
``classify_text``; the signatures and result types stay.

The rating rule comes first because it is what the platform will hold the
shop to: a bad or neutral result, or stars at or below the store's
threshold, is a negative whatever the text says. The text can only add
negatives (a 好评 whose text complains), never remove one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from aftersales.core.reasons import ReasonCode

MODEL_VERSION = "rules-0"

# The reasons a review can give (DOMAIN.md, negative reviews); anything
# else is ``ReasonCode.OTHER`` (unclassified), which is better than a wrong one.
REVIEW_REASONS: tuple[ReasonCode, ...] = (
    ReasonCode.QUALITY,
    ReasonCode.LOGISTICS,
    ReasonCode.SERVICE,
    ReasonCode.NOT_AS_DESCRIBED,
    ReasonCode.SIZE_FIT,
    ReasonCode.DAMAGED,
    ReasonCode.WRONG_OR_MISSING,
    ReasonCode.PRICE,
    ReasonCode.AUTHENTICITY,
)


class Sentiment(StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


@dataclass(frozen=True)
class ReasonScore:
    reason: ReasonCode
    confidence: float


@dataclass(frozen=True)
class Classification:
    """What the desk concluded; ``negative`` is what opens a follow-up case.

    Neutral counts as negative: a lukewarm review is one the team follows up.
    """

    sentiment: Sentiment
    confidence: float  # of the sentiment, 0..1
    reasons: tuple[ReasonScore, ...]  # empty: unclassified
    model_version: str

    @property
    def negative(self) -> bool:
        return self.sentiment is not Sentiment.POSITIVE


def load() -> None:
    """Load the model once per process (the module's ``on_startup``)."""


def classify_text(text: str) -> Classification:
    """The text alone: what ``POST /api/v1/reviews/classify`` answers."""
    return Classification(Sentiment.POSITIVE, 0.0, (), MODEL_VERSION)


def rating_is_negative(*, rating: int | None, result: str | None, threshold: int) -> bool | None:
    """The platform's verdict: bad/neutral, or stars at or below ``threshold``.

    ``None`` when the platform gave neither (the text decides alone).
    """
    if result is not None:
        return result in ("bad", "neutral")
    if rating is not None:
        return rating <= threshold
    return None


def classify(
    text: str,
    *,
    append_text: str | None = None,
    rating: int | None = None,
    result: str | None = None,
    threshold: int = 3,
) -> Classification:
    """A review as synced: its rating rule combined with its text and 追评."""
    body = text if not append_text else f"{text}\n{append_text}"
    by_text = classify_text(body)
    by_rating = rating_is_negative(rating=rating, result=result, threshold=threshold)
    if by_rating and not by_text.negative:
        sentiment = (
            Sentiment.NEGATIVE
            if result == "bad" or (rating is not None and rating <= 2)
            else Sentiment.NEUTRAL
        )
        return Classification(sentiment, 1.0, by_text.reasons, by_text.model_version)
    return by_text
