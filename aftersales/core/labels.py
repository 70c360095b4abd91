"""The words modules store, in the reader's language: events, statuses, kinds, reasons.

A refund's status, a return's audit event or a sync stream is stored as a
plain value (``waiting_return``, ``return.tracking``). Pages must show it in
the reader's language, yet core must not know any module's vocabulary: a new
module would otherwise mean an edit to the shared macros. So each module
declares its words beside its enums (``<module>/events.py``) and hands them
over as ``Module.labels``; ``LabelBook`` gathers them and templates ask it
with ``label(kind, value)``.

A value nobody declared (a status a newer version wrote, a plugin's event
with the plugin uninstalled) shows a translated generic, never the raw
value: an enum name on a zh-CN page reads as a bug to the agent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache

from aftersales.core import i18n
from aftersales.core.i18n import N_
from aftersales.core.modules import Module, all_modules, module_labels
from connectors import registry as connector_registry
from connectors import tracking

FALLBACK = "*"
"""A kind's map may hold this key: its own generic, used for values it does not know."""

OTHER = N_("Other")
EVENT = "event"
GENERIC: Mapping[str, str] = {EVENT: N_("Other change")}
"""Generics per kind where "Other" would read wrong; every other kind says "Other"."""

NOTE = "note"
"""The kind of the codes the desk itself writes into a note or a close reason (``refunded``)."""
NOTE_PATTERN = "note_pattern"
"""Old desk-written English notes, as full-match patterns, and the msgid that renders them.

Rows written before notes held codes say ``Return to: <address>``; the pattern's
named groups are the msgid's params, so such a row reads in the reader's language.
"""


class LabelBook:
    """Every module's labels by kind (``event``, ``refund_status``, ``reason``, ...)."""

    def __init__(self, maps: Mapping[str, Mapping[str, str]]) -> None:
        self._maps = maps

    @classmethod
    def of(cls, modules: Sequence[Module]) -> LabelBook:
        return cls(module_labels(modules))

    def kinds(self) -> list[str]:
        return sorted(self._maps)

    def values(self, kind: str) -> dict[str, str]:
        """The declared values of ``kind`` and their msgids (the fallback left out)."""
        return {v: m for v, m in self._maps.get(kind, {}).items() if v != FALLBACK}

    def msgid(self, kind: str, value: object) -> str:
        """The English msgid for ``value`` of ``kind``; a generic when it is unknown."""
        labels = self._maps.get(kind, {})
        key = str(value)  # a StrEnum member is its value
        if key in labels and key != FALLBACK:
            return labels[key]
        return labels.get(FALLBACK) or GENERIC.get(kind, OTHER)

    def text(self, kind: str, value: object) -> str:
        """The label in the current locale, as plain text (autoescape escapes it)."""
        return str(i18n.gettext(self.msgid(kind, value)))

    def text_or_value(self, kind: str, value: object) -> str:
        """The label when ``value`` is declared, else the value as it is.

        For kinds whose values are partly the user's own words: a store's own
        return category is shown as the owner typed it, the law's are labelled.
        """
        key = str(value)
        if key in self._maps.get(kind, {}) and key != FALLBACK:
            return self.text(kind, key)
        return key

    def note(self, value: object) -> str:
        """A stored note or close reason as the reader should see it.

        The desk writes a code (``refunded``) where it, not an agent, says why;
        an agent's own words are shown as typed. Rows from before the codes hold
        the desk's English sentence: a module's ``note_pattern`` turns each known
        one back into its label, so no English sentence is left on a zh-CN page.
        """
        key = "" if value is None else str(value)
        if key in self._maps.get(NOTE, {}) and key != FALLBACK:
            return self.text(NOTE, key)
        for pattern, msgid in self._maps.get(NOTE_PATTERN, {}).items():
            match = re.fullmatch(pattern, key, re.DOTALL)
            if match:
                return str(i18n.gettext(msgid)) % match.groupdict()
        return key


@cache
def _installed() -> LabelBook:
    return LabelBook.of(all_modules())


def label_for(kind: str, value: object) -> str:
    """The translated label from any installed module, for Python callers (exports, jobs)."""
    return _installed().text(kind, value)


def platform_status(platform: str, word: str) -> str:
    """A platform's own status word (``WAIT_SELLER_AGREE``) in the reader's language.

    The words belong to the platform, so its connector's manifest names them
    (``status_labels``). A word the connector does not name is shown as the
    platform wrote it: it is the platform's data, and the only clue an agent has.
    """
    manifest = connector_registry.find(platform)
    msgid = manifest.status_labels.get(word) if manifest is not None else None
    return str(i18n.gettext(msgid)) if msgid else word


def carrier_name(name: str | None) -> str:
    """A parcel's carrier in the reader's language: ``zhongtong`` and 中通 read 中通快递.

    In English that is "ZTO Express".

    Platforms and shops write carriers as codes or in their own words; the
    tracking connector knows both (``CARRIERS``, ``CARRIER_NAMES``). A carrier
    it does not know (UPS, on a shop abroad) is shown as the platform wrote it.
    """
    if not name:
        return ""
    try:
        code = tracking.carrier_code(name)
    except ValueError:
        return name
    msgid = tracking.CARRIER_NAMES.get(code)
    return str(i18n.gettext(msgid)) if msgid else name


def buyer_locale(platform: str, chosen: str = "") -> str:
    """The catalog locale of texts a store's buyers and arbitrators read.

    The store's own choice (``chosen``, its ``buyer_language`` setting) if any,
    else the platform's manifest (``ConnectorManifest.buyer_language``), so the
    quick replies and the evidence summary agree on one language per store.
    """
    manifest = connector_registry.find(platform)
    language = chosen or (manifest.buyer_language if manifest is not None else "zh-CN")
    locale = language.replace("-", "_")
    return locale if locale in i18n.SUPPORTED else i18n.DEFAULT_LOCALE
