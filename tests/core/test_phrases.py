"""Quick replies: who may change which, placeholders filled from a case, warnings, seeding, API."""

from __future__ import annotations

import httpx
import pytest

from aftersales.core import phrases
from aftersales.core.cases import CaseRef
from aftersales.core.errors import InvalidInput, PermissionDenied
from aftersales.core.i18n import set_locale
from aftersales.core.models import AuditEvent, Phrase, PhraseCategory, Role
from aftersales.core.modules import Registry, all_modules
from aftersales.core.phrases import PhraseContext, PhraseInput
from aftersales.orders.models import Order
from aftersales.refunds import module as refunds_module
from aftersales.refunds.models import Refund
from aftersales.returns import module as returns_module
from aftersales.returns.models import ReturnCase
from tests.conftest import csrf_from, sign_in
from tests.factories import create_store, create_user
from tests.orders.test_api import bearer
from tests.refunds.test_service import demo_shop

pytestmark = pytest.mark.usefixtures("clean_db")

SHIPPED = PhraseInput(
    title="包裹已发出",
    body="{买家昵称}亲，订单 {order_no} 已发出，单号 {tracking_no}，金额 {amount}。",
    category="where_is_parcel",
    assumes={"shipped": True},
)


async def _refund(*, shipped: bool) -> Refund:
    for refund in await Refund.all().order_by("id"):
        order = await Order.get_or_none(id=refund.order_id) if refund.order_id else None
        if order is not None and bool(order.shipped_at) is shipped:
            return refund
    raise AssertionError(f"the demo shop has no refund with shipped={shipped}")


async def test_an_agent_keeps_personal_phrases_and_cannot_touch_the_teams() -> None:
    agent = await create_user(role=Role.AGENT)
    other = await create_user(role=Role.AGENT)
    supervisor = await create_user(role=Role.SUPERVISOR)
    with pytest.raises(PermissionDenied):
        await phrases.create(agent, SHIPPED, team=True)
    team = await phrases.create(supervisor, SHIPPED, team=True)
    mine = await phrases.create(agent, SHIPPED, team=False)
    assert team.owner_id is None and mine.owner_id == agent.id
    # The placeholder typed in Chinese is kept as its code.
    assert team.body.startswith("{buyer_nick}亲")

    with pytest.raises(PermissionDenied) as refused:
        await phrases.edit(agent, team.id, SHIPPED)
    assert refused.value.code == "phrase_team_managers_only"
    with pytest.raises(PermissionDenied):
        await phrases.delete(agent, team.id)
    # Another agent does not even see my phrase.
    assert {p.id for p in await phrases.list_for(other)} == {team.id}
    assert {p.id for p in await phrases.list_for(agent)} == {team.id, mine.id}

    await phrases.edit(supervisor, team.id, PhraseInput("已发货", "您好 {item}", "where_is_parcel"))
    await phrases.delete(agent, mine.id)
    assert {p.id for p in await phrases.list_for(agent)} == {team.id}
    actions = await AuditEvent.filter(subject_type="phrase").values_list("action", flat=True)
    assert sorted(actions) == [
        "phrase.changed",
        "phrase.created",
        "phrase.created",
        "phrase.deleted",
    ]


async def test_bad_input_is_refused_with_a_clear_message() -> None:
    agent = await create_user()
    for given, code in [
        (PhraseInput("", "x", "greeting"), "phrase_bad_title"),
        (PhraseInput("t", "  ", "greeting"), "phrase_bad_body"),
        (PhraseInput("t", "x", "gossip"), "phrase_bad_category"),
        (PhraseInput("t", "x", "greeting", language="fr"), "phrase_bad_language"),
        (PhraseInput("t", "x", "greeting", assumes={"paid": True}), "phrase_bad_assumes"),
        (PhraseInput("t", "您好 {phone}", "greeting"), "phrase_unknown_placeholder"),
    ]:
        with pytest.raises(InvalidInput) as error:
            await phrases.create(agent, given, team=False)
        assert error.value.code == code
    set_locale("zh_CN")
    with pytest.raises(InvalidInput) as error:
        await phrases.create(agent, PhraseInput("t", "您好 {phone}", "greeting"), team=False)
    assert "{订单号}" in error.value.message and "不是占位符" in error.value.message
    set_locale("en")


