"""Every stored word a page shows has a label, in Chinese too, and unknown ones read as a generic.

Audit actions are read from the source (every ``audit.record(...)`` call,
following an action passed in through a parameter back to its callers), so
an event added anywhere in ``aftersales/`` without a label in its module's
``events.py`` fails here rather than showing ``return.something`` to an agent.
"""

from __future__ import annotations

import ast
import itertools
from collections import defaultdict
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

import httpx
import pytest
from babel.messages.pofile import read_po

import aftersales
from aftersales.core import i18n
from aftersales.core.labels import FALLBACK, GENERIC, OTHER, LabelBook
from aftersales.core.models import OutboxStatus, PhraseCategory, Role
from aftersales.core.modules import Module, Registry, all_modules, module_labels
from aftersales.core.reasons import ReasonCode
from aftersales.core.templating import build_environment
from aftersales.handover.models import ItemState, PromiseStatus
from aftersales.refunds.models import EvidenceKind, Refund, RefundKind, RefundStatus
from aftersales.returns.models import InspectionResult, ReturnStatus, ShippingPayer
from aftersales.returns.policy import ReturnKind
from aftersales.reviews.classify import Sentiment
from aftersales.reviews.models import (
    ContactChannel,
    ContactResult,
    RemedyKind,
    ReplyState,
    ReviewCaseStatus,
    ReviewOutcome,
    ReviewResult,
)
from connectors.base import OrderStatus, Stream
from connectors.tracking import TrackingState
from tests.conftest import sign_in
from tests.factories import create_user
from tests.refunds.test_service import demo_shop

PACKAGE = Path(aftersales.__file__).resolve().parent
PO = PACKAGE / "locale/zh_CN/LC_MESSAGES/messages.po"

# Every stored enum a page shows, and the label kind it is shown under.
ENUM_KINDS: dict[str, type[StrEnum]] = {
    "review_case_status": ReviewCaseStatus,
    "review_outcome": ReviewOutcome,
    "review_result": ReviewResult,
    "sentiment": Sentiment,
    "contact_channel": ContactChannel,
    "contact_result": ContactResult,
    "remedy_kind": RemedyKind,
    "reply_state": ReplyState,
    "refund_status": RefundStatus,
    "refund_kind": RefundKind,
    "evidence_kind": EvidenceKind,
    "return_status": ReturnStatus,
    "return_kind": ReturnKind,
    "inspection_result": InspectionResult,
    "shipping_payer": ShippingPayer,
    "parcel_state": TrackingState,
    "order_status": OrderStatus,
    "outbox_status": OutboxStatus,
    "sync_stream": Stream,
    "role": Role,
    "reason": ReasonCode,
    "phrase_category": PhraseCategory,
    "handover_item_state": ItemState,
    "promise_status": PromiseStatus,
}
# Enums that are inner workings, never shown as words on a page.
NOT_SHOWN = {"LedgerSource", "TrackingSource", "ShipmentDirection", "Verdict"}


@pytest.fixture(scope="module")
def book() -> LabelBook:
    return LabelBook.of(all_modules())


# -- audit actions read from the source -------------------------------------------------------


class Unresolved(Exception):
    """An action the scan cannot follow to string literals: make it a literal or a parameter."""


