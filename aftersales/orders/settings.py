"""One store's settings page: the store's own, every module's, the deadline timers.

Orders owns stores, so it owns the page; what each module lets a store set is
read from the registry (``Registry.store_setting_fields``) and the timers from
the case kernel (``cases.timer_fields``), so no module is named here. Saving
checks every value first and writes nothing when one is bad, then writes all
of them and one audit row in a single transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tortoise.transactions import in_transaction

from aftersales.core import audit, cases, modules
from aftersales.core.errors import InvalidInput, PermissionDenied
from aftersales.core.i18n import N_
from aftersales.core.models import Role, Store, User
from aftersales.core.modules import Registry
from aftersales.core.setting_fields import SettingField

# Who may rename a store or move it to another time zone: as on the store form.
STORE_EDITORS = frozenset({Role.OWNER, Role.ADMIN})

# Time zones a shop is likely to keep its books in, in words; the stored value is the
# IANA name. A zone set elsewhere (the API, the CLI) is kept and shown as it is.
TIME_ZONES: tuple[tuple[str, str], ...] = (
    ("Asia/Shanghai", N_("China (Beijing time)")),
    ("Asia/Hong_Kong", N_("Hong Kong")),
    ("Asia/Taipei", N_("Taiwan")),
    ("Asia/Singapore", N_("Singapore")),
    ("Asia/Tokyo", N_("Japan")),
    ("Europe/London", N_("United Kingdom")),
    ("Europe/Berlin", N_("Central Europe")),
    ("America/New_York", N_("US Eastern")),
    ("America/Los_Angeles", N_("US Pacific")),
    ("UTC", N_("UTC")),
)

NAME = SettingField(
    "name", N_("Store name"), N_("How the desk names this store."), kind="text", max_length=128
)


def zone_field(current: str) -> SettingField:
    """The time-zone choice, with the store's own zone kept if it is not in the list."""
    choices = TIME_ZONES
    if current not in dict(TIME_ZONES):
        choices = (*TIME_ZONES, (current, current))
    return SettingField(
        "timezone",
        N_("Time zone"),
        N_("Deadlines, return windows and reports count days in this time zone."),
        kind="choice",
        choices=choices,
    )


@dataclass(frozen=True)
class Row:
    """One setting on the page: its field, the form's input name and the value shown."""

    field: SettingField
    name: str
    value: Any


@dataclass(frozen=True)
class Section:
    title: str  # a msgid
    rows: list[Row] = field(default_factory=list)
    editable: bool = True


def sections(store: Store, registry: Registry, user: User) -> list[Section]:
    """What the page shows, in order: the store, each module, the timers."""
    own = [
        Row(NAME, "store.name", store.name),
        Row(zone_field(store.timezone), "store.timezone", store.timezone),
    ]
    result = [Section(N_("This store"), own, editable=user.role in STORE_EDITORS)]
    for module, fields_ in registry.store_setting_fields():
        rows = [
            Row(f, f"{module.name}.{f.key}", registry.store_setting(store, module.name, f.key))
            for f in fields_
        ]
        result.append(Section(module.label, rows))
    timers = [Row(f, f"timer.{f.key}", cases.timer(store, f.key)) for f in cases.timer_fields()]
    result.append(Section(N_("Deadline timers"), timers))
    return result


def _parse(section: Section, form: Mapping[str, str]) -> dict[str, Any]:
    """The typed values a section's rows sent; a missing input keeps the shown value."""
    return {
        row.name: row.field.parse(form[row.name]) if row.name in form else row.value
        for row in section.rows
    }


async def save(
    store: Store, form: Mapping[str, str], *, registry: Registry, actor: User
) -> dict[str, list[Any]]:
    """Check every value, then write them all with one ``store.settings_updated`` audit row.

    Returns what changed (input name -> [before, after]); nothing is written
    when any value is bad (``InvalidInput``) or when a supervisor tries to
    rename the store or move its time zone (``PermissionDenied``).
    """
    page = sections(store, registry, actor)
    values: dict[str, Any] = {}
    for section in page:
        values.update(_parse(section, form))
    before = {row.name: row.value for section in page for row in section.rows}
    changed = {k: [before[k], v] for k, v in values.items() if before[k] != v}
    own = {k for k in changed if k.startswith("store.")}
    if own and actor.role not in STORE_EDITORS:
        raise PermissionDenied(
            N_("Only an owner or an admin may rename a store or change its time zone."), obj=store
        )
    if not values["store.name"]:
        raise InvalidInput(N_("A store needs a name."), obj=store)
    if not changed:
        return changed
    per_module: dict[str, dict[str, Any]] = {}
    for name in changed:
        prefix, _, key = name.partition(".")
        if prefix not in ("store", "timer"):
            per_module.setdefault(prefix, {})[key] = values[name]
    async with in_transaction() as conn:
        if own:
            store.name = values["store.name"]
            store.timezone = values["store.timezone"]
            await store.save(using_db=conn, update_fields=["name", "timezone"])
        for module, changes in per_module.items():
            await registry.update_store_settings(store, module, changes, conn)
        if any(name.startswith("timer.") for name in changed):
            # The page shows every declared timer, so it writes them all; a store that
            # keeps a default stores it, which reads the same.
            timers = {k.partition(".")[2]: v for k, v in values.items() if k.startswith("timer.")}
            await registry.update_store_settings(store, "core", {"timers": timers}, conn)
        await audit.record(
            "store.settings_updated",
            subject_type="store",
            subject_id=store.id,
            actor=actor,
            data={"changed": changed},
            using_db=conn,
        )
    return changed


def buyer_language(store: Store) -> str:
    """The language the store chose for replies to its buyers; empty: its platform's.

    Refunds and returns hand it to the quick replies (``PhraseContext.language``),
    which fall back on the connector manifest's language when it is empty.
    """
    registry = modules.current()
    if "orders" not in registry:
        return ""
    return str(registry.store_setting(store, "orders", "buyer_language") or "")
