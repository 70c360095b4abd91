"""Templates hand ``_()`` only literal msgids.

Jinja's new-style gettext marks what it returns safe and %-formats it, so
``_(row.label)`` runs markup from a product title and crashes on a ``%``.
This reads every template the desk can load (its own and every module's)
and fails on a gettext call whose msgid is not a literal string; a label
held in a variable goes through ``tr()``, which returns plain text.
"""

from __future__ import annotations

import jinja2
from jinja2 import nodes

from aftersales.core.modules import Registry, all_modules
from aftersales.core.templating import build_environment

# How many leading arguments of each gettext callable are msgids.
MSGID_ARGS = {"_": 1, "gettext": 1, "ngettext": 2, "pgettext": 2, "npgettext": 3}


def non_literal_gettext(env: jinja2.Environment, source: str) -> list[str]:
    """Each gettext call in ``source`` whose msgid is not a literal, as line: call."""
    found = []
    for call in env.parse(source).find_all(nodes.Call):
        if not isinstance(call.node, nodes.Name) or call.node.name not in MSGID_ARGS:
            continue
        wanted = MSGID_ARGS[call.node.name]
        msgids = call.args[:wanted]
        literal = (
            len(msgids) == wanted
            and call.dyn_args is None
            and all(isinstance(a, nodes.Const) and isinstance(a.value, str) for a in msgids)
        )
        if not literal:
            found.append(f"line {call.lineno}: {call.node.name}(...)")
    return found


def test_every_template_gives_gettext_a_literal_msgid() -> None:
    env = build_environment(Registry(all_modules()))
    assert env.loader is not None
    names = [n for n in env.list_templates() if n.endswith(".html")]
    assert "refunds/report.html" in names and "_macros.html" in names
    offenders = {}
    for name in names:
        source, _filename, _uptodate = env.loader.get_source(env, name)
        if found := non_literal_gettext(env, source):
            offenders[name] = found
    assert not offenders, f"_() with a non-literal msgid (use tr() for N_ labels): {offenders}"


def test_the_check_catches_what_it_is_for() -> None:
    env = build_environment(Registry([]))
    bad = [
        "{{ _(message) }}",
        "{{ _(row.label) }}",
        "{{ _(a.label, value=a.value) }}",
        "{{ gettext(title) }}",
        '{{ ngettext("%(num)s order", plural, n) }}',
        "{{ _(*args) }}",
        "{% for x in xs %}{{ ui.checkbox('tag', _(x)) }}{% endfor %}",
    ]
    for source in bad:
        assert non_literal_gettext(env, source), source
    good = [
        '{{ _("Refunded") }}',
        '{{ _("Good day, %(name)s", name=user.name) }}',
        '{{ ngettext("%(num)s order", "%(num)s orders", n) }}',
        "{{ tr(row.label) }} {{ row.label }}",
    ]
    for source in good:
        assert not non_literal_gettext(env, source), source
