"""Every built-in connector describes itself in a manifest the desk can show in Chinese."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from connectors import registry
from connectors.base import ConnectorManifest
from connectors.taobao import normalize_base_url

MODULES = registry.BUILTIN
PO = Path(__file__).resolve().parents[2] / "aftersales/locale/zh_CN/LC_MESSAGES/messages.po"


@pytest.mark.parametrize("name", MODULES)
def test_each_connector_module_exports_its_manifest(name: str) -> None:
    manifest = importlib.import_module(name).manifest
    assert isinstance(manifest, ConnectorManifest)
    assert registry.manifest_for(manifest.platform) is manifest


def test_the_entry_points_name_the_manifests() -> None:
    found = {ep.name: ep.value for ep in entry_points(group=registry.GROUP)}
    for name in MODULES:
        manifest = importlib.import_module(name).manifest
        assert found.get(manifest.platform) == f"{name}:manifest"


def test_every_label_a_manifest_shows_has_a_chinese_translation() -> None:
    with PO.open("rb") as handle:
        translated = {m.id for m in read_po(handle, locale="zh_CN") if m.id and m.string}
    wanted = set()
    for name in MODULES:
        manifest = importlib.import_module(name).manifest
        wanted |= {manifest.label, manifest.base_url_label, manifest.base_url_help}
        wanted |= {text for f in manifest.credentials for text in (f.label, f.help)}
    assert sorted(wanted - {""} - translated) == []


def test_an_unknown_platform_is_refused_by_name() -> None:
    with pytest.raises(registry.UnknownPlatform, match="'nowhere'"):
        registry.manifest_for("nowhere")


def test_the_taobao_gateway_normalises_to_its_host() -> None:
    assert (
        normalize_base_url("https://gw.api.taobao.com/router/rest") == "https://gw.api.taobao.com"
    )
    assert normalize_base_url("gw.api.taobao.com/") == "https://gw.api.taobao.com"
    assert normalize_base_url("HTTP://127.0.0.1:8080/router/rest/") == "http://127.0.0.1:8080"
    assert normalize_base_url("   ") == ""