async def test_placeholders_are_filled_from_the_refund_and_a_contradiction_warns() -> None:
    await demo_shop()
    supervisor = await create_user(role=Role.SUPERVISOR)
    phrase = await phrases.create(supervisor, SHIPPED, team=True)
    unshipped = await _refund(shipped=False)
    order = await Order.get(id=unshipped.order_id).prefetch_related("customer")

    set_locale("zh_CN")
    rendered = await phrases.render_for_case(supervisor, phrase.id, unshipped.ref)
    assert rendered.text.startswith(f"{order.customer.nick}亲，订单 {unshipped.platform_order_id}")
    assert f"¥{unshipped.requested_amount:,.2f}" in rendered.text
    # Not shipped: no tracking number, so a marker the agent sees, and a warning.
    assert "【请填写快递单号】" in rendered.text and rendered.missing == ("tracking_no",)
    assert rendered.warnings == ("这条短语说“货已发出”，但本单货还没发出。",)
    set_locale("en")

    shipped = await _refund(shipped=True)
    fine = await phrases.render_for_case(supervisor, phrase.id, shipped.ref)
    assert fine.warnings == ()


async def test_a_phrase_without_a_case_keeps_visible_markers_and_never_fails() -> None:
    phrase = Phrase(title="t", body="{buyer_nick} {order_no} {nothing} {", assumes={"shipped": 1})
    rendered = phrases.render(phrase, None)
    assert rendered.text == "[fill in the buyer nick] [fill in the order number] {nothing} {"
    assert rendered.warnings == ()
    known = phrases.render(phrase, PhraseContext("demo", {"buyer_nick": "小王"}, {"shipped": 0}))
    assert known.text.startswith("小王 [fill in the order number]")
    assert len(known.warnings) == 1


async def test_the_phrase_context_hook_answers_for_its_own_cases_only() -> None:
    await demo_shop()
    refund = await _refund(shipped=True)
    registry = Registry([refunds_module])
    context = await registry.phrase_context(refund.ref)
    assert context is not None and context.platform == "demo"
    assert context.values["order_no"] == refund.platform_order_id
    assert context.facts == {"shipped": True}
    assert await registry.phrase_context(CaseRef("refunds", "refund", 2**31 - 1)) is None
    assert await registry.phrase_context(CaseRef("returns", "return", refund.id)) is None
    assert await registry.phrase_context(CaseRef("refunds", "other", refund.id)) is None


async def test_seeding_is_idempotent_and_keeps_what_the_team_deleted() -> None:
    registry = Registry(all_modules())
    shipped = registry.seed_phrases()
    assert any(s.key.startswith("refunds.refuse") for s in shipped)
    added = await phrases.seed()
    assert added == await Phrase.all().count() > len(phrases.SEEDS)
    refusals = await Phrase.filter(category=PhraseCategory.REFUSE, language="zh-CN")
    assert len(refusals) >= 5 and all("{buyer_nick}" in p.body for p in refusals)
    assert await phrases.seed() == 0
    supervisor = await create_user(role=Role.SUPERVISOR)
    await phrases.delete(supervisor, refusals[0].id)
    assert await phrases.seed() == 0
    assert refusals[0].id not in {p.id for p in await phrases.list_for(supervisor)}


def test_a_stores_platform_picks_the_buyers_language() -> None:
    assert phrases.language_for("shopify") == "en"
    assert phrases.language_for("woocommerce") == "en"
    assert phrases.language_for("taobao") == "zh-CN"
    assert phrases.language_for("no-such-platform") == "zh-CN"


async def test_an_english_store_is_offered_its_english_phrases(app) -> None:
    await phrases.seed()
    store = await create_store(platform="shopify")
    agent = await create_user()
    ctx = PhraseContext(store.platform)
    assert phrases.language_for(ctx.platform) == "en"
    english = await phrases.list_for(agent, language="en")
    assert english and all(p.language == "en" for p in english)


