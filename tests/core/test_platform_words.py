"""Platform status words and user-extensible labels, in the reader's language."""

from __future__ import annotations

from babel.messages.pofile import read_po

from aftersales.core import i18n
from aftersales.core.labels import LabelBook, platform_status
from connectors import registry
from tests.core.test_labels import PO


def test_a_platform_status_reads_in_chinese_and_an_unknown_one_as_the_platform_wrote_it() -> None:
    token = i18n.set_locale("zh_CN")
    try:
        assert platform_status("taobao", "WAIT_SELLER_AGREE") == "买家已申请退款，等待卖家同意"
        assert platform_status("demo", "TRADE_FINISHED") == "交易成功"
        assert platform_status("taobao", "SOMETHING_NEW") == "SOMETHING_NEW"
        assert platform_status("no-such-platform", "paid") == "paid"
    finally:
        i18n._current.reset(token)
    assert platform_status("taobao", "SUCCESS") == "Refund succeeded"


def test_every_connectors_status_label_has_a_chinese_translation() -> None:
    """Connectors import nothing from the desk, so extraction does not see their msgids."""
    with PO.open("rb") as handle:
        catalog = read_po(handle, locale="zh_CN")
    translated = {m.id for m in catalog if m.id and isinstance(m.string, str) and m.string}
    manifests = registry.installed().values()
    wanted = {msgid for manifest in manifests for msgid in manifest.status_labels.values()}
    assert wanted and not sorted(wanted - translated)


def test_a_value_nobody_declared_shows_as_typed_when_asked_for_as_is() -> None:
    book = LabelBook({"return_category": {"custom": "Custom-made"}})
    token = i18n.set_locale("zh_CN")
    try:
        assert book.text_or_value("return_category", "custom") == "定制"
        assert book.text_or_value("return_category", "茶叶") == "茶叶"
        assert book.text_or_value("no_such_kind", "x") == "x"
    finally:
        i18n._current.reset(token)
