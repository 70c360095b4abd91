"""A store's refund rules and the verdict they give on one refund.

Pure functions over plain values, so the queue can show every row's verdict
and the worker can auto-approve with the very same reasoning. A verdict
always names the rule that decided it: the refund page shows it, so nobody
has to guess why the worker approved something or why an agent was stopped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from aftersales.core.auth import MANAGERS
from aftersales.core.errors import Msgid, render
from aftersales.core.i18n import N_
from aftersales.core.models import Role
from aftersales.core.reasons import LABELS as REASON_LABELS
from aftersales.core.reasons import ReasonCode
from aftersales.refunds.models import RefundKind


@dataclass(frozen=True)
class Rules:
    """Empty limits mean "no such rule".

    ``default`` is true for ``DEFAULT_RULES``: the store has saved none of its
    own, so the rules page labels every figure "default".
    """

    auto_approve_unshipped_up_to: Decimal | None = None
    supervisor_above: Decimal | None = None
    night_agent_up_to: Decimal | None = None
    human_reasons: frozenset[ReasonCode] = frozenset()
    ad_hoc_agent_up_to: Decimal | None = None
    default: bool = False


# What holds before a supervisor saves a store's own rules: a fresh store must never
# let anyone pay without a cap. Agents approve up to 300.00 (above it a supervisor
# decides), night agents up to 100.00 (alone on shift, nobody to ask), and a refund the
# shop starts itself (shipping, price difference, compensation) up to 200.00: nobody
# asked for that money, so it is capped below a buyer's own request. Nothing is
# auto-approved until a supervisor sets a limit.
DEFAULT_RULES = Rules(
    auto_approve_unshipped_up_to=None,
    supervisor_above=Decimal("300.00"),
    night_agent_up_to=Decimal("100.00"),
    ad_hoc_agent_up_to=Decimal("200.00"),
    default=True,
)


class Verdict(StrEnum):
    AUTO_APPROVE = "auto_approve"
    AGENT_MAY_DECIDE = "agent_may_decide"
    NEEDS_SUPERVISOR = "needs_supervisor"
    NEEDS_PERSON = "needs_person"


@dataclass(frozen=True)
class Assessment:
    """The verdict and the rule that gave it, as a msgid plus its figures.

    ``rule`` is the English sentence stored on the refund and in the audit
    trail; pages translate ``label`` and fill in ``value``, itself a stored
    word of ``value_kind`` (a reason code, a role) when that is set, so a page
    says "质量问题", not ``quality``. ``more`` holds further figures by name.
    """

    verdict: Verdict
    label: str
    value: str = ""
    value_kind: str = ""
    more: Mapping[str, str] = field(default_factory=dict)

    @property
    def rule(self) -> str:
        return self.label % {"value": self.value, **self.more} if self.value else self.label


SUPERVISOR_RULE = N_("amount above %(value)s: a supervisor decides")
PERSON_RULE = N_("reason %(value)s always needs a person")
AUTO_RULE = N_("refund only, not shipped, amount up to %(value)s: auto-approved")
AGENT_RULE = N_("an agent decides")
REMAINDER_RULE = N_("over the refundable remainder: a person decides")
CAP_RULE = N_("%(value)s may approve up to %(limit)s")
NO_CAP_RULE = N_("%(value)s may approve any amount")
INSPECTED_RULE = N_("return case %(value)s inspected by %(inspector)s")
# Every rule sentence a refund can store: what it decided, and what kind its value is.
STORED_RULES: tuple[tuple[str, Verdict, str], ...] = (
    (SUPERVISOR_RULE, Verdict.NEEDS_SUPERVISOR, ""),
    (PERSON_RULE, Verdict.NEEDS_PERSON, "reason"),
    (AUTO_RULE, Verdict.AUTO_APPROVE, ""),
    (AGENT_RULE, Verdict.AGENT_MAY_DECIDE, ""),
    (REMAINDER_RULE, Verdict.NEEDS_PERSON, ""),
    (CAP_RULE, Verdict.AGENT_MAY_DECIDE, "role"),
    (NO_CAP_RULE, Verdict.AGENT_MAY_DECIDE, "role"),
    (INSPECTED_RULE, Verdict.AGENT_MAY_DECIDE, ""),
)
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _pattern(label: str) -> re.Pattern[str]:
    parts = _PLACEHOLDER.split(label)  # text, name, text, name, ..., text
    return re.compile(
        "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
    )


_STORED_PATTERNS = [(_pattern(rule), rule, verdict, kind) for rule, verdict, kind in STORED_RULES]


def read_rule(stored: str) -> Assessment | None:
    """The assessment behind a rule sentence stored on a refund, so a page can translate it.

    The refund keeps the English sentence (the audit trail is English and
    stable); read back, it is a msgid and its figures again. ``None`` for a
    sentence no rule here writes (a note typed by hand, an older wording).
    """
    for pattern, label, verdict, kind in _STORED_PATTERNS:
        if found := pattern.fullmatch(stored):
            figures = found.groupdict()
            value = figures.pop("value", "")
            return Assessment(verdict, label, value, kind if value else "", figures)
    return None


def assess(
    rules: Rules,
    *,
    kind: RefundKind,
    amount: Decimal,
    reason: ReasonCode,
    shipped: bool,
) -> Assessment:
    """What the rules say about a refund request before anyone decides."""
    if rules.supervisor_above is not None and amount > rules.supervisor_above:
        return Assessment(
            Verdict.NEEDS_SUPERVISOR, SUPERVISOR_RULE, f"{rules.supervisor_above:.2f}"
        )
    if reason in rules.human_reasons:
        return Assessment(Verdict.NEEDS_PERSON, PERSON_RULE, reason.value, "reason")
    limit = rules.auto_approve_unshipped_up_to
    if kind is RefundKind.REFUND_ONLY and limit is not None and not shipped and amount <= limit:
        return Assessment(Verdict.AUTO_APPROVE, AUTO_RULE, f"{limit:.2f}")
    return Assessment(Verdict.AGENT_MAY_DECIDE, AGENT_RULE)


def approval_limit(rules: Rules, role: Role, *, ad_hoc: bool = False) -> Decimal | None:
    """The largest amount this role may approve; None when there is no cap."""
    if role in MANAGERS:
        return None
    caps = [rules.supervisor_above]
    if role is Role.NIGHT_AGENT:
        caps.append(rules.night_agent_up_to)
    if ad_hoc:
        caps.append(rules.ad_hoc_agent_up_to)
    present = [c for c in caps if c is not None]
    return min(present) if present else None


# Whose decision a refund is, said to the person about to decide it (``explain``).
OVER_NIGHT_CAP = N_("Over your %(limit)s night cap: a supervisor decides.")
OVER_CAP = N_("Over your %(limit)s cap: a supervisor decides.")
WITHIN_CAP = N_("Within your %(limit)s cap: you decide.")
NO_CAP = N_("Your role has no cap: you decide.")
AUTO_WOULD_APPLY = N_(
    "Auto-approval would apply (refund only, not shipped, up to %(auto)s): you may approve it."
)


class Decider(StrEnum):
    """Who takes the decision the page offers: the reader, or a supervisor."""

    YOU = "you"
    SUPERVISOR = "supervisor"


@dataclass(frozen=True)
class Explanation:
    """The rule that applies to one refund for one reader, as a msgid and its figures.

    The refund page shows it before the buttons and the API answers it, both
    from ``explain``, so they cannot say different things. ``decider`` picks
    the page's primary button: "Approve", or "Send to supervisor" when the
    amount is over the reader's cap (an approval would only be refused).
    """

    decider: Decider
    msgid: str
    params: Mapping[str, str] = field(default_factory=dict)
    limit: Decimal | None = None

    @property
    def yours(self) -> bool:
        return self.decider is Decider.YOU


def explain(
    rules: Rules,
    role: Role,
    *,
    kind: RefundKind,
    amount: Decimal,
    reason: ReasonCode,
    shipped: bool,
    ad_hoc: bool = False,
) -> Explanation:
    """Whose decision ``amount`` is for ``role`` under ``rules``, in words.

    The cap is ``approval_limit``'s, the one ``service.check_cap`` enforces,
    so "you decide" is never followed by a refusal for the amount it names.
    """
    limit = approval_limit(rules, role, ad_hoc=ad_hoc)
    figure = {"limit": f"{limit:.2f}"} if limit is not None else {}
    if limit is not None and amount > limit:
        night = role is Role.NIGHT_AGENT and limit == rules.night_agent_up_to
        return Explanation(Decider.SUPERVISOR, OVER_NIGHT_CAP if night else OVER_CAP, figure, limit)
    verdict = assess(rules, kind=kind, amount=amount, reason=reason, shipped=shipped)
    if verdict.verdict is Verdict.AUTO_APPROVE:
        return Explanation(Decider.YOU, AUTO_WOULD_APPLY, {"auto": verdict.value}, limit)
    if limit is None:
        return Explanation(Decider.YOU, NO_CAP)
    return Explanation(Decider.YOU, WITHIN_CAP, figure, limit)


@dataclass(frozen=True)
class Sentence:
    """One rule said as a sentence: a msgid and its figures, read in the reader's language.

    A figure may be a ``Msgid`` (a reason's label) or a list of them, joined
    as the reader's language joins a list (``core.errors.render``).
    """

    msgid: str
    params: Mapping[str, object] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return render(self.msgid, self.params)


SUMMARY_SUPERVISOR = N_("Refunds above %(amount)s need a supervisor; agents decide up to it.")
SUMMARY_NO_SUPERVISOR = N_("No amount needs a supervisor: agents decide any refund.")
SUMMARY_NIGHT = N_("Night-shift agents decide refunds up to %(amount)s.")
SUMMARY_AD_HOC = N_(
    "Agents may start a refund themselves (shipping, price difference, compensation) "
    "up to %(amount)s."
)
SUMMARY_AUTO = N_(
    "Refund-only requests on orders not yet shipped, up to %(amount)s, are approved by "
    "the desk by itself."
)
SUMMARY_NO_AUTO = N_("Nothing is approved automatically: a person decides every request.")
SUMMARY_REASONS = N_("Requests for %(reasons)s always need a person, whatever the amount.")
SUMMARY_MANAGERS = N_("Supervisors and owners may approve any amount.")


def summary(rules: Rules) -> list[Sentence]:
    """The rules in force as sentences, for the rules page (not "key: value" figures)."""

    def amount(value: Decimal) -> dict[str, object]:
        return {"amount": f"{value:.2f}"}

    out = [
        Sentence(SUMMARY_SUPERVISOR, amount(rules.supervisor_above))
        if rules.supervisor_above is not None
        else Sentence(SUMMARY_NO_SUPERVISOR)
    ]
    if rules.night_agent_up_to is not None:
        out.append(Sentence(SUMMARY_NIGHT, amount(rules.night_agent_up_to)))
    if rules.ad_hoc_agent_up_to is not None:
        out.append(Sentence(SUMMARY_AD_HOC, amount(rules.ad_hoc_agent_up_to)))
    if rules.auto_approve_unshipped_up_to is not None:
        out.append(Sentence(SUMMARY_AUTO, amount(rules.auto_approve_unshipped_up_to)))
    else:
        out.append(Sentence(SUMMARY_NO_AUTO))
    if rules.human_reasons:
        reasons = [Msgid(REASON_LABELS[r]) for r in sorted(rules.human_reasons)]
        out.append(Sentence(SUMMARY_REASONS, {"reasons": reasons}))
    out.append(Sentence(SUMMARY_MANAGERS))
    return out
