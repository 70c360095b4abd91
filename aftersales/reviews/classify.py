"""Sentiment and complaint reasons of a review's text, offline.

The reviews module and the classify API are written against this file's
names: ``Sentiment``, ``ReasonScore``, ``Classification``, ``classify_text``,
``classify``, ``load``, ``MODEL_VERSION`` and ``REVIEW_REASONS``.

How a text is read (docs/reviews.md, "Classifier"):

- **Sentiment**: an NB-weighted logistic regression over character 1-3-grams
  (Chinese) and word 1-2-grams (English), trained by ``aftersales reviews
  train`` and shipped as ``model/sentiment.tsv.gz`` (feature, weight), so
  inference is a sum of weights with the stdlib alone. A lukewarm phrase
  (一般般, 凑合, so-so) in a review that names no complaint makes it neutral,
  which the desk follows up like a negative.
- **Reasons**: the text is cut into clauses (at punctuation and at 但是, 不过,
  就是, but); jieba segments each Chinese clause and the lexicon in
  ``data/reasons_*.tsv`` is matched on the tokens. A complaint term (坏了,
  色差) counts unless a negation comes just before it (没有破损, not broken); an
  aspect term (物流, 客服) counts only in a clause the model reads as negative.
  Degree words (太, 非常, 有点) scale the confidence. A reason is returned only
  at ``REASON_MIN`` confidence or more: unclassified is better than a wrong one.

The rating rule comes first because it is what the platform will hold the
shop to: a bad or neutral result, or stars at or below the store's
threshold, is a negative whatever the text says. The text can only add
negatives (a 好评 whose text complains), never remove one.

The model and the segmenter are loaded once per process by ``load()`` (the
module's ``on_startup``, or the first call); nothing is fetched from anywhere.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from aftersales.core.reasons import ReasonCode
from aftersales.reviews.features import features, normalize

# The version of the committed artifact (written into it by ``reviews train``);
# a test checks that they agree, so a retrained model ships with its new name.
MODEL_VERSION = "nblr-eca588a206"

ARTIFACT = Path(__file__).parent / "model" / "sentiment.tsv.gz"
DATA = Path(__file__).parent / "data"

# Below this the text is read as positive; chosen on the dev set.
NEGATIVE_AT = 0.5
# A lukewarm phrase makes a text neutral only when the model reads it at least
# this negative. Chosen on dev3.
LUKEWARM_AT = 0.3
# Reasons under this confidence are not returned.
REASON_MIN = 0.5
# A text read as mildly positive (P(negative) at least this) that names a
# complaint at REASON_SURE or more is neutral: followed up. Chosen on dev2.
NAMED_COMPLAINT_AT = 0.35
REASON_SURE = 0.7
# An aspect word (物流, 客服) counts only in a clause at least this negative.
ASPECT_CLAUSE_AT = 0.6
# A complaint word in a clause the model reads as this positive is ignored
# ("开始担心是假货，用了以后发现是正品").
COMPLAINT_CLAUSE_AT = 0.3
# An aspect word beside a complaint cue (物流慢死了, shipping was slow) counts
# at this confidence (times 0.7 + 0.3 P(clause)) unless the clause reads positive.
CUE_CONFIDENCE = 0.8

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


# ---------------------------------------------------------------- loading


@dataclass(frozen=True)
class _Term:
    reason: ReasonCode
    complaint: bool
    weight: float
    breakage: bool = False  # damaged, not quality, in a clause set at delivery
    ignore: bool = False  # a phrase that holds a complaint word but is none ("broke in")
    wait: bool = False  # a wait (等了): the service's when only the service is named beside it
    generic: bool = False  # a bare verdict (差劲): the topic's, not quality, beside another topic
    graded: bool = False  # a bare adjective (痒, 咸): a complaint only after a degree word (特别痒)


@dataclass
class _Loaded:
    bias: float
    weights: dict[str, float]
    version: str
    tokenizer: Any  # jieba.Tokenizer
    terms: dict[tuple[str, ...], _Term]  # token sequence -> term
    longest: int
    negations: frozenset[str]
    degrees: dict[str, float]
    lukewarm: tuple[str, ...]
    cues: frozenset[str]
    arrival: tuple[str, ...]
    usage: tuple[str, ...]
    expectations: re.Pattern[str]
    claims: tuple[str, ...]
    realities: tuple[str, ...]


_state: _Loaded | None = None
_lock = threading.Lock()
loads_done = 0  # how many times the artifact was read in this process (tests)


def _lines(path: Path) -> list[str]:
    return [
        line.strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]


def _read_artifact(path: Path) -> tuple[float, dict[str, float], str]:
    from aftersales.reviews.train import loads

    model = loads(path.read_bytes())
    return model.bias, model.weights, model.version


def load(path: Path | None = None) -> None:
    """Load the model, lexicon and segmenter once per process.

    The module's ``on_startup`` calls it so the first review is not slow;
    ``classify_text`` calls it too when nothing did. ``path`` names another
    artifact (a retrained one) and replaces what is loaded.
    """
    global _state, loads_done
    if _state is not None and path is None:
        return
    with _lock:
        if _state is not None and path is None:
            return
        import jieba

        jieba.setLogLevel(logging.WARNING)
        bias, weights, version = _read_artifact(path or ARTIFACT)
        tokenizer = jieba.Tokenizer()
        tokenizer.initialize()
        negations = frozenset(_lines(DATA / "negations.txt"))
        degrees = {}
        for line in _lines(DATA / "degrees.tsv"):
            word, factor = line.split("\t")
            degrees[word] = float(factor)
        terms: dict[tuple[str, ...], _Term] = {}
        for name in ("reasons_zh.tsv", "reasons_en.tsv"):
            for line in _lines(DATA / name):
                reason, kind, weight, words = line.split("\t")
                term = _Term(
                    ReasonCode(reason),
                    kind in ("complaint", "breakage", "wait", "generic", "graded"),
                    float(weight),
                    breakage=kind == "breakage",
                    ignore=kind == "ignore",
                    wait=kind == "wait",
                    generic=kind == "generic",
                    graded=kind == "graded",
                )
                for word in (w.strip() for w in words.split(",")):
                    if _is_cjk(word):
                        # Whole terms come out of jieba as one token.
                        tokenizer.add_word(word, freq=100000)
                        terms[(word,)] = term
                    elif word:
                        terms[tuple(_stem(t) for t in _tokens_en(normalize(word)))] = term
        cues = frozenset(_lines(DATA / "cues.txt"))
        arrival = tuple(normalize(w) for w in _lines(DATA / "arrival.txt"))
        usage = tuple(normalize(w) for w in _lines(DATA / "usage.txt"))
        for word in (*negations, *degrees, *cues):
            if _is_cjk(word):
                tokenizer.add_word(word, freq=100000)
        lukewarm = tuple(normalize(w) for w in _lines(DATA / "lukewarm.txt"))
        expected = [normalize(w) for w in _lines(DATA / "expectations.txt")]
        expectations = re.compile(
            "|".join(re.escape(w) if _is_cjk(w) else rf"\b{re.escape(w)}\b" for w in expected)
        )
        claims: list[str] = []
        realities: list[str] = []
        for line in _lines(DATA / "claims.tsv"):
            kind, word = line.split("\t")
            (claims if kind == "claim" else realities).append(normalize(word))
        longest = max(len(k) for k in terms)
        _state = _Loaded(
            bias,
            weights,
            version,
            tokenizer,
            terms,
            longest,
            negations,
            degrees,
            lukewarm,
            cues,
            arrival,
            usage,
            expectations,
            tuple(claims),
            tuple(realities),
        )
        loads_done += 1


async def warm_up() -> None:
    """``load()`` off the event loop: what the module's ``on_startup`` should await.

    Loading takes about a second (jieba's dictionary most of it); in a thread
    the desk keeps answering while it loads.
    """
    import asyncio

    await asyncio.to_thread(load)


def _is_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)


_TOKEN_EN = re.compile(r"[a-z]+(?:['-][a-z]+)*|\d+")


def _tokens_en(text: str) -> list[str]:
    return _TOKEN_EN.findall(text)


def _stem(token: str) -> str:
    """An English plural read as its singular, so "fakes" meets the term "fake".

    Applied to the lexicon and to a review's words alike, so a word it mangles
    ("does" to "doe") still meets itself.
    """
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


# ---------------------------------------------------------------- reading


_CLAUSE = re.compile(
    r"[，,。.！!？?；;、\n~…]+|(?=但是|不过|可惜|可是|只是|就是|但)|\b(?:but|however|although|though)\b"
)


# The Chinese contrast words that open a clause (kept by _CLAUSE's lookahead):
# what follows them is the complaint part of a mixed review.
_CONTRAST_ZH = ("但是", "不过", "可惜", "可是", "只是", "就是", "但")


def _p(state: _Loaded, text: str) -> float:
    z = state.bias
    weights = state.weights
    for feat in features(text):
        z += weights.get(feat, 0.0)
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


# "A but B": the buyer's verdict is B ("took a while, but worth the wait").
_CONTRAST_EN = re.compile(r"\b(?:but|however|yet)\b")
# How much the part after the last contrast word counts in the text's score.
CONTRAST_WEIGHT = 0.7


def _p_text(state: _Loaded, text: str) -> float:
    """P(negative) of a whole text, the verdict after an English "but" weighing most.

    The model sums n-gram weights, so one complaint word in a review that ends
    in praise ("not the cheapest, however the build is excellent") pulls the
    whole text negative. Before the last contrast word, features the rest of
    the text does not share count ``1 - CONTRAST_WEIGHT`` of their weight:
    the part after it is what the buyer concludes.
    """
    norm = normalize(text)
    matches = list(_CONTRAST_EN.finditer(norm))
    if not matches:
        return _p(state, text)
    last = matches[-1]
    head, tail = norm[: last.start()], norm[last.end() :]
    if len(_tokens_en(tail)) < 2 or len(_tokens_en(head)) < 2:
        return _p(state, text)
    head_only = features(head) - features(tail)
    # A fear before the "but" ("I was worried it would be fake, but...") is not
    # what the buyer got: it does not count at all.
    head_weight = 0.0 if state.expectations.search(head) else 1.0 - CONTRAST_WEIGHT
    z = state.bias
    for feat in features(text):
        w = state.weights.get(feat, 0.0)
        z += w * head_weight if feat in head_only else w
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def _clause_tokens(state: _Loaded, clause: str) -> list[str]:
    tokens: list[str] = []
    for piece in re.split(r"([\u3400-\u9fff]+)", clause):
        if not piece:
            continue
        if _is_cjk(piece):
            tokens += state.tokenizer.lcut(piece, HMM=False)
        else:
            tokens += [_stem(t) for t in _tokens_en(piece)]
    return tokens


# A claim clause followed by what came (说是真丝，其实是涤纶) counts as not as
# described at this confidence (times 0.7 + 0.3 P(clause)).
CLAIM_CONFIDENCE = 0.8


def _reasons(state: _Loaded, text: str) -> tuple[ReasonScore, ...]:
    clauses = []
    for clause in _CLAUSE.split(normalize(text)):
        if clause and clause.strip() and (tokens := _clause_tokens(state, clause)):
            clauses.append((clause, tokens))
    # The topics the whole text names: a wait in a clause that names none (拖了半个月)
    # is the service's in a text about the service alone (找客服退款，一直说在处理).
    topics = {reason for _, tokens in clauses for reason in _topics(state, tokens)}
    found = _read_clauses(state, clauses, topics)
    if ReasonCode.QUALITY in found and found.get(ReasonCode.DAMAGED, 0.0) >= REASON_MIN:
        # A breakage before the damage is named (瓶子裂了，洗发水漏得到处都是) is that
        # damage too: read again with every breakage set at delivery.
        found = _read_clauses(state, clauses, topics, damaged=True)
    if ReasonCode.AUTHENTICITY in found:
        # "和专柜的不一样" is how a buyer tells a fake, not a second complaint.
        found.pop(ReasonCode.NOT_AS_DESCRIBED, None)
        if found[ReasonCode.AUTHENTICITY] >= REASON_MIN:
            # Nor is the poor make it shows (做工粗糙，妥妥的莆田货): the fake is the complaint.
            found.pop(ReasonCode.QUALITY, None)
    kept = [
        ReasonScore(reason, round(conf, 3)) for reason, conf in found.items() if conf >= REASON_MIN
    ]
    return tuple(sorted(kept, key=lambda r: (-r.confidence, r.reason.value)))


def _read_clauses(
    state: _Loaded,
    clauses: list[tuple[str, list[str]]],
    topics: set[ReasonCode],
    *,
    damaged: bool = False,
) -> dict[ReasonCode, float]:
    """Each clause's reasons, combined over the text as 1 - Π(1 - c)."""
    found: dict[ReasonCode, float] = {}
    claimed = False  # the clause before was a claim (说是, the listing said)
    delivered = False  # the clause before was set at delivery (包装一打开) and read negative
    for clause, tokens in clauses:
        # After a clause that named damage (盒子被压塌了) or opened the parcel
        # (包装一打开), a breakage is damage in transit too.
        damage = damaged or delivered or found.get(ReasonCode.DAMAGED, 0.0) >= REASON_MIN
        of_clause = _clause_reasons(state, clause, tokens, after_damage=damage, topics=topics)
        delivered = (
            any(cue in clause for cue in state.arrival) and _p(state, clause) >= COMPLAINT_CLAUSE_AT
        )
        # A clause naming nothing sure of its own (实物一看很廉价) after a claim is the claim's.
        unsure = all(conf < REASON_MIN for conf in of_clause.values())
        if claimed and unsure and clause.strip().startswith(state.realities):
            p_clause = _p(state, clause)
            if p_clause >= COMPLAINT_CLAUSE_AT:
                of_clause = {ReasonCode.NOT_AS_DESCRIBED: CLAIM_CONFIDENCE * (0.7 + 0.3 * p_clause)}
        elif unsure and _used_then(state, clause):
            # 用了三天就不喷雾了: a change soon after use is a fault of the product,
            # though the lexicon lacks the words for it.
            p_clause = _p(state, clause)
            if p_clause >= ASPECT_CLAUSE_AT:
                of_clause = {ReasonCode.QUALITY: CUE_CONFIDENCE * (0.7 + 0.3 * p_clause)}
        claimed = any(word in clause for word in state.claims)
        for reason, conf in of_clause.items():
            prev = found.get(reason, 0.0)
            found[reason] = 1.0 - (1.0 - prev) * (1.0 - conf)
    return found


# The verbs of using a thing, one of which must come before the 就 of "用了三天就…".
_USE_VERBS = frozenset("用穿戴洗玩吃喝抹涂敷坐睡骑背充烧煮泡")


def _used_then(state: _Loaded, clause: str) -> bool:
    """A clause that tells of a change soon after use (用了三天就…, 穿一次就…),
    not set at delivery or in a fear."""
    head, then, _ = clause.partition("就")
    return (
        bool(then)
        and any(ch in _USE_VERBS for ch in head)
        and any(word in clause for word in state.usage)
        and not any(cue in clause for cue in state.arrival)
        and not state.expectations.search(clause)
    )


def _cue_in(state: _Loaded, tokens: list[str]) -> bool:
    """A complaint cue (慢, 差, slow, useless; a generic verdict such as 差劲) not
    negated just before it."""
    for k, token in enumerate(tokens):
        term = state.terms.get((token,))
        if (token in state.cues or (term is not None and term.generic)) and not any(
            w in state.negations for w in tokens[max(0, k - 2) : k]
        ):
            return True
    return False


def _other_topic(state: _Loaded, tokens: list[str]) -> bool:
    """The clause names a topic of another reason (客服, 快递员) and none of quality's:
    a generic verdict there (客服太差劲了) is about that topic, not the product."""
    named = _topics(state, tokens)
    return bool(named) and ReasonCode.QUALITY not in named


def _topics(state: _Loaded, tokens: list[str]) -> set[ReasonCode]:
    """The reasons whose topic (aspect term: 客服, 物流) the tokens name; an ``ignore``
    phrase (差不多) names none."""
    return {
        term.reason
        for token in tokens
        if (term := state.terms.get((token,))) is not None
        and not term.complaint
        and not term.ignore
    }


def _waited_on_service(
    state: _Loaded, tokens: list[str], topics: set[ReasonCode] | None = None
) -> bool:
    """A clause that names the service (客服, 回复) and no delivery: the buyer waited for
    an answer (客服等了半天才回), not for the parcel. A clause that names neither is
    read by the ``topics`` of the whole text."""
    named = _topics(state, tokens)
    if topics is not None and not named & {ReasonCode.SERVICE, ReasonCode.LOGISTICS}:
        named = topics
    return ReasonCode.SERVICE in named and ReasonCode.LOGISTICS not in named


def _clause_reasons(
    state: _Loaded,
    clause: str,
    tokens: list[str],
    *,
    after_damage: bool = False,
    topics: set[ReasonCode] | None = None,
) -> dict[ReasonCode, float]:
    found: dict[ReasonCode, float] = {}
    if state.expectations.search(clause):
        return found  # what the buyer feared (本来担心会压坏), not what they got
    by_term: set[ReasonCode] = set()  # reasons a complaint term (or aspect + cue) gave
    p_clause: float | None = None
    cue: bool | None = None
    i = 0
    while i < len(tokens):
        match = None
        for size in range(min(state.longest, len(tokens) - i), 0, -1):
            key = tuple(tokens[i : i + size])
            term = state.terms.get(key) or state.terms.get(("".join(key),))
            if term is not None:
                match = (term, size)
                break
        if match is None:
            i += 1
            continue
        term, size = match
        before = tokens[max(0, i - 3) : i]
        i += size
        if term.ignore:
            continue  # its words are read as the phrase, not as the complaint in it
        if p_clause is None:
            p_clause = _p(state, clause)
        if term.complaint:
            if any(w in state.negations for w in before[-2:]):
                continue  # 没有破损, not broken
            if term.generic and _other_topic(state, tokens):
                continue  # a cue for the topic it stands beside (客服太差劲了)
            if term.graded and not (before and before[-1] in state.degrees):
                continue  # 痒 alone is no complaint; 特别痒 is
            if p_clause < COMPLAINT_CLAUSE_AT and not clause.startswith(_CONTRAST_ZH):
                continue  # unless the clause is the "but" part (就是有色差)
            degree = 1.0
            for w in before:
                degree *= state.degrees.get(w, 1.0)
            conf = min(0.99, term.weight * degree) * (0.7 + 0.3 * p_clause)
            if (
                term.breakage
                and (after_damage or any(cue in clause for cue in state.arrival))
                and not any(word in clause for word in state.usage)
            ):
                term = _Term(ReasonCode.DAMAGED, True, term.weight)
            elif (
                term.reason is ReasonCode.DAMAGED
                and any(word in clause for word in state.usage)
                and not any(cue in clause for cue in state.arrival)
            ):
                # Damage after some use (鞋垫穿了两天就碎了) is the product's fault.
                term = _Term(ReasonCode.QUALITY, True, term.weight)
            if term.wait and _waited_on_service(state, tokens, topics):
                term = _Term(ReasonCode.SERVICE, True, term.weight)
            by_term.add(term.reason)
        else:
            if cue is None:
                cue = _cue_in(state, tokens)
            if cue and p_clause >= COMPLAINT_CLAUSE_AT:
                conf = max(term.weight * p_clause, CUE_CONFIDENCE * (0.7 + 0.3 * p_clause))
                by_term.add(term.reason)
            elif p_clause >= ASPECT_CLAUSE_AT:
                conf = term.weight * p_clause
            else:
                continue
        prev = found.get(term.reason, 0.0)
        found[term.reason] = 1.0 - (1.0 - prev) * (1.0 - conf)
    if by_term:
        # A bare topic beside a named complaint is where the complaint sits, not a
        # second one ("盒子里没有电源线" is a missing cable, not a damaged box).
        found = {r: c for r, c in found.items() if r in by_term}
    if ReasonCode.DAMAGED in found and ReasonCode.QUALITY in found:
        # In one clause the breakage is the damage it arrived with ("the box was
        # crushed and the item was broken"), not a fault of the product.
        del found[ReasonCode.QUALITY]
    return found


def classify_text(text: str) -> Classification:
    """The text alone: what ``POST /api/v1/reviews/classify`` answers."""
    if _state is None:
        load()
    state = _state
    assert state is not None
    if not text or not text.strip():
        # No words: nothing to follow up from the text (the rating may still).
        return Classification(Sentiment.POSITIVE, 0.5, (), state.version)
    p = _p_text(state, text)
    norm = normalize(text)
    found = _reasons(state, text)
    # A lukewarm review (一般般, so-so) that names no complaint is neutral: the
    # desk follows it up all the same, but it is no outright negative.
    # Not when the model reads the text as praise all the same ("the packaging
    # was nothing special but the product itself is great").
    lukewarm = not found and p >= LUKEWARM_AT and any(phrase in norm for phrase in state.lukewarm)
    if lukewarm:
        sentiment, confidence = Sentiment.NEUTRAL, max(p, 0.6)
    elif p >= NEGATIVE_AT:
        sentiment, confidence = Sentiment.NEGATIVE, p
    elif p >= NAMED_COMPLAINT_AT and any(r.confidence >= REASON_SURE for r in found):
        # A complaint the lexicon names outright ("half the price at my local
        # store") in a text the model is unsure of is followed up, as neutral.
        sentiment, confidence = Sentiment.NEUTRAL, 1.0 - p
    else:
        sentiment, confidence = Sentiment.POSITIVE, 1.0 - p
    return Classification(sentiment, round(confidence, 3), found, state.version)


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
    if append_text and not by_text.negative:
        # A complaint in the follow-up review outweighs the praise written
        # on delivery day ("追评：用了半个月就坏了").
        later = classify_text(append_text)
        if later.negative:
            by_text = later
    by_rating = rating_is_negative(rating=rating, result=result, threshold=threshold)
    if by_rating and not by_text.negative:
        sentiment = (
            Sentiment.NEGATIVE
            if result == "bad" or (rating is not None and rating <= 2)
            else Sentiment.NEUTRAL
        )
        return Classification(sentiment, 1.0, by_text.reasons, by_text.model_version)
    return by_text
