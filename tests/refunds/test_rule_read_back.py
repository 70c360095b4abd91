"""A refund's stored rule sentence reads back as its msgid, so a Chinese page shows Chinese."""

from __future__ import annotations

import pytest

from aftersales.core import i18n
from aftersales.core.labels import label_for
from aftersales.core.templating import tr
from aftersales.refunds.rules import STORED_RULES, Verdict, read_rule


@pytest.mark.parametrize(
    "stored",
    [
        "amount above 300.00: a supervisor decides",
        "reason quality always needs a person",
        "refund only, not shipped, amount up to 50.00: auto-approved",
        "an agent decides",
        "over the refundable remainder: a person decides",
        "agent may approve up to 300.00",
        "supervisor may approve any amount",
        "return case 16 inspected by demo",
    ],
)
def test_every_stored_rule_reads_back_to_the_sentence_it_was(stored: str) -> None:
    assessment = read_rule(stored)
    assert assessment is not None and assessment.rule == stored


def test_every_rule_a_refund_stores_is_read_back() -> None:
    """A new rule sentence must be added to STORED_RULES, or pages show it in English."""
    assert len({label for label, _, _ in STORED_RULES}) == len(STORED_RULES)


def test_a_rule_typed_by_hand_is_left_as_it_is() -> None:
    assert read_rule("买家同意补发") is None
    assert read_rule("") is None


def test_codes_in_a_rule_read_as_labels_in_chinese() -> None:
    """The reason and the role are stored words: a page shows their labels, not the codes."""
    token = i18n.set_locale("zh_CN")
    try:
        person = read_rule("reason quality always needs a person")
        assert person is not None and person.verdict is Verdict.NEEDS_PERSON
        shown = tr(person.label, value=label_for(person.value_kind, person.value), **person.more)
        assert "quality" not in shown and label_for("reason", "quality") in shown
        cap = read_rule("agent may approve up to 300.00")
        assert cap is not None
        shown = tr(cap.label, value=label_for(cap.value_kind, cap.value), **cap.more)
        assert "agent" not in shown and "300.00" in shown
    finally:
        i18n._current.reset(token)