class Source:
    """Every function and call in ``aftersales/``, to follow an action to its literals."""

    def __init__(self, root: Path) -> None:
        self.calls: dict[str, list[tuple[ast.Call, ast.AST | None]]] = defaultdict(list)
        self.records: list[tuple[Path, ast.Call, ast.AST | None]] = []
        self.owner: dict[int, ast.AST] = {}
        for path in sorted(root.rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for func, node in self._walk(tree, None):
                if not isinstance(node, ast.Call):
                    continue
                name = _called_name(node)
                if name:
                    self.calls[name].append((node, func))
                if _is_audit_record(node):
                    self.records.append((path, node, func))

    def _walk(
        self, node: ast.AST, func: ast.AST | None
    ) -> Iterator[tuple[ast.AST | None, ast.AST]]:
        for child in ast.iter_child_nodes(node):
            inner = child if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else func
            yield func, child
            yield from self._walk(child, inner)

    def actions(self) -> set[str]:
        found: set[str] = set()
        for path, call, func in self.records:
            action = call.args[0] if call.args else _keyword(call, "action")
            if action is None:
                raise Unresolved(f"{path}:{call.lineno}: audit.record() without an action")
            try:
                found |= self.values(action, func, 0)
            except Unresolved as exc:
                raise Unresolved(f"{path}:{call.lineno}: {exc}") from None
        return found

    def values(self, node: ast.AST, func: ast.AST | None, depth: int) -> set[str]:
        """The strings ``node`` can be: literals, conditionals, f-strings, parameters."""
        if depth > 8:
            raise Unresolved(ast.unparse(node))
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {node.value}
        if isinstance(node, ast.IfExp):
            return self.values(node.body, func, depth + 1) | self.values(
                node.orelse, func, depth + 1
            )
        if isinstance(node, ast.JoinedStr):
            parts = [
                self.values(p.value if isinstance(p, ast.FormattedValue) else p, func, depth + 1)
                for p in node.values
            ]
            return {"".join(combo) for combo in itertools.product(*parts)}
        if isinstance(node, ast.Name) and func is not None:
            return self._name(node.id, func, depth + 1)
        raise Unresolved(ast.unparse(node))

    def _name(self, name: str, func: ast.AST, depth: int) -> set[str]:
        assert isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef)
        found: set[str] = set()
        for node in ast.walk(func):
            if not isinstance(node, ast.Assign):
                continue
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == name:
                    found |= self.values(node.value, func, depth)
                elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    for item, value in zip(target.elts, node.value.elts, strict=False):
                        if isinstance(item, ast.Name) and item.id == name:
                            found |= self.values(value, func, depth)
        positional = [a.arg for a in func.args.posonlyargs + func.args.args]
        if name in positional or name in [a.arg for a in func.args.kwonlyargs]:
            index = positional.index(name) if name in positional else None
            if index is not None and positional[0] in ("self", "cls"):
                index -= 1  # obj.method(...) does not pass self
            for call, caller in self.calls[func.name]:
                given = _keyword(call, name)
                if given is None and index is not None and len(call.args) > index:
                    given = call.args[index]
                if given is not None:
                    found |= self.values(given, caller, depth)
        if not found:
            raise Unresolved(f"{name} in {func.name}()")
        return found


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _is_audit_record(call: ast.Call) -> bool:
    func = call.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "record"
        and isinstance(func.value, ast.Name)
        and func.value.id == "audit"
    )


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def test_every_audit_action_written_in_the_source_has_a_label(book: LabelBook) -> None:
    actions = Source(PACKAGE).actions()
    # The scan follows literals, conditionals, f-strings and parameters back to callers:
    assert {
        "refund.approved",
        "refund.rejected",
        "return.platform_agreed",
        "return.inspected",
        "user.password_reset",
        "store.created",
    } <= actions
    unlabelled = sorted(actions - set(book.values("event")))
    assert not unlabelled, (
        f"audit actions without a label in their module's events.py: {unlabelled}"
    )


