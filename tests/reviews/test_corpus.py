"""The review classifier measured on the corpus we wrote ourselves (tests/fixtures/reviews).

The texts were written for this test and are never trained on, so these
figures say how the desk does on reviews it has not seen; README.md beside
the corpus gives the labeling rules. Each figure test prints its numbers and
repeats them in its assertion message, so they show with or without ``-s``.
Only figures are printed, never the texts a classifier gets wrong: whoever
tunes the classifier should fix what the figures point at, not these lines.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from aftersales.core.reasons import ReasonCode
from aftersales.reviews.classify import (
    REVIEW_REASONS,
    Sentiment,
    classify,
    classify_text,
    rating_is_negative,
)

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "reviews"
LANGUAGES = ("zh", "en")
HEADER = ["text", "rating", "result", "sentiment", "reasons"]
MIN_ROWS = {"zh": 300, "en": 100}
MIN_PER_REASON = {"zh": 15, "en": 5}
RESULTS = ("good", "neutral", "bad")
# The targets for the desk's real call (text, stars and result together).
MIN_PRECISION = MIN_RECALL = 0.9
MIN_REASON_ACCURACY = 0.8
# Where the classifier does not reach a target yet, issue 15 stays open for it and the
# test holds it to the floor below, a little under what was measured (2026-12-03, model
# nblr-eca588a206), so it cannot get worse unnoticed. A scope that reaches its target
# while listed here fails too, so the entry is removed and the full target holds again.
NOT_YET_MET: dict[tuple[str, str], float] = {}  # zh reasons reached 0.815 (203/249) on 2026-12-04


def _hold(kind: str, scope: str, figures: tuple[float, ...], target: float, message: str) -> None:
    """The target, or for a listed scope its floor (and the target not yet reached)."""
    floor = NOT_YET_MET.get((kind, scope))
    if floor is None:
        assert min(figures) >= target, message
        return
    print(f"{scope} {kind}: target {target} not met yet, held to {floor}")
    assert min(figures) < target, f"target met: drop {(kind, scope)} from NOT_YET_MET. {message}"
    assert min(figures) >= floor, message


@dataclass(frozen=True)
class Row:
    language: str
    line: int
    text: str
    rating: int | None
    result: str | None
    sentiment: Sentiment
    reasons: frozenset[ReasonCode]

    @property
    def negative(self) -> bool:
        """Neutral counts as negative, as on the desk: a lukewarm review is followed up."""
        return self.sentiment is not Sentiment.POSITIVE


def _parse(language: str, line: int, fields: list[str]) -> tuple[Row | None, list[str]]:
    where = f"corpus_{language}.tsv:{line}"
    if len(fields) != len(HEADER):
        return None, [f"{where}: {len(fields)} columns, want {len(HEADER)}"]
    text, rating, result, sentiment, reasons = fields
    problems = []
    if not 3 <= len(text) <= 120 or text != text.strip():
        problems.append(f"{where}: text of {len(text)} characters or padded")
    if rating and rating not in {"1", "2", "3", "4", "5"}:
        problems.append(f"{where}: rating {rating!r}")
    if result and result not in RESULTS:
        problems.append(f"{where}: result {result!r}")
    if sentiment not in {s.value for s in Sentiment}:
        problems.append(f"{where}: sentiment {sentiment!r}")
    codes = [code for code in reasons.split(",") if code] if reasons else []
    allowed = {code.value for code in REVIEW_REASONS}
    if [code for code in codes if code not in allowed] or len(set(codes)) != len(codes):
        problems.append(f"{where}: reasons {reasons!r}")
    if problems:
        return None, problems
    row = Row(
        language=language,
        line=line,
        text=text,
        rating=int(rating) if rating else None,
        result=result or None,
        sentiment=Sentiment(sentiment),
        reasons=frozenset(ReasonCode(code) for code in codes),
    )
    return row, []


@cache
def _read(language: str) -> tuple[tuple[Row, ...], tuple[str, ...]]:
    """The rows that parse, and what is wrong with the others."""
    path = CORPUS / f"corpus_{language}.tsv"
    with path.open(encoding="utf-8", newline="") as handle:
        lines = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    if not lines or lines[0] != HEADER:
        return (), (f"{path.name}: header {lines[:1]}, want {HEADER}",)
    rows: list[Row] = []
    problems: list[str] = []
    for number, fields in enumerate(lines[1:], start=2):
        row, found = _parse(language, number, fields)
        problems += found
        if row is not None:
            rows.append(row)
    return tuple(rows), tuple(problems)


def _rows(scope: str) -> list[Row]:
    languages = LANGUAGES if scope == "all" else (scope,)
    rows = [row for language in languages for row in _read(language)[0]]
    assert rows, f"no rows read for {scope}"
    return rows


def _precision_recall(rows: list[Row], predicted: list[bool]) -> tuple[float, float, str]:
    hits = sum(
        1 for row, negative in zip(rows, predicted, strict=True) if row.negative and negative
    )
    flagged = sum(predicted)
    labeled = sum(1 for row in rows if row.negative)
    precision = hits / flagged if flagged else 0.0
    recall = hits / labeled if labeled else 0.0
    figures = f"precision {precision:.3f} ({hits}/{flagged}) recall {recall:.3f} ({hits}/{labeled})"
    return precision, recall, figures


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_corpus_is_big_enough_covers_every_reason_and_every_row_parses(
    language: str,
) -> None:
    rows, problems = _read(language)
    assert problems == ()
    assert len(rows) >= MIN_ROWS[language], f"{len(rows)} {language} rows"
    per_reason = Counter(reason for row in rows for reason in row.reasons)
    print(f"\n{language}: {len(rows)} rows, reasons {dict(sorted(per_reason.items()))}")
    thin = {
        r.value: per_reason[r] for r in REVIEW_REASONS if per_reason[r] < MIN_PER_REASON[language]
    }
    assert thin == {}, f"reasons under {MIN_PER_REASON[language]} {language} rows: {thin}"
    texts = Counter(row.text for row in rows)
    assert [text for text, count in texts.items() if count > 1] == []
    # A praise text never carries a complaint's reason.
    assert [row.line for row in rows if not row.negative and row.reasons] == []
    # The platform's verdict can only add negatives, so a row whose stars or result are
    # negative must be labeled negative too, or the desk's real call could not be right.
    contradicted = [
        row.line
        for row in rows
        if not row.negative
        and rating_is_negative(rating=row.rating, result=row.result, threshold=3)
    ]
    assert contradicted == []
    # The corpus holds what the desk must catch beyond the rating rule and what it must let be.
    praise_rated_complaints = [
        row for row in rows if row.negative and (row.rating == 5 or row.result == "good")
    ]
    unclassified = [row for row in rows if row.negative and not row.reasons]
    text_only = [row for row in rows if row.rating is None and row.result is None]
    for group in (praise_rated_complaints, unclassified, text_only):
        assert len(group) >= len(rows) // 20


@pytest.mark.parametrize("scope", [*LANGUAGES, "all"])
def test_negative_reviews_are_found_with_the_targets_precision_and_recall(
    scope: str,
) -> None:
    rows = _rows(scope)
    with_rating = [classify(r.text, rating=r.rating, result=r.result).negative for r in rows]
    precision, recall, figures = _precision_recall(rows, with_rating)
    # The classify API sees the text alone; its figures are reported, not held to a target.
    _, _, text_figures = _precision_recall(rows, [classify_text(r.text).negative for r in rows])
    message = f"{scope} negative, with rating: {figures}; text only: {text_figures}"
    print(f"\n{message}")
    _hold("negative", scope, (precision, recall), MIN_PRECISION, message)


@pytest.mark.parametrize("scope", [*LANGUAGES, "all"])
def test_the_reasons_of_negative_reviews_are_exactly_right_as_often_as_the_target(
    scope: str,
) -> None:
    """Exact set match: a missed or an extra reason is a miss; empty means unclassified."""
    rows = [row for row in _rows(scope) if row.negative]
    exact = 0
    labeled: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    matched: Counter[str] = Counter()
    for row in rows:
        result = classify(row.text, rating=row.rating, result=row.result)
        got = frozenset(score.reason for score in result.reasons)
        exact += got == row.reasons
        want_names = {r.value for r in row.reasons} or {"unclassified"}
        got_names = {r.value for r in got} or {"unclassified"}
        labeled.update(want_names)
        predicted.update(got_names)
        matched.update(want_names & got_names)
    accuracy = exact / len(rows)
    per_reason = ", ".join(
        f"{name} {matched[name]}/{labeled[name]} found, {predicted[name]} predicted"
        for name in sorted(labeled | predicted)
    )
    message = f"{scope} reasons: exact {accuracy:.3f} ({exact}/{len(rows)}); {per_reason}"
    print(f"\n{message}")
    _hold("reasons", scope, (accuracy,), MIN_REASON_ACCURACY, message)
