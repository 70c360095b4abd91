"""Quick replies (快捷短语): the team's phrase library, filled in from the case at hand.

An agent answers the same twenty questions all day. A phrase is a text the
team wrote once (or one agent wrote for themself) with placeholders such as
``{buyer_nick}`` and ``{order_no}``; on a case page every phrase is already
filled in from that case, so inserting one is a click. Core knows no case
type: the module that owns a case answers ``phrase_context(ref)`` (through
the registry) with the values of the placeholders and the facts of the case
(shipped or not), and a phrase that takes for granted what the case denies
(a "your parcel is on its way" on an unshipped order) carries a warning.

Who may change what: team phrases (no owner) by supervisors, owners and
admins only; a personal phrase by its owner only, and nobody else sees it.
Every change is audited. A value the case does not have becomes a visible
"[fill in the ...]" marker, never an empty gap or an error.

Placeholders are stored as their codes (``{order_no}``); people read and
type them in their own words too (``{订单号}``), turned back into codes on save.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from aftersales.core import audit, clock, i18n, labels
from aftersales.core.auth import MANAGERS
from aftersales.core.cases import CaseRef
from aftersales.core.errors import InvalidInput, Msgid, NotFound, PermissionDenied
from aftersales.core.events import PHRASE_LANGUAGES
from aftersales.core.i18n import N_
from aftersales.core.models import Phrase, PhraseCategory, User

T = TypeVar("T")

LANGUAGES = PHRASE_LANGUAGES
"""The languages a phrase is written in: the buyers' language, not the agent's."""
DEFAULT_LANGUAGE = "zh-CN"

PLACEHOLDERS: dict[str, str] = {
    "buyer_nick": N_("buyer nick"),
    "order_no": N_("order number"),
    "item": N_("item"),
    "amount": N_("amount"),
    "tracking_no": N_("tracking number"),
    "deadline": N_("deadline"),
    "return_address": N_("return address"),
}
"""Placeholder code -> what it stands for; the case's module fills the values."""

FACTS: dict[str, tuple[str, str]] = {
    "shipped": (N_("the goods have shipped"), N_("the goods have not shipped")),
    "return_received": (
        N_("the returned goods have arrived"),
        N_("the returned goods have not arrived"),
    ),
}
"""Facts a phrase may assume and a case may state: fact -> (words when true, when false)."""

MAX_TITLE = 128
MAX_BODY = 2000
MISSING = N_("[fill in the %(what)s]")
TOKEN = re.compile(r"\{([^{}\n]{1,40})\}")


@dataclass(frozen=True)
class PhraseContext:
    """What one case tells its phrases: the store's platform, placeholder values, facts.

    ``values`` maps placeholder codes (``PLACEHOLDERS``) to text; a code left
    out or empty is shown as a marker to fill in. ``facts`` maps ``FACTS``
    names to what is true of the case; a fact left out is not known, so
    nothing contradicts it.
    """

    platform: str
    values: Mapping[str, str] = field(default_factory=dict)
    facts: Mapping[str, bool] = field(default_factory=dict)
    language: str = ""
    """The store's own choice (its ``buyer_language`` setting); empty: the platform's."""


PhraseContextHook = Callable[[CaseRef], Awaitable[PhraseContext | None]]
"""``phrase_context(ref)`` on a manifest: the context of one of the module's cases, or None."""