async def test_the_api_lists_creates_and_renders(client: httpx.AsyncClient, app) -> None:
    await demo_shop()
    await phrases.seed()
    agent = await bearer(Role.AGENT)
    supervisor = await bearer(Role.SUPERVISOR)
    listed = await client.get("/api/v1/phrases?category=refuse&language=zh-CN", headers=agent)
    assert listed.status_code == 200
    body = listed.json()
    assert body["total"] >= 5 and all(i["category"] == "refuse" for i in body["items"])

    new = {
        "title": "查件",
        "body": "{buyer_nick} 单号 {tracking_no}",
        "category": "where_is_parcel",
        "team": True,
        "assumes": {"shipped": True},
    }
    refused = await client.post("/api/v1/phrases", json=new, headers=agent)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "phrase_team_managers_only"
    created = await client.post("/api/v1/phrases", json=new, headers=supervisor)
    assert created.status_code == 201 and created.json()["team"] is True
    phrase_id = created.json()["id"]

    refund = await _refund(shipped=False)
    url = f"/api/v1/phrases/{phrase_id}/render"
    rendered = await client.post(url, json={"case": str(refund.ref)}, headers=agent)
    assert rendered.status_code == 200
    answer = rendered.json()
    assert answer["missing"] == ["tracking_no"] and len(answer["warnings"]) == 1
    assert answer["case"] == f"refunds:refund:{refund.id}"

    for bad, status in [
        ({"case": "refunds:refund:99999999999999999999"}, 400),
        ({"case": "refunds:refund:" + "9" * 5000}, 400),  # past int()'s digit limit
        ({"case": "refunds:refund:²"}, 400),  # a digit to str.isdigit, not to int()
        ({"case": "refunds:refund:2147483648"}, 400),
        ({"case": "nonsense"}, 400),
        ({"case": 12}, 400),
        ({}, 400),
        ({"case": "refunds:refund:2147483647"}, 404),
    ]:
        answer = await client.post(url, json=bad, headers=agent)
        assert answer.status_code == status, (bad, answer.text)
        assert "error" in answer.json()
    huge = await client.post(
        "/api/v1/phrases/99999999999999999999/render", json={"case": str(refund.ref)}, headers=agent
    )
    assert huge.status_code == 404
    for bad_body in [
        {"title": 5, "body": "x", "category": "greeting"},
        {"title": "t", "body": "x", "category": "nope"},
        {"title": "t", "body": "x", "category": "greeting", "team": "yes"},
        {"title": "t", "body": "x", "category": "greeting", "assumes": [1]},
    ]:
        answer = await client.post("/api/v1/phrases", json=bad_body, headers=agent)
        assert answer.status_code == 400, (bad_body, answer.text)
    bad_list = await client.get("/api/v1/phrases?language=fr", headers=agent)
    assert bad_list.status_code == 400
    assert (await client.get("/api/v1/phrases")).status_code == 401


async def test_the_page_lets_an_agent_add_their_own_and_never_change_the_teams(
    client: httpx.AsyncClient, app
) -> None:
    await phrases.seed()
    agent = await create_user(username="xiaoli")
    client.headers["Accept-Language"] = "zh-CN"
    await sign_in(client, agent.username)
    page = await client.get("/phrases/")
    assert page.status_code == 200 and "快捷短语" in page.text
    assert "{买家昵称}" in page.text and "buyer_nick" not in page.text
    token = await csrf_from(client, "/phrases/")
    form = {
        "csrf_token": token,
        "title": "我的问候",
        "body": "{买家昵称}您好",
        "category": "greeting",
        "language": "zh-CN",
        "team": "on",
    }
    refused = await client.post("/phrases/", data=form, follow_redirects=True)
    assert "团队快捷短语只有主管、店主和管理员可以修改。" in refused.text
    assert not await Phrase.filter(title="我的问候").exists()
    await client.post("/phrases/", data={k: v for k, v in form.items() if k != "team"})
    mine = await Phrase.get(title="我的问候")
    assert mine.owner_id == agent.id and mine.body == "{buyer_nick}您好"
    team = await Phrase.filter(owner_id=None).first()
    assert team is not None
    changed = await client.post(
        f"/phrases/{team.id}", data={**form, "title": "hacked"}, follow_redirects=True
    )
    assert changed.status_code == 200
    await team.refresh_from_db()
    assert team.title != "hacked"
    await client.post(f"/phrases/{team.id}/delete", data={"csrf_token": token})
    await team.refresh_from_db()
    assert team.deleted_at is None
    assert (
        await client.post("/phrases/99999999999/delete", data={"csrf_token": token})
    ).status_code == 404


