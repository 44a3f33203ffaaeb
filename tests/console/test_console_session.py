"""The console's session and its security rules, on an in-process gateway whose services are down (every check
here happens before any upstream call, and the pages render with their sections marked unavailable)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from gateway.app import create_app
from gateway.console.client import Console
from gateway.console.pages import ENV, template_helpers
from gateway.console.routes import frame
from gateway.console.session import ACCESS_COOKIE, CSRF_COOKIE, REFRESH_COOKIE
from gateway.security import Caller
from shared.auth import Principal
from shared.clock import business_zone
from tests.gateway.platform import offline_gateway_settings, seed_users
from tests.support import running

PASSWORD = "seeded-pw-2026"  # seed_users' default
CSRF_IN_FORM = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(offline_gateway_settings(tmp_path))
    async with running(app) as client:
        await seed_users(app, {"sup-wang": ["supervisor"], "viewer-zhao": ["viewer"]})
        yield app, client


async def _login_form_token(client: httpx.AsyncClient) -> str:
    page = await client.get("/console/login")
    assert page.status_code == 200
    match = CSRF_IN_FORM.search(page.text)
    assert match and client.cookies.get(CSRF_COOKIE) == match.group(1)
    return match.group(1)


async def _log_in(client: httpx.AsyncClient, user: str = "sup-wang") -> str:
    csrf = await _login_form_token(client)
    response = await client.post(
        "/console/login", data={"username": user, "password": PASSWORD, "csrf_token": csrf, "next": "/console/"}
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/console/"
    return csrf


async def test_the_gateway_front_page_is_the_console_and_asks_for_a_login(gateway: Any) -> None:
    _, client = gateway
    assert (await client.get("/")).headers["location"] == "/console/"
    page = await client.get("/console/complaints?x=1")
    assert page.status_code == 303
    assert page.headers["location"] == "/console/login?next=/console/complaints%3Fx%3D1"
    htmx = await client.get("/console/", headers={"HX-Request": "true"})
    assert htmx.status_code == 204 and htmx.headers["hx-redirect"].startswith("/console/login")


async def test_login_sets_httponly_samesite_cookies_and_the_dashboard_renders(gateway: Any) -> None:
    _, client = gateway
    csrf = await _login_form_token(client)
    response = await client.post(
        "/console/login", data={"username": "sup-wang", "password": PASSWORD, "csrf_token": csrf}
    )
    cookies = {c.split("=", 1)[0]: c.lower() for c in response.headers.get_list("set-cookie")}
    for name in (ACCESS_COOKIE, REFRESH_COOKIE):
        assert "httponly" in cookies[name] and "samesite=strict" in cookies[name] and "path=/" in cookies[name]
    dashboard = await client.get("/console/")
    assert dashboard.status_code == 200
    assert "客户组合总览" in dashboard.text and "此部分暂不可用" in dashboard.text  # services are down
    assert dashboard.headers["cache-control"] == "no-store"
    csp = dashboard.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp
    assert "<script>" not in dashboard.text  # no inline script: the CSP would refuse it


async def test_a_wrong_password_shows_the_form_again_and_a_foreign_next_is_ignored(gateway: Any) -> None:
    _, client = gateway
    csrf = await _login_form_token(client)
    wrong = await client.post("/console/login", data={"username": "sup-wang", "password": "nope", "csrf_token": csrf})
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
    assert ACCESS_COOKIE not in client.cookies
    away = await client.post(
        "/console/login",
        data={"username": "sup-wang", "password": PASSWORD, "csrf_token": csrf, "next": "https://evil.example/"},
    )
    assert away.headers["location"] == "/console/"


async def test_a_console_post_without_the_csrf_token_is_refused(gateway: Any) -> None:
    _, client = gateway
    assert (await client.post("/console/login", data={"username": "sup-wang", "password": PASSWORD})).status_code == 403
    csrf = await _log_in(client)
    assert (await client.post("/console/logout")).status_code == 403
    assert (await client.post("/console/logout", headers={"X-CSRF-Token": "forged.token"})).status_code == 403
    stale = await client.post("/console/complaints/c-1/acknowledge", data={"message": "hi", "csrf_token": "x.y"})
    assert stale.status_code == 403 and "表单已失效" in stale.text
    assert (await client.get("/console/")).status_code == 200  # still logged in
    assert (await client.post("/console/logout", headers={"X-CSRF-Token": csrf})).status_code == 303


async def test_the_session_cookie_does_not_authenticate_the_api(gateway: Any) -> None:
    _, client = gateway
    await _log_in(client)
    assert client.cookies.get(ACCESS_COOKIE)
    assert (await client.get("/api/v1/me")).status_code == 401
    assert (await client.post("/api/v1/complaints", json={"title": "x"})).status_code == 401
    bearer = {"Authorization": f"Bearer {client.cookies.get(ACCESS_COOKIE)}"}
    assert (await client.get("/api/v1/me", headers=bearer)).json()["user_id"] == "sup-wang"


async def test_an_expired_access_cookie_is_refreshed_and_a_replayed_refresh_token_ends_the_session(
    gateway: Any,
) -> None:
    _, client = gateway
    await _log_in(client)
    old_refresh = client.cookies.get(REFRESH_COOKIE)
    client.cookies.delete(ACCESS_COOKIE)
    page = await client.get("/console/")
    assert page.status_code == 200
    assert client.cookies.get(ACCESS_COOKIE) and client.cookies.get(REFRESH_COOKIE) != old_refresh
    client.cookies.delete(ACCESS_COOKIE)
    client.cookies.set(REFRESH_COOKIE, old_refresh or "")  # a stolen, already spent refresh token
    assert (await client.get("/console/")).status_code == 303
    client.cookies.delete(ACCESS_COOKIE)
    assert (await client.get("/console/")).status_code == 303  # every session of the user was revoked


async def test_logout_revokes_the_refresh_token(gateway: Any) -> None:
    _, client = gateway
    csrf = await _log_in(client)
    refresh = client.cookies.get(REFRESH_COOKIE)
    response = await client.post("/console/logout", data={"csrf_token": csrf})
    assert response.status_code == 303 and response.headers["location"] == "/console/login"
    assert ACCESS_COOKIE not in client.cookies
    client.cookies.set(REFRESH_COOKIE, refresh or "")
    assert (await client.get("/console/")).status_code == 303


async def test_language_follows_accept_language_and_the_toggle_is_remembered(gateway: Any) -> None:
    _, client = gateway
    await _log_in(client)
    assert "Portfolio dashboard" in (await client.get("/console/", headers={"Accept-Language": "en-GB"})).text
    toggled = await client.get("/console/?lang=en")
    assert "Portfolio dashboard" in toggled.text and client.cookies.get("kam_lang") == "en"
    assert "Portfolio dashboard" in (await client.get("/console/", headers={"Accept-Language": "zh-CN"})).text
    assert "客户组合总览" in (await client.get("/console/?lang=zh")).text


def _row_html(app: FastAPI, roles: frozenset[str]) -> str:
    principal = Principal(user_id="u-1", roles=roles, name="u-1", kind="user")
    console = Console(app.state.runtime, Caller(principal=principal, forward_token="t", rate_key="user:u-1"), None)
    complaint = {
        "id": "c-1",
        "title": "交付延迟",
        "severity": "high",
        "state": "new",
        "allowed_transitions": ["acknowledged"],
        "owner_id": "am-li",
        "opened_at": "2026-12-01T08:00:00Z",
        "sla": {"state": "ok", "next_due_at": "2026-12-02T08:00:00Z", "paused": False},
    }
    helpers = template_helpers("zh", business_zone(), csrf="n.s", path="/console/")
    return ENV.get_template("_complaint_row.html").render(**helpers, **frame(console), c=complaint)


async def test_read_only_roles_see_no_action_buttons(gateway: Any) -> None:
    app, _ = gateway
    viewer = _row_html(app, frozenset({"viewer"}))
    assert "交付延迟" in viewer and "新建" in viewer
    assert "data-action" not in viewer and "hx-post" not in viewer
    supervisor = _row_html(app, frozenset({"supervisor"}))
    assert 'data-action="acknowledge"' in supervisor and 'hx-post="/console/complaints/c-1/acknowledge"' in supervisor


async def test_a_department_owner_may_move_project_parts_but_not_complaints(gateway: Any) -> None:
    app, _ = gateway
    principal = Principal(user_id="d-1", roles=frozenset({"department_owner"}), name="d-1", kind="user")
    can = frame(Console(app.state.runtime, Caller(principal=principal, forward_token="t", rate_key="user:d-1"), None))
    assert can["can"]["parts"] and not can["can"]["complaints"] and not can["can"]["risk"]


@pytest.mark.parametrize(("trusted", "secure"), [([], False), (["10.0.0.0/8"], False), (["127.0.0.0/8"], True)])
async def test_a_forwarded_https_makes_the_cookies_secure_only_from_a_trusted_proxy(
    tmp_path: Path, trusted: list[str], secure: bool
) -> None:
    # The test client comes from 127.0.0.1: X-Forwarded-Proto counts only when that address is a trusted proxy.
    app = create_app(offline_gateway_settings(tmp_path, forwarded_proto_trusted_from=trusted))
    async with running(app) as client:
        page = await client.get("/console/login", headers={"x-forwarded-proto": "https"})
    [csrf_cookie] = [c for c in page.headers.get_list("set-cookie") if c.startswith(CSRF_COOKIE + "=")]
    assert ("; secure" in csrf_cookie.lower()) is secure
