"""The gateway owns users: every service hears of them, and a deactivation or a removed role holds on the next
request (through the running platform: real services, real NATS)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import nats
import orjson

from shared.vocabulary import SERVICE_NAMES
from tests.gateway.platform import Platform, known_by
from tests.support import auth, wait_until

ADMIN = auth("admin", user_id="root")
PASSWORD = "correct-horse-42"


async def _new_user(api: httpx.AsyncClient, *roles: str, **fields: Any) -> str:
    user_id = f"u-{uuid.uuid4().hex[:8]}"
    body = {"user_id": user_id, "name": "测试用户", "password": PASSWORD, "roles": list(roles), **fields}
    response = await api.post("/users", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return user_id


async def _bearer(api: httpx.AsyncClient, user_id: str) -> dict[str, str]:
    login = await api.post("/auth/token", data={"username": user_id, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def _everywhere(api: httpx.AsyncClient, user_id: str, **expected: Any) -> bool:
    """Whether every service's users projection shows the user with ``expected`` values."""
    for service in SERVICE_NAMES:
        row = (await known_by(api, service, [user_id])).get(user_id)
        if row is None or any(row[key] != value for key, value in expected.items()):
            return False
    return True


async def test_a_user_created_through_the_api_appears_in_every_services_users_projection(api: httpx.AsyncClient):
    channels = {"wecom": "LiLei", "dingtalk": "li-lei-0571"}
    user_id = await _new_user(api, "supervisor", "account_manager", email="li.lei@example.cn", channels=channels)
    read = (await api.get(f"/users/{user_id}", headers=ADMIN)).json()
    assert read["email"] == "li.lei@example.cn" and read["channels"] == channels

    expected = {
        "display_name": "测试用户",
        "roles": ["account_manager", "supervisor"],
        "active": True,
        "email": "li.lei@example.cn",
        "channels": channels,
    }
    await wait_until(lambda: _everywhere(api, user_id, **expected), timeout=30, message="every service to know")

    changed = await api.patch(
        f"/users/{user_id}", json={"name": "李雷", "channels": {"feishu": "ou_7d8a"}}, headers=ADMIN
    )
    assert changed.status_code == 200, changed.text
    await wait_until(
        lambda: _everywhere(api, user_id, display_name="李雷", channels={"feishu": "ou_7d8a"}),
        timeout=30,
        message="every service to see the change",
    )


async def test_deactivating_publishes_user_deactivated_and_every_service_shows_the_user_inactive(
    api: httpx.AsyncClient, platform: Platform
):
    user_id = await _new_user(api, "account_manager")
    await wait_until(lambda: _everywhere(api, user_id, active=True), timeout=30, message="every service to know")
    seen: list[dict[str, Any]] = []
    nc = await nats.connect(platform.nats.url)
    try:

        async def collect(msg: Any) -> None:
            seen.append(orjson.loads(msg.data))

        await nc.subscribe("kam.identity.>", cb=collect)
        await nc.flush()
        assert (await api.patch(f"/users/{user_id}", json={"active": False}, headers=ADMIN)).status_code == 200

        async def deactivation_published() -> list[dict[str, Any]]:
            return [e for e in seen if e["data"]["user_id"] == user_id]

        events = await wait_until(deactivation_published, timeout=30, message="identity.user_deactivated")
    finally:
        await nc.close()
    assert [(e["type"], e["source"], e["data"]["active"]) for e in events] == [
        ("identity.user_deactivated", "gateway", False)
    ]
    await wait_until(lambda: _everywhere(api, user_id, active=False), timeout=30, message="every service to see it")

    assert (await api.patch(f"/users/{user_id}", json={"active": True}, headers=ADMIN)).status_code == 200
    await wait_until(lambda: _everywhere(api, user_id, active=True), timeout=30, message="the reactivation")


async def test_a_deactivated_users_still_valid_token_gets_401_on_the_next_request(
    api: httpx.AsyncClient, platform: Platform
):
    user_id = await _new_user(api, "supervisor")
    bearer = await _bearer(api, user_id)
    paths = ["/me", "/portfolio", f"/accounts/{platform.accounts['li']}/overview", "/complaints/views/portfolio"]
    for path in paths:
        assert (await api.get(path, headers=bearer)).status_code == 200, path

    assert (await api.patch(f"/users/{user_id}", json={"active": False}, headers=ADMIN)).status_code == 200
    for path in paths:  # at once: no waiting for the token to expire
        refused = await api.get(path, headers=bearer)
        assert refused.status_code == 401, (path, refused.status_code)
        assert refused.headers["content-type"] == "application/problem+json"
        assert "deactivated" in refused.json()["detail"]


async def test_after_a_role_is_removed_the_next_request_is_judged_with_the_remaining_roles(
    api: httpx.AsyncClient, platform: Platform
):
    user_id = await _new_user(api, "supervisor", "account_manager")
    bearer = await _bearer(api, user_id)
    others = platform.accounts["zhang"]

    async def listed_accounts() -> set[str]:
        response = await api.get("/accounts", params={"limit": 500}, headers=bearer)
        assert response.status_code == 200, response.text
        return {a["id"] for a in response.json()["items"]}

    assert others in await listed_accounts()  # as supervisor: the whole portfolio
    assert (await api.get(f"/accounts/{others}/overview", headers=bearer)).status_code == 200

    removed = await api.patch(f"/users/{user_id}", json={"roles": ["account_manager"]}, headers=ADMIN)
    assert removed.status_code == 200
    me = (await api.get("/me", headers=bearer)).json()
    assert me["roles"] == ["account_manager"]
    # The gateway judges with the remaining role, and so does the service behind it (it gets a token saying so).
    assert (await api.get(f"/accounts/{others}/overview", headers=bearer)).status_code == 404
    assert others not in await listed_accounts()

    # None of the token's roles left: the token is refused (a new login gives the new roles).
    assert (await api.patch(f"/users/{user_id}", json={"roles": ["viewer"]}, headers=ADMIN)).status_code == 200
    assert (await api.get("/me", headers=bearer)).status_code == 401
    assert (await api.get("/me", headers=await _bearer(api, user_id))).json()["roles"] == ["viewer"]


async def test_a_token_naming_a_user_the_gateway_does_not_know_gets_401(api: httpx.AsyncClient):
    stranger = auth("supervisor", user_id=f"nobody-{uuid.uuid4().hex[:6]}")
    for path in ("/me", "/portfolio", "/complaints/views/portfolio"):
        response = await api.get(path, headers=stranger)
        assert response.status_code == 401 and "does not exist" in response.json()["detail"], path
    # A claimed role the user never held is not granted either.
    user_id = await _new_user(api, "viewer")
    claims_admin = auth("admin", "viewer", user_id=user_id)
    assert (await api.get("/me", headers=claims_admin)).json()["roles"] == ["viewer"]
    assert (await api.get("/users", headers=claims_admin)).status_code == 403


async def test_many_concurrent_requests_of_one_user_all_pass_the_check(api: httpx.AsyncClient):
    user_id = await _new_user(api, "viewer")
    bearer = await _bearer(api, user_id)
    responses = await asyncio.gather(*(api.get("/me", headers=bearer) for _ in range(30)))
    assert [r.status_code for r in responses] == [200] * 30