@dataclass(frozen=True)
class SeedPhrase:
    """A team phrase the desk ships, added once by ``seed`` (``key`` stays unique)."""

    key: str
    category: PhraseCategory
    language: str
    title: str
    body: str
    assumes: Mapping[str, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class Rendered:
    """A phrase filled in for one case, as the picker offers it."""

    phrase: Phrase
    text: str
    missing: tuple[str, ...]  # codes of the placeholders the case had no value for
    warnings: tuple[str, ...]  # contradictions with the case, in words

    @property
    def missing_words(self) -> list[str]:
        """The missing placeholders in the reader's words."""
        return [i18n.gettext(PLACEHOLDERS[code]) for code in self.missing]


@dataclass(frozen=True)
class Picker:
    """The phrases offered on one case page: in the case's language, filled in."""

    language: str
    items: tuple[Rendered, ...]

    def sorted(self, *first: str) -> list[Rendered]:
        """The items, the categories named in ``first`` before the others (a refusal form)."""
        rank = {c: i for i, c in enumerate(first)}
        return sorted(self.items, key=lambda r: rank.get(r.phrase.category.value, len(rank)))


class PhraseNotFound(NotFound):
    code = "phrase_not_found"
    msgid = N_("No quick reply with id %(id)s.")


class TeamPhrasesForManagers(PermissionDenied):
    code = "phrase_team_managers_only"
    msgid = N_("Only supervisors, owners and administrators change the team's quick replies.")


class NotYourPhrase(PermissionDenied):
    code = "phrase_not_yours"
    msgid = N_("Only its owner changes a personal quick reply.")


class UnknownPlaceholder(InvalidInput):
    code = "phrase_unknown_placeholder"
    msgid = N_("%(token)s is not a placeholder; use one of %(known)s.")


# -- languages and placeholders ----------------------------------------------------------------


def language_for(platform: str, chosen: str = "") -> str:
    """The language a store's buyers read: the store's choice, else its platform's.

    The platform's comes from its connector's manifest, so a store on an
    English-speaking platform answers in English without anyone setting it; a
    store there that sells to Chinese buyers says so on its settings page.
    """
    language = labels.buyer_locale(platform, chosen).replace("_", "-")
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


@cache
def _aliases() -> dict[str, str]:
    """Every way a person writes a placeholder (code, English, Chinese) -> its code."""
    found: dict[str, str] = {}
    for locale in i18n.SUPPORTED:
        translations = i18n.translations(locale)
        for code, msgid in PLACEHOLDERS.items():
            found[translations.gettext(msgid).strip().lower()] = code
    found.update({code: code for code in PLACEHOLDERS})
    return found


def _code(token: str) -> str | None:
    return _aliases().get(token.strip().lower())


def to_codes(text: str) -> str:
    """Placeholders as typed (``{订单号}``, ``{order number}``) -> codes; others refused.

    A brace pair around something that names no placeholder is a typo the
    agent would only see when a buyer reads it: a 400 saying which.
    """

    def swap(match: re.Match[str]) -> str:
        code = _code(match.group(1))
        if code is None:
            raise UnknownPlaceholder(
                token=match.group(0), known=" ".join(placeholder_words()), obj=None
            )
        return "{" + code + "}"

    return TOKEN.sub(swap, text)


def for_reading(text: str) -> str:
    """A stored body with its placeholders in the reader's words (``{订单号}``)."""

    def swap(match: re.Match[str]) -> str:
        code = match.group(1)
        return "{" + i18n.gettext(PLACEHOLDERS[code]) + "}" if code in PLACEHOLDERS else match[0]

    return TOKEN.sub(swap, text)


def placeholder_words() -> list[str]:
    """Every placeholder as the reader types it, for the help beside the form."""
    return ["{" + i18n.gettext(msgid) + "}" for msgid in PLACEHOLDERS.values()]


def deadline_text(at: datetime, timezone: str) -> str:
    """A deadline as a buyer reads it in a reply: the store's local date and time."""
    try:
        zone = ZoneInfo(timezone)
    except (ValueError, KeyError):  # a store saved with a zone this machine lacks
        zone = ZoneInfo("Asia/Shanghai")
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def render(phrase: Phrase, context: PhraseContext | None) -> Rendered:
    """``phrase`` filled in from ``context``, with what is missing and what contradicts it.

    Never raises: a placeholder without a value becomes a marker the agent
    sees and fills in, and a brace pair that names nothing stays as written.
    """
    values = context.values if context else {}
    missing: list[str] = []

    def fill(match: re.Match[str]) -> str:
        code = match.group(1)
        if code not in PLACEHOLDERS:
            return match.group(0)
        value = str(values.get(code) or "").strip()
        if value:
            return value
        if code not in missing:
            missing.append(code)
        return i18n.gettext(MISSING) % {"what": i18n.gettext(PLACEHOLDERS[code])}

    text = TOKEN.sub(fill, phrase.body)
    return Rendered(phrase, text, tuple(missing), contradictions(phrase, context))


def contradictions(phrase: Phrase, context: PhraseContext | None) -> tuple[str, ...]:
    """Each fact the phrase assumes that the case states otherwise, as a sentence."""
    if context is None:
        return ()
    found = []
    for fact, assumed in (phrase.assumes or {}).items():
        actual = context.facts.get(fact)
        if fact in FACTS and actual is not None and bool(actual) != bool(assumed):
            words = FACTS[fact]
            found.append(
                i18n.gettext(N_("This reply says %(assumed)s, but on this case %(actual)s."))
                % {
                    "assumed": i18n.gettext(words[0 if assumed else 1]),
                    "actual": i18n.gettext(words[0 if actual else 1]),
                }
            )
    return tuple(found)


# -- reading ------------------------------------------------------------------------------------


def _visible(user: User) -> Q:
    return Q(deleted_at=None) & (Q(owner_id=None) | Q(owner_id=user.id))


async def list_for(
    user: User, *, language: str | None = None, category: PhraseCategory | None = None
) -> list[Phrase]:
    """The team's phrases and the user's own, most used first."""
    query = Phrase.filter(_visible(user))
    if language:
        query = query.filter(language=language)
    if category:
        query = query.filter(category=category)
    return await query.order_by("-usage_count", "category", "title", "id")


async def get_for(user: User, phrase_id: int) -> Phrase:
    """One phrase the user may see; another agent's personal phrase is not found."""
    phrase = await Phrase.filter(_visible(user), id=phrase_id).first()
    if phrase is None:
        raise PhraseNotFound(id=phrase_id)
    return phrase


async def context(ref: CaseRef) -> PhraseContext | None:
    """What the case ``ref`` tells its phrases, asked of the module that owns it."""
    from aftersales.core import modules

    found: PhraseContext | None = await modules.current().phrase_context(ref)
    return found


async def for_case(user: User, ref: CaseRef) -> Picker:
    """The picker of a case page: phrases in its buyers' language, filled in from it."""
    ctx = await context(ref)
    language = language_for(ctx.platform, ctx.language) if ctx else DEFAULT_LANGUAGE
    phrases = await list_for(user, language=language)
    return Picker(language, tuple(render(p, ctx) for p in phrases))


async def render_for_case(user: User, phrase_id: int, ref: CaseRef) -> Rendered:
    """One phrase filled in from one case (the API's ``render``)."""
    phrase = await get_for(user, phrase_id)
    ctx = await context(ref)
    if ctx is None:
        raise NotFound(N_("No case %(ref)s."), ref=str(ref), code="case_not_found")
    return render(phrase, ctx)


# -- changing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhraseInput:
    """What a person typed for a phrase, checked by ``_clean``."""

    title: str
    body: str
    category: str
    language: str = DEFAULT_LANGUAGE
    assumes: Mapping[str, Any] = field(default_factory=dict)


def _clean(given: PhraseInput) -> dict[str, Any]:
    title = " ".join(given.title.split())
    body = given.body.replace("\r\n", "\n").strip()
    if not title or len(title) > MAX_TITLE:
        raise InvalidInput(
            N_("A quick reply needs a title of 1 to %(max)s characters."),
            max=MAX_TITLE,
            code="phrase_bad_title",
        )
    if not body or len(body) > MAX_BODY:
        raise InvalidInput(
            N_("A quick reply needs a text of 1 to %(max)s characters."),
            max=MAX_BODY,
            code="phrase_bad_body",
        )
    if given.category not in set(PhraseCategory):
        raise InvalidInput(
            N_("Choose a category for the quick reply."),
            code="phrase_bad_category",
            choices=", ".join(c.value for c in PhraseCategory),
        )
    if given.language not in LANGUAGES:
        raise InvalidInput(
            N_("Choose the language the buyer reads."),
            code="phrase_bad_language",
            choices=", ".join(LANGUAGES),
        )
    if not isinstance(given.assumes, Mapping) or any(
        k not in FACTS or not isinstance(v, bool) for k, v in given.assumes.items()
    ):
        raise InvalidInput(
            N_("A quick reply can assume only these facts: %(facts)s."),
            facts=[Msgid(FACTS[f][0]) for f in FACTS],
            code="phrase_bad_assumes",
        )
    return {
        "title": title,
        "body": to_codes(body),
        "category": PhraseCategory(given.category),
        "language": given.language,
        "assumes": dict(given.assumes),
    }


def may_edit(user: User, phrase: Phrase) -> bool:
    """Managers change the team's phrases; a personal phrase only its owner."""
    if phrase.owner_id is None:
        return user.role in MANAGERS
    return phrase.owner_id == user.id


def _check_may_edit(user: User, phrase: Phrase) -> None:
    if phrase.owner_id is None and user.role not in MANAGERS:
        raise TeamPhrasesForManagers(obj=phrase)
    if phrase.owner_id is not None and phrase.owner_id != user.id:
        raise NotYourPhrase(obj=phrase)


def _snapshot(phrase: Phrase) -> dict[str, Any]:
    return {
        "title": phrase.title,
        "category": phrase.category.value,
        "language": phrase.language,
        "team": phrase.owner_id is None,
    }


async def create(actor: User, given: PhraseInput, *, team: bool) -> Phrase:
    """Add a phrase: the team's (managers only) or the actor's own."""
    values = _clean(given)
    if team and actor.role not in MANAGERS:
        raise TeamPhrasesForManagers()
    async with in_transaction() as conn:
        phrase = await Phrase.create(**values, owner_id=None if team else actor.id, using_db=conn)
        await audit.record(
            "phrase.created",
            subject_type="phrase",
            subject_id=phrase.id,
            actor=actor,
            data=_snapshot(phrase),
            using_db=conn,
        )
    return phrase


async def edit(actor: User, phrase_id: int, given: PhraseInput) -> Phrase:
    """Change a phrase's words, category, language or assumptions (who may: ``may_edit``)."""
    phrase = await get_for(actor, phrase_id)
    _check_may_edit(actor, phrase)
    values = _clean(given)
    before = {"title": phrase.title, "body": phrase.body}
    async with in_transaction() as conn:
        await Phrase.filter(id=phrase.id).using_db(conn).update(**values, updated_at=clock.now())
        await audit.record(
            "phrase.changed",
            subject_type="phrase",
            subject_id=phrase.id,
            actor=actor,
            data={**_snapshot(phrase), "from": before, "to": {"title": values["title"]}},
            using_db=conn,
        )
    await phrase.refresh_from_db()
    return phrase


async def delete(actor: User, phrase_id: int) -> Phrase:
    """Take a phrase out of every picker; the row stays, so a later seed does not revive it."""
    phrase = await get_for(actor, phrase_id)
    _check_may_edit(actor, phrase)
    async with in_transaction() as conn:
        await Phrase.filter(id=phrase.id).using_db(conn).update(deleted_at=clock.now())
        await audit.record(
            "phrase.deleted",
            subject_type="phrase",
            subject_id=phrase.id,
            actor=actor,
            data=_snapshot(phrase),
            using_db=conn,
        )
    return phrase


async def count_use(user: User, phrase_id: int | None) -> None:
    """One more use of a phrase the user may see (a form posted with its ``phrase_id``).

    Quiet about a phrase gone or not theirs: the reply it went into is sent
    either way, and a count is no reason to refuse it.
    """
    if phrase_id is None:
        return
    await Phrase.filter(_visible(user), id=phrase_id).update(usage_count=F("usage_count") + 1)


async def with_use(user: User, phrase_id: str | None, work: Awaitable[T]) -> T:
    """Run a step that sent a reply, then count the phrase it started from (``phrase_id``).

    Counted only when the step went through: a refusal the rules stopped sent nothing.
    """
    from aftersales.core.api import number_or_none

    result = await work
    await count_use(user, number_or_none(phrase_id))
    return result


async def seed(extra: Iterable[SeedPhrase] = ()) -> int:
    """Add the shipped team phrases that were never added; returns how many were new.

    Idempotent by ``SeedPhrase.key``: run by ``aftersales init`` and the demo
    every time, it adds only what a newer desk ships, and never brings back
    a phrase the team deleted or changed.
    """
    from aftersales.core import modules

    wanted = [*SEEDS, *modules.current().seed_phrases(), *extra]
    keys = [s.key for s in wanted]
    existing: set[str] = {
        str(key)
        for key in await Phrase.filter(seed_key__in=keys).values_list("seed_key", flat=True)
    }
    added = 0
    for item in wanted:
        if item.key in existing:
            continue
        existing.add(item.key)
        try:
            async with in_transaction():  # a savepoint: the race below costs this row only
                await Phrase.create(
                    title=item.title,
                    body=item.body,
                    category=item.category,
                    language=item.language,
                    assumes=dict(item.assumes),
                    seed_key=item.key,
                )
        except IntegrityError:
            continue  # another node deploying at the same moment added it first
        added += 1
    return added


def seeds(
    items: Sequence[tuple[str, PhraseCategory, str, str, str, Mapping[str, bool]]],
) -> list[SeedPhrase]:
    """``SeedPhrase`` rows from compact tuples (key, category, language, title, body, assumes)."""
    return [SeedPhrase(k, c, lang, t, b, a) for k, c, lang, t, b, a in items]


_G, _A, _P = PhraseCategory.GREETING, PhraseCategory.APPROVE, PhraseCategory.ASK_PHOTOS
_W, _S, _R = (
    PhraseCategory.WHERE_IS_PARCEL,
    PhraseCategory.APOLOGY,
    PhraseCategory.REVIEW_EXPLANATION,
)
SEEDS = seeds(
    [
        ("core.greeting.zh", _G, "zh-CN", "欢迎问候",
         "{buyer_nick}亲，您好，我是本店客服，很高兴为您服务。请问有什么可以帮您？", {}),
        ("core.greeting.en", _G, "en", "Hello",
         "Hi {buyer_nick}, thanks for getting in touch. How can I help you with order {order_no}?",
         {}),
        ("core.approve.zh", _A, "zh-CN", "已同意退款",
         "{buyer_nick}亲，您订单 {order_no} 的 {amount} 退款已同意，款项会按原路退回，请留意查收。",
         {}),
        ("core.approve.en", _A, "en", "Refund approved",
         "Hi {buyer_nick}, we have approved the refund of {amount} for order {order_no}. "
         "It goes back to your original payment method.", {}),
        ("core.photos.zh", _P, "zh-CN", "请提供照片",
         "{buyer_nick}亲，麻烦您拍几张{item}问题处的清晰照片（含外包装和快递面单）发给我们，"
         "我们收到后马上为您处理。", {}),
        ("core.photos.en", _P, "en", "Ask for photos",
         "Hi {buyer_nick}, could you send us a few clear photos of the problem with {item}, "
         "with the box and the shipping label? We will sort it out as soon as we have them.", {}),
        ("core.parcel.shipped.zh", _W, "zh-CN", "包裹已发出",
         "{buyer_nick}亲，您的包裹已经发出，快递单号 {tracking_no}，可在物流信息里查看进度，"
         "请耐心等待。", {"shipped": True}),
        ("core.parcel.shipped.en", _W, "en", "Parcel on its way",
         "Hi {buyer_nick}, your parcel for order {order_no} has shipped, tracking number "
         "{tracking_no}. It should reach you in a few days.", {"shipped": True}),
        ("core.parcel.unshipped.zh", _W, "zh-CN", "尚未发货",
         "{buyer_nick}亲，您的订单 {order_no} 还在仓库打包，我们会尽快发出，发货后会同步快递单号。",
         {"shipped": False}),
        ("core.parcel.unshipped.en", _W, "en", "Not shipped yet",
         "Hi {buyer_nick}, order {order_no} is being packed and will ship shortly; "
         "we will send you the tracking number.", {"shipped": False}),
        ("core.apology.zh", _S, "zh-CN", "致歉",
         "{buyer_nick}亲，非常抱歉给您带来不好的体验，我们会认真改进，这件事我们一定负责到底。",
         {}),
        ("core.apology.en", _S, "en", "Apology",
         "Hi {buyer_nick}, we are very sorry for the trouble with order {order_no}. "
         "We will make it right.", {}),
        ("core.review.zh", _R, "zh-CN", "评价解释",
         "亲，感谢您的评价。关于您提到的问题，我们已核实并改进，如仍有不满意请随时联系我们处理。",
         {}),
        ("core.review.en", _R, "en", "Review reply",
         "Thank you for your review. We have looked into what you describe and fixed it; "
         "please contact us if anything is still not right.", {}),
    ]
)  # fmt: skip
"""Core's own starter phrases; modules ship theirs on the manifest (``Module.phrases``)."""
