"""How one per-store setting is shown and checked on the store's settings page.

A module declares its settings' defaults in ``Module.store_settings``; a
``SettingField`` beside it gives the page a label and a help text in words
and says what a valid value is, so the page can refuse a bad one (400, in
the reader's language) before anything is written. A setting without a field
(the returns policy, edited on its own page) is simply not on the form.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aftersales.core.errors import InvalidInput, Msgid
from aftersales.core.i18n import N_

KINDS = frozenset({"int", "text", "textarea", "choice"})


@dataclass(frozen=True)
class SettingField:
    """One setting on the form: ``key`` of ``Module.store_settings``, with its words.

    ``kind`` is ``int`` (between ``minimum`` and ``maximum``, ``unit`` after
    the box), ``text``/``textarea`` (at most ``max_length`` characters) or
    ``choice`` (one of ``choices``, value -> msgid). Labels, help and units are
    English msgids, translated when the page is rendered.
    """

    key: str
    label: str
    help: str = ""
    kind: str = "int"
    minimum: int | None = None
    maximum: int | None = None
    unit: str = ""
    max_length: int = 255
    choices: Sequence[tuple[str, str]] = ()

    def __post_init__(self) -> None:
        assert self.kind in KINDS, f"unknown setting kind {self.kind!r}"
        assert self.kind != "choice" or self.choices, f"{self.key}: a choice needs choices"

    def parse(self, raw: str) -> Any:
        """The typed value of what the form sent; a bad one raises ``InvalidInput`` (400)."""
        text = raw.strip()
        name = Msgid(self.label)
        if self.kind == "int":
            try:
                value = int(text)
            except ValueError:
                raise InvalidInput(
                    N_("%(setting)s is a whole number."),
                    setting=name,
                    value=text,
                    code="setting_not_a_number",
                ) from None
            low = self.minimum if self.minimum is not None else value
            high = self.maximum if self.maximum is not None else value
            if not low <= value <= high:
                raise InvalidInput(
                    N_("%(setting)s must be between %(min)s and %(max)s."),
                    setting=name,
                    min=low,
                    max=high,
                    value=value,
                    code="setting_out_of_range",
                )
            return value
        if self.kind == "choice":
            if text not in {value for value, _ in self.choices}:
                raise InvalidInput(
                    N_("Choose one of the offered values for %(setting)s."),
                    setting=name,
                    value=text,
                    code="setting_bad_choice",
                )
            return text
        if len(text) > self.max_length:
            raise InvalidInput(
                N_("%(field)s is at most %(max)s characters; this one has %(length)s."),
                field=name,
                max=self.max_length,
                length=len(text),
                code="too_long",
            )
        return text if self.kind == "textarea" else " ".join(text.split())
