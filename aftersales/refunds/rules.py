"""A store's refund rules and the verdict they give on one refund.

Pure functions over plain values, so the queue can show every row's verdict
and the worker can auto-approve with the very same reasoning. A verdict
always names the rule that decided it: the refund page shows it, so nobody
has to guess why the worker approved something or why an agent was stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from aftersales.core.auth import MANAGERS
from aftersales.core.i18n import N_
from aftersales.core.models import Role
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
    """The verdict and the rule that gave it, as a msgid plus its figure.

    ``rule`` is the English sentence stored on the refund and in the audit
    trail; pages translate ``label`` and fill in ``value``.
    """

    verdict: Verdict
    label: str
    value: str = ""

    @property
    def rule(self) -> str:
        return self.label % {"value": self.value} if self.value else self.label


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
            Verdict.NEEDS_SUPERVISOR,
            N_("amount above %(value)s: a supervisor decides"),
            f"{rules.supervisor_above:.2f}",
        )
    if reason in rules.human_reasons:
        return Assessment(
            Verdict.NEEDS_PERSON, N_("reason %(value)s always needs a person"), reason.value
        )
    limit = rules.auto_approve_unshipped_up_to
    if kind is RefundKind.REFUND_ONLY and limit is not None and not shipped and amount <= limit:
        return Assessment(
            Verdict.AUTO_APPROVE,
            N_("refund only, not shipped, amount up to %(value)s: auto-approved"),
            f"{limit:.2f}",
        )
    return Assessment(Verdict.AGENT_MAY_DECIDE, N_("an agent decides"))


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