async def test_refusing_from_a_phrase_counts_its_use(client: httpx.AsyncClient, app) -> None:
    await demo_shop()
    await phrases.seed()
    agent = await create_user(username="xiaozhang")
    await sign_in(client, agent.username)
    refund = await Refund.filter(status="requested", kind="refund_only").order_by("id").first()
    assert refund is not None
    page = await client.get(f"/refunds/{refund.id}")
    assert 'data-phrase-insert="' in page.text and 'name="phrase_id"' in page.text
    phrase = await Phrase.filter(category=PhraseCategory.REFUSE, language="zh-CN").first()
    assert phrase is not None
    token = await csrf_from(client, f"/refunds/{refund.id}")
    await client.post(
        f"/refunds/{refund.id}/reject",
        data={
            "csrf_token": token,
            "version": str(refund.version),
            "reason": "不行",
            "phrase_id": str(phrase.id),
        },
    )
    await phrase.refresh_from_db()
    assert phrase.usage_count == 1


async def test_a_return_case_fills_its_address_and_says_whether_the_goods_came_back() -> None:
    from tests.returns.test_cases import synced_shop

    store = await synced_shop()
    store.settings = {"return_address": "杭州市余杭区仓库 1 号"}
    await store.save()
    case = await ReturnCase.filter(received_at=None).order_by("id").first()
    assert case is not None
    registry = Registry([refunds_module, returns_module])
    context = await registry.phrase_context(case.ref)
    assert context is not None
    assert context.values["return_address"] == (case.return_address or "杭州市余杭区仓库 1 号")
    assert context.values["order_no"] == case.platform_order_id
    assert context.facts == {"shipped": True, "return_received": False}
    await phrases.seed()
    waiting = await Phrase.get(seed_key="refunds.refuse.not_back.zh")
    assert phrases.render(waiting, context).warnings == ()
    assert await registry.phrase_context(CaseRef("returns", "return", 2**31 - 1)) is None


async def test_the_return_page_offers_its_refusals_filled_in_and_escaped(
    client: httpx.AsyncClient, app
) -> None:
    from tests.returns.test_cases import synced_shop

    await synced_shop()
    await phrases.seed()
    agent = await create_user(username="xiaochen")
    await phrases.create(
        agent, PhraseInput("<b>坏</b>", "<script>x</script>{order_no}", "refuse"), team=False
    )
    await sign_in(client, agent.username)
    case = await ReturnCase.filter(status="requested").order_by("id").first()
    assert case is not None
    page = await client.get(f"/returns/{case.id}")
    assert page.status_code == 200
    assert 'name="phrase_id"' in page.text and 'details class="phrases"' in page.text
    assert f"订单 {case.platform_order_id} 已超过七天无理由退货期限" in page.text
    assert "<script>x</script>" not in page.text and "&lt;script&gt;x&lt;/script&gt;" in page.text


async def test_a_store_that_chose_its_buyers_language_is_offered_that_language(app) -> None:
    """The store's settings page choice wins over the platform's language, both ways."""
    await phrases.seed()
    await demo_shop()
    refund = await _refund(shipped=True)
    agent = await create_user()
    store = await refund.store
    assert (await phrases.for_case(agent, refund.ref)).language == "zh-CN"  # the platform's

    store.settings = {**(store.settings or {}), "buyer_language": "en"}
    await store.save(update_fields=["settings"])
    picker = await phrases.for_case(agent, refund.ref)
    assert picker.language == "en"
    assert picker.items and all(r.phrase.language == "en" for r in picker.items)