def test_the_scan_fails_on_an_action_it_cannot_follow(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text(
        "async def f(x):\n    await audit.record(x.upper(), subject_type='t', subject_id=1)\n"
    )
    with pytest.raises(Unresolved):
        Source(tmp_path).actions()


# -- enums and translations ---------------------------------------------------------------------


def test_every_member_of_every_shown_enum_has_a_label(book: LabelBook) -> None:
    missing = [
        f"{kind}: {member.value}"
        for kind, enum in ENUM_KINDS.items()
        for member in enum
        if member.value not in book.values(kind)
    ]
    assert not missing, f"no label: {missing}"


def test_no_status_or_kind_enum_in_a_module_is_forgotten() -> None:
    """A new ``...Status``/``...Kind`` enum in a module's models must be added above."""
    import importlib

    shown = {e.__name__ for e in ENUM_KINDS.values()}
    forgotten = []
    for path in sorted(PACKAGE.glob("*/models.py")):
        module = importlib.import_module(f"aftersales.{path.parent.name}.models")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, StrEnum)
                and value is not StrEnum
                and value.__module__ == module.__name__
                and value.__name__ not in shown | NOT_SHOWN
            ):
                forgotten.append(value.__name__)
    assert not forgotten, f"enums without a label kind in ENUM_KINDS: {forgotten}"


def test_every_label_has_a_chinese_translation(book: LabelBook) -> None:
    with PO.open("rb") as handle:
        catalog = read_po(handle, locale="zh_CN")
    translated = {m.id for m in catalog if m.id and isinstance(m.string, str) and m.string}
    msgids = {m for kind in book.kinds() for m in module_labels(all_modules())[kind].values()}
    msgids |= set(GENERIC.values()) | {OTHER}
    assert not sorted(msgids - translated)


def test_an_unknown_value_reads_as_a_translated_generic_never_the_raw_value(
    book: LabelBook,
) -> None:
    token = i18n.set_locale("zh_CN")
    try:
        assert book.text("refund_status", "teleported") == "其他"
        assert book.text("no_such_kind", "x") == "其他"
        assert book.text("event", "refund.teleported") == "其他变更"
        assert book.text("parcel_state", "on_the_moon") == i18n.gettext("unknown") != "unknown"
        assert book.text("refund_status", RefundStatus.WAITING_RETURN) == "等待退货"
    finally:
        i18n._current.reset(token)
    assert book.text("event", "return.teleported") == "Other change"


def test_the_macro_renders_the_label_escaped_and_the_generic_for_unknowns() -> None:
    plugin = Module(
        name="plugin",
        label="Plugin",
        labels={"ticket_status": {"open": "<b>Open</b>", FALLBACK: "Some state"}},
    )
    env = build_environment(Registry([plugin]))
    template = env.from_string(
        '{% import "_macros.html" as ui %}'
        '{{ ui.status("ticket_status", v) }}|{{ label("event", v) }}'
    )
    assert template.render(v="open") == (
        '<span class="status open">&lt;b&gt;Open&lt;/b&gt;</span>|Other change'
    )
    assert template.render(v="gone") == '<span class="status gone">Some state</span>|Other change'


def test_two_modules_may_not_label_one_value_differently() -> None:
    from aftersales.core.errors import ConfigError

    a = Module(name="a", label="A", labels={"event": {"x.y": "One"}})
    b = Module(name="b", label="B", labels={"event": {"x.y": "Two"}})
    assert module_labels([a, a])["event"] == {"x.y": "One"}
    with pytest.raises(ConfigError):
        module_labels([a, b])


def test_the_shared_macros_hold_no_module_vocabulary() -> None:
    source = (PACKAGE.parent / "templates/_macros.html").read_text(encoding="utf-8").lower()
    for word in ("refund", "return", "parcel", "inspection", "shipping", "awaiting"):
        assert word not in source, word


# -- a Chinese page ---------------------------------------------------------------------------


async def test_a_chinese_refund_page_shows_chinese_labels_not_enum_values(
    client: httpx.AsyncClient, app
) -> None:
    await demo_shop()
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    refund = await Refund.filter(status=RefundStatus.REQUESTED).order_by("id").first()
    assert refund is not None
    page = (await client.get(f"/refunds/{refund.id}", headers={"Accept-Language": "zh-CN"})).text
    assert "收到平台申请" in page  # the refund.received event on the timeline
    assert "待处理" in page  # the status badge
    assert "refund.received" not in page
    assert ">requested<" not in page and "Request received from the platform" not in page
