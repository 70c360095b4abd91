"""Accounts through the real app: the admin's Users pages and everyone's password.

Sessions are checked by what a user would notice: a cookie copied before a
deactivation or a password change no longer opens the desk.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from aftersales.core import service
from aftersales.core.models import ApiToken, AuditEvent, Role, User
from tests.conftest import csrf_from, sign_in
from tests.factories import PASSWORD, create_user

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
TOKEN_RE = re.compile(r"\bas_[A-Za-z0-9_-]{20,}")


@asynccontextmanager
async def browser(app, cookie: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """Another browser on the same desk; ``cookie`` is a session cookie copied from elsewhere."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as c:
        if cookie is not None:
            c.cookies.set("aftersales", cookie, domain="desk.test")
        yield c


def session_cookie(client: httpx.AsyncClient) -> str:
    value = client.cookies.get("aftersales")
    assert value
    return value


async def signed_in_admin(client: httpx.AsyncClient, username: str = "boss") -> User:
    admin = await create_user(username=username, role=Role.ADMIN)
    assert (await sign_in(client, admin.username)).status_code == 303
    return admin


async def post(
    client: httpx.AsyncClient,
    path: str,
    data: dict[str, str] | None = None,
    *,
    page: str = "/users/",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    token = await csrf_from(client, page)
    return await client.post(path, data={"csrf_token": token, **(data or {})}, headers=headers)


async def opens_the_desk(client: httpx.AsyncClient) -> bool:
    response = await client.get("/")
    return response.status_code == 200


async def test_users_page_lists_role_and_state_and_adds_a_user(
    app, client: httpx.AsyncClient
) -> None:
    await signed_in_admin(client)
    await create_user(username="gone", role=Role.NIGHT_AGENT)
    await User.filter(username="gone").update(is_active=False)
    page = await client.get("/users/", headers=ZH)
    assert page.status_code == 200
    row = re.search(r"<tr[^>]*>\s*<td[^>]*><a[^>]*>gone</a>.*?</tr>", page.text, re.S)
    assert row and "夜班客服" in row.group(0) and "已停用" in row.group(0)

    added = await post(
        client,
        "/users/",
        {"username": "xiaoli", "display_name": "小李", "role": "supervisor", "password": "x" * 10},
    )
    assert added.status_code == 303
    xiaoli = await User.get(username="xiaoli")
    assert added.headers["location"] == f"/users/{xiaoli.id}"
    assert xiaoli.role is Role.SUPERVISOR and xiaoli.is_active
    assert await AuditEvent.exists(action="user.created", subject_id=str(xiaoli.id))
    async with browser(app) as other:
        assert (await sign_in(other, "xiaoli", "x" * 10)).status_code == 303


async def test_adding_a_user_refuses_bad_input_in_the_readers_language(
    client: httpx.AsyncClient,
) -> None:
    await signed_in_admin(client)
    short = await post(
        client,
        "/users/",
        {"username": "weak", "role": "agent", "password": "nine-char"},
        headers=ZH,
    )
    assert short.status_code == 400
    assert "密码至少需要 10 个字符" in short.text
    assert 'value="weak"' in short.text  # the form keeps what was typed
    english = await post(client, "/users/", {"username": "weak", "role": "agent", "password": "x"})
    assert "A password needs at least 10 characters." in english.text
    bad_role = await post(
        client, "/users/", {"username": "weak", "role": "root", "password": "x" * 12}
    )
    assert bad_role.status_code == 400 and "Choose a role." in bad_role.text
    taken = await post(
        client, "/users/", {"username": "boss", "role": "agent", "password": "x" * 12}
    )
    assert taken.status_code == 400 and "is taken" in taken.text
    assert await User.filter(username="weak").count() == 0
    assert await User.all().count() == 1


async def test_deactivation_ends_sessions_tokens_and_sign_in_until_activated(
    app, client: httpx.AsyncClient
) -> None:
    admin = await signed_in_admin(client)
    agent = await create_user(username="xiaowang")
    token = await service.create_token(agent, "erp")
    bearer = {"Authorization": f"Bearer {token}"}
    async with browser(app) as agents_browser:
        await sign_in(agents_browser, "xiaowang")
        copied = session_cookie(agents_browser)
        assert await opens_the_desk(agents_browser)
        assert (await client.get("/api/v1/me", headers=bearer)).status_code == 200

        done = await post(client, f"/users/{agent.id}/deactivate")
        assert done.status_code == 303
        page = await client.get(done.headers["location"])
        assert "Deactivated: their sessions and tokens no longer work." in page.text

        assert not await opens_the_desk(agents_browser)
    async with browser(app, copied) as thief:
        assert not await opens_the_desk(thief)
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 401
    async with browser(app) as fresh:
        refused = await sign_in(fresh, "xiaowang")
        assert refused.status_code == 401 and not await opens_the_desk(fresh)
    event = await AuditEvent.get(action="user.deactivated", subject_id=str(agent.id))
    assert event.actor_id == admin.id  # type: ignore[attr-defined]

    assert (await post(client, f"/users/{agent.id}/activate")).status_code == 303
    assert (await User.get(id=agent.id)).is_active
    async with browser(app) as back:
        assert (await sign_in(back, "xiaowang")).status_code == 303
        assert await opens_the_desk(back)
    assert await AuditEvent.exists(action="user.activated", subject_id=str(agent.id))


async def test_an_admin_cannot_deactivate_themself(client: httpx.AsyncClient) -> None:
    admin = await signed_in_admin(client)
    await create_user(username="second", role=Role.ADMIN)
    refused = await post(client, f"/users/{admin.id}/deactivate", headers=ZH)
    assert refused.status_code == 409
    assert "不能停用你自己" in refused.text
    assert (await User.get(id=admin.id)).is_active
    assert await opens_the_desk(client)
    assert not await AuditEvent.exists(action="user.deactivated")


async def test_the_users_pages_are_for_admins_only(app, client: httpx.AsyncClient) -> None:
    target = await create_user(username="target")
    token = await service.create_token(target, "erp")
    row = await ApiToken.get(user_id=target.id)
    for role in (Role.AGENT, Role.SUPERVISOR, Role.OWNER):
        who = await create_user(role=role)
        await sign_in(client, who.username)
        assert (await client.get("/users/")).status_code == 403
        assert (await client.get(f"/users/{target.id}")).status_code == 403
        for path, data in (
            (f"/users/{target.id}/deactivate", {}),
            (f"/users/{target.id}/profile", {"role": "admin", "display_name": "x"}),
            (f"/users/{target.id}/password", {"new_password": "taken-over-123"}),
            (f"/users/{target.id}/tokens", {"name": "mine now"}),
            (f"/users/{target.id}/tokens/{row.id}/revoke", {}),
            ("/users/", {"username": "sneaky", "role": "admin", "password": "x" * 12}),
        ):
            response = await post(client, path, data, page="/account")
            assert response.status_code == 403, (role, path)
            assert not TOKEN_RE.search(response.text)
    assert (await User.get(id=target.id)).is_active
    assert not await User.exists(username="sneaky")
    assert await ApiToken.filter(user_id=target.id).count() == 1
    async with browser(app) as c:
        assert (await sign_in(c, "target")).status_code == 303
        me = await c.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200


async def test_users_actions_need_the_forms_csrf_token(client: httpx.AsyncClient) -> None:
    await signed_in_admin(client)
    agent = await create_user(username="xiaowang")
    for path in (
        f"/users/{agent.id}/deactivate",
        f"/users/{agent.id}/password",
        f"/users/{agent.id}/profile",
    ):
        forged = await client.post(path, data={"csrf_token": "forged", "new_password": "x" * 12})
        assert forged.status_code == 403
    missing = await client.post("/account/password", data={"new_password": "x" * 12})
    assert missing.status_code == 403
    fresh = await User.get(id=agent.id)
    assert fresh.is_active and fresh.password_hash == agent.password_hash


async def test_changing_ones_own_password_ends_the_other_sessions(
    app, client: httpx.AsyncClient
) -> None:
    user = await create_user(username="xiaowang")
    await sign_in(client, "xiaowang")
    async with browser(app) as phone:
        await sign_in(phone, "xiaowang")
        copied_before = session_cookie(client)
        new = "a-much-longer-pass"
        changed = await post(
            client,
            "/account/password",
            {"current_password": PASSWORD, "new_password": new, "new_password_again": new},
            page="/account",
        )
        assert changed.status_code == 303
        page = await client.get("/account")
        assert "Password changed. You were signed out everywhere else." in page.text
        assert await opens_the_desk(client)  # this browser goes on
        assert not await opens_the_desk(phone)
    async with browser(app, copied_before) as thief:
        assert not await opens_the_desk(thief)
    async with browser(app) as later:
        assert (await sign_in(later, "xiaowang")).status_code == 401
        assert (await sign_in(later, "xiaowang", new)).status_code == 303
    event = await AuditEvent.get(action="user.password_changed", subject_id=str(user.id))
    assert event.actor_id == user.id  # type: ignore[attr-defined]
    assert new not in str(event.data) and PASSWORD not in str(event.data)


async def test_changing_ones_password_refuses_bad_input_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    user = await create_user(username="xiaowang")
    await sign_in(client, "xiaowang")
    cases = [
        ({"current_password": "not mine", "new_password": "y" * 12}, 400, "当前密码不正确"),
        ({"current_password": PASSWORD, "new_password": "short"}, 400, "密码至少需要 10 个字符"),
        (
            {"current_password": PASSWORD, "new_password": "y" * 12, "new_password_again": "z"},
            400,
            "两次输入的新密码不一致",
        ),
    ]
    for data, status, message in cases:
        data.setdefault("new_password_again", data["new_password"])
        response = await post(client, "/account/password", data, page="/account", headers=ZH)
        assert response.status_code == status
        assert message in response.text
    assert (await User.get(id=user.id)).password_hash == user.password_hash
    assert await opens_the_desk(client)
    assert not await AuditEvent.exists(action="user.password_changed")


async def test_wrong_current_passwords_lock_like_failed_sign_ins(
    client: httpx.AsyncClient,
) -> None:
    await create_user(username="xiaowang")
    await sign_in(client, "xiaowang")
    data = {"current_password": "guess", "new_password": "y" * 12, "new_password_again": "y" * 12}
    for _ in range(5):
        assert (await post(client, "/account/password", data, page="/account")).status_code == 400
    right = {**data, "current_password": PASSWORD}
    locked = await post(client, "/account/password", right, page="/account")
    assert locked.status_code == 429
    assert "Too many wrong passwords" in locked.text


async def test_an_admin_resets_a_password_and_the_users_sessions_end(
    app, client: httpx.AsyncClient
) -> None:
    admin = await signed_in_admin(client)
    agent = await create_user(username="xiaowang")
    async with browser(app) as agents_browser:
        await sign_in(agents_browser, "xiaowang")
        short = await post(client, f"/users/{agent.id}/password", {"new_password": "short"})
        assert short.status_code == 400 and "at least 10 characters" in short.text
        assert await opens_the_desk(agents_browser)

        done = await post(client, f"/users/{agent.id}/password", {"new_password": "given-by-boss"})
        assert done.status_code == 303
        assert not await opens_the_desk(agents_browser)
    async with browser(app) as c:
        assert (await sign_in(c, "xiaowang", "given-by-boss")).status_code == 303
    event = await AuditEvent.get(action="user.password_reset", subject_id=str(agent.id))
    assert event.actor_id == admin.id  # type: ignore[attr-defined]
    assert "given-by-boss" not in str(event.data)

    # Their own password an admin changes on the account page, with the current one.
    own = await post(client, f"/users/{admin.id}/password", {"new_password": "no-proof-needed"})
    assert own.status_code == 400
    assert "Change your own password on your account page." in own.text
    assert (await User.get(id=admin.id)).password_hash == admin.password_hash


async def test_a_token_is_shown_once_works_and_is_revoked_from_the_users_page(
    client: httpx.AsyncClient,
) -> None:
    admin = await signed_in_admin(client)
    agent = await create_user(username="xiaowang")
    created = await post(client, f"/users/{agent.id}/tokens", {"name": "ERP 导出"})
    assert created.status_code == 303
    assert not TOKEN_RE.search(created.headers["location"] + created.headers.get("set-cookie", ""))
    shown = await client.get(created.headers["location"])
    assert shown.headers["cache-control"] == "no-store"
    found = TOKEN_RE.search(shown.text)
    assert found
    token = found.group(0)
    again = await client.get(created.headers["location"])  # a reload, or the back button
    assert token not in again.text
    bearer = {"Authorization": f"Bearer {token}"}
    me = await client.get("/api/v1/me", headers=bearer)
    assert me.json()["username"] == "xiaowang"
    created_event = await AuditEvent.get(action="token.created")
    assert created_event.actor_id == admin.id  # type: ignore[attr-defined]

    page = await client.get(f"/users/{agent.id}")
    assert token not in page.text  # shown once
    row = await ApiToken.get(user_id=agent.id)
    assert "ERP 导出" in page.text and row.prefix in page.text

    revoked = await post(client, f"/users/{agent.id}/tokens/{row.id}/revoke")
    assert revoked.status_code == 303
    assert (await client.get("/api/v1/me", headers=bearer)).status_code == 401
    after = await client.get(f"/users/{agent.id}", headers=ZH)
    assert "已于" in after.text and "吊销" in after.text
    again = await post(client, f"/users/{agent.id}/tokens/{row.id}/revoke")
    assert again.status_code == 409
    assert await AuditEvent.filter(action="token.revoked").count() == 1

    # A token reached through another user's page is not there.
    other = await create_user(username="other")
    other_token = await service.create_token(other, "other")
    other_row = await ApiToken.get(user_id=other.id)
    wrong = await post(client, f"/users/{agent.id}/tokens/{other_row.id}/revoke")
    assert wrong.status_code == 404
    other_me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {other_token}"})
    assert other_me.status_code == 200

    empty = await post(client, f"/users/{agent.id}/tokens", {"name": "  "})
    assert empty.status_code == 400 and not TOKEN_RE.search(empty.text)
    assert await ApiToken.filter(user_id=agent.id).count() == 1


async def test_a_deactivated_user_gets_no_new_token(client: httpx.AsyncClient) -> None:
    await signed_in_admin(client)
    agent = await create_user(username="xiaowang")
    await post(client, f"/users/{agent.id}/deactivate")
    refused = await post(client, f"/users/{agent.id}/tokens", {"name": "erp"}, headers=ZH)
    assert refused.status_code == 400
    assert "xiaowang 已停用" in refused.text
    assert not await ApiToken.exists(user_id=agent.id)


async def test_unknown_users_and_tokens_are_404(client: httpx.AsyncClient) -> None:
    await signed_in_admin(client)
    assert (await client.get("/users/9999")).status_code == 404
    assert (await post(client, "/users/9999/deactivate")).status_code == 404
    assert (await post(client, "/users/9999/tokens/1/revoke")).status_code == 404


async def test_admins_deactivating_each_other_at_once_leave_one_active(
    client: httpx.AsyncClient,
) -> None:
    """Three admins each lock out the next in the same instant: the desk keeps one."""
    import asyncio

    from aftersales.core import accounts

    admins = [await create_user(username=f"admin{n}", role=Role.ADMIN) for n in range(3)]
    outcomes = await asyncio.gather(
        *(accounts.deactivate_user(admins[(n + 1) % 3].id, actor=admins[n]) for n in range(3)),
        return_exceptions=True,
    )
    assert await User.filter(role=Role.ADMIN, is_active=True).count() >= 1
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert all(isinstance(o, accounts.LastActiveAdmin) for o in refused), outcomes


# -- issue 13: roles, display names and first passwords in the browser ------------------------


async def test_an_admin_adds_a_user_with_a_generated_password_shown_once(
    app, client: httpx.AsyncClient
) -> None:
    await signed_in_admin(client)
    added = await post(
        client, "/users/", {"username": "xiaozhou", "display_name": "小周", "role": "agent"}
    )
    assert added.status_code == 303 and "password_shown=" in added.headers["location"]
    page = await client.get(added.headers["location"], headers=ZH)
    assert "初始密码" in page.text and page.headers["Cache-Control"] == "no-store"
    shown = re.search(r'id="first-password">([^<]+)<', page.text)
    assert shown
    again = await client.get(added.headers["location"])
    assert shown.group(1) not in again.text  # once only
    async with browser(app) as theirs:
        assert (await sign_in(theirs, "xiaozhou", shown.group(1))).status_code == 303
        assert "小周" in (await theirs.get("/")).text
    assert (await User.get(username="xiaozhou")).display_name == "小周"


async def test_an_admin_sets_role_and_display_name_audited(client: httpx.AsyncClient) -> None:
    admin = await signed_in_admin(client)
    agent = await create_user(username="xiaowang")
    done = await post(
        client, f"/users/{agent.id}/profile", {"display_name": "  王  小二 ", "role": "supervisor"}
    )
    assert done.status_code == 303
    fresh = await User.get(id=agent.id)
    assert fresh.role is Role.SUPERVISOR and fresh.display_name == "王 小二"
    role_event = await AuditEvent.get(action="user.role_changed", subject_id=str(agent.id))
    assert role_event.actor_id == admin.id  # type: ignore[attr-defined]
    assert role_event.data["from"] == "agent" and role_event.data["to"] == "supervisor"
    assert await AuditEvent.exists(action="user.display_name_changed", subject_id=str(agent.id))
    bad = await post(
        client, f"/users/{agent.id}/profile", {"display_name": "x", "role": "root"}, headers=ZH
    )
    assert bad.status_code == 400 and "选择" in bad.text
    long = await post(
        client,
        f"/users/{agent.id}/profile",
        {"display_name": "名" * 129, "role": "agent"},
        headers=ZH,
    )
    assert long.status_code == 400 and "显示名称最多 128 个字符" in long.text
    fresh = await User.get(id=agent.id)
    assert fresh.role is Role.SUPERVISOR and fresh.display_name == "王 小二"


async def test_the_last_active_admin_keeps_the_role(client: httpx.AsyncClient) -> None:
    admin = await signed_in_admin(client)
    refused = await post(
        client,
        f"/users/{admin.id}/profile",
        {"display_name": "新名字", "role": "agent"},
        headers=ZH,
    )
    assert refused.status_code == 409
    kept = await User.get(id=admin.id)
    assert kept.role is Role.ADMIN and kept.display_name != "新名字"  # neither is written
    assert not await AuditEvent.exists(action="user.display_name_changed")
    assert not await AuditEvent.exists(action="user.role_changed")
    second = await create_user(username="second", role=Role.ADMIN)
    done = await post(client, f"/users/{second.id}/profile", {"role": "owner"})
    assert done.status_code == 303 and (await User.get(id=second.id)).role is Role.OWNER


async def test_only_admins_manage_users_in_the_service() -> None:
    from aftersales.core import accounts
    from aftersales.core.errors import PermissionDenied

    supervisor = await create_user(role=Role.SUPERVISOR)
    agent = await create_user()
    for action in (
        accounts.set_role(agent.id, Role.ADMIN, actor=supervisor),
        accounts.set_display_name(agent.id, "x", actor=supervisor),
        accounts.deactivate_user(agent.id, actor=supervisor),
        accounts.activate_user(agent.id, actor=supervisor),
        accounts.reset_password(agent.id, "y" * 12, actor=supervisor),
        accounts.add_user("sneaky", "", role=Role.ADMIN, actor=supervisor),
    ):
        try:
            await action
        except PermissionDenied as exc:
            assert exc.status == 403
        else:
            raise AssertionError("a supervisor managed a user")
    assert (await User.get(id=agent.id)).role is Role.AGENT
    # Everyone names themself; the shell (actor=None) may do anything.
    assert (await accounts.set_display_name(agent.id, "阿强", actor=agent)).display_name == "阿强"
    assert (await accounts.set_role(agent.id, Role.OWNER, actor=None)).role is Role.OWNER


async def test_everyone_sets_their_display_name_shown_in_the_header(
    client: httpx.AsyncClient,
) -> None:
    agent = await create_user(username="xiaowang")
    await sign_in(client, "xiaowang")
    assert 'class="user-name">xiaowang<' in (await client.get("/")).text
    done = await post(client, "/account/name", {"display_name": "王小二"}, page="/account")
    assert done.status_code == 303
    assert 'class="user-name">王小二<' in (await client.get("/")).text
    assert await AuditEvent.exists(
        action="user.display_name_changed", subject_id=str(agent.id), actor_id=agent.id
    )
    long = await post(
        client, "/account/name", {"display_name": "x" * 200}, page="/account", headers=ZH
    )
    assert long.status_code == 400 and "显示名称最多" in long.text
    forged = await client.post("/account/name", data={"csrf_token": "no", "display_name": "z"})
    assert forged.status_code == 403
    assert (await User.get(id=agent.id)).display_name == "王小二"


async def test_an_admin_reset_ends_the_users_sessions(app, client: httpx.AsyncClient) -> None:
    await signed_in_admin(client)
    agent = await create_user(username="xiaowang")
    async with browser(app) as theirs:
        await sign_in(theirs, "xiaowang")
        assert await opens_the_desk(theirs)
        done = await post(client, f"/users/{agent.id}/password", {"new_password": "new-pass-12345"})
        assert done.status_code == 303
        assert not await opens_the_desk(theirs)
        assert (await sign_in(theirs, "xiaowang", "new-pass-12345")).status_code == 303


async def test_deactivating_is_a_danger_button_and_activating_is_not(
    app, client: httpx.AsyncClient
) -> None:
    """停用 locks a colleague out: it looks like refusing a refund, not like saving."""
    await signed_in_admin(client)
    agent = await create_user(username="xiaoli")
    page = (await client.get(f"/users/{agent.id}", headers={"Accept-Language": "zh-CN"})).text
    assert '<button type="submit" class="danger">停用</button>' in page
    await post(client, f"/users/{agent.id}/deactivate", page=f"/users/{agent.id}")
    page = (await client.get(f"/users/{agent.id}")).text
    assert '<button type="submit">Activate</button>' in page
