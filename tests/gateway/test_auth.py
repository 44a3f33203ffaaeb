"""Authentication at the gateway: password flow, refresh tokens, API keys, and every kind of bad token."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import timedelta

import httpx

from tests.gateway.platform import Platform
from tests.support import auth, token

ADMIN = auth("admin", user_id="root")


async def _new_user(api: httpx.AsyncClient, *roles: str, password: str = "correct-horse-42") -> str:
    user_id = f"u-{uuid.uuid4().hex[:8]}"
    response = await api.post(
        "/users",
        json={"user_id": user_id, "name": "测试用户", "password": password, "roles": list(roles)},
        headers=ADMIN,
    )
    assert response.status_code == 201, response.text
    assert "password" not in response.text and "hash" not in response.text
    return user_id


async def _login(api: httpx.AsyncClient, user_id: str, password: str = "correct-horse-42") -> httpx.Response:
    return await api.post("/auth/token", data={"username": user_id, "password": password})


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_password_login_gives_a_token_the_gateway_and_the_services_accept(
    api: httpx.AsyncClient, platform: Platform
):
    user_id = await _new_user(api, "supervisor")
    login = await _login(api, user_id)
    assert login.status_code == 200, login.text
    body = login.json()
    assert body["token_type"] == "bearer" and body["roles"] == ["supervisor"] and body["refresh_token"]
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    me = await api.get("/me", headers=bearer)
    assert me.json() == {"user_id": user_id, "name": "测试用户", "roles": ["supervisor"], "kind": "user"}
    proxied = await api.get(f"/accounts/{platform.accounts['zhang']}/overview", headers=bearer)
    assert proxied.status_code == 200
    # The services verify the gateway's token themselves (no trusted header).
    async with httpx.AsyncClient() as client:
        direct = await client.get(f"{platform.services['risk'].url}/risk/views/portfolio", headers=bearer)
    assert direct.status_code == 200


async def test_wrong_password_unknown_user_and_deactivated_user_get_the_same_401(api: httpx.AsyncClient):
    user_id = await _new_user(api, "viewer")
    wrong = await _login(api, user_id, "not-the-password")
    unknown = await _login(api, "nobody-" + uuid.uuid4().hex[:6])
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert (await api.patch(f"/users/{user_id}", json={"active": False}, headers=ADMIN)).status_code == 200
    assert (await _login(api, user_id)).status_code == 401


async def test_refresh_token_rotates_and_a_spent_one_revokes_the_session(api: httpx.AsyncClient):
    user_id = await _new_user(api, "account_manager")
    first = (await _login(api, user_id)).json()
    second = await api.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    rotated = second.json()["refresh_token"]
    assert rotated != first["refresh_token"]
    me = await api.get("/me", headers={"Authorization": f"Bearer {second.json()['access_token']}"})
    assert me.json()["user_id"] == user_id
    replay = await api.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    # Reuse of a spent token ends every session of the user, the rotated one included.
    assert (await api.post("/auth/refresh", json={"refresh_token": rotated})).status_code == 401
    third = (await _login(api, user_id)).json()
    assert (await api.post("/auth/logout", json={"refresh_token": third["refresh_token"]})).status_code == 204
    assert (await api.post("/auth/refresh", json={"refresh_token": third["refresh_token"]})).status_code == 401


async def test_missing_expired_tampered_foreign_and_alg_none_tokens_get_401(api: httpx.AsyncClient, platform: Platform):
    good = token("supervisor", user_id="sup-wang")
    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged_claims = {**claims, "roles": ["admin"]}
    bad_tokens = {
        "expired": token("supervisor", user_id="sup-wang", ttl=timedelta(minutes=-5)),
        "tampered": f"{header}.{_b64(forged_claims)}.{signature}",
        "alg_none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(forged_claims)}.",
        "foreign_key": token("supervisor", user_id="sup-wang", secret="another-secret-" + "y" * 40),
        "garbage": "not-a-jwt",
    }
    paths = ["/me", "/portfolio", f"/accounts/{platform.accounts['li']}/overview", "/complaints/views/portfolio"]
    for path in paths:
        missing = await api.get(path)
        assert missing.status_code == 401, path
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.headers["www-authenticate"] == "Bearer"
        for kind, bad in bad_tokens.items():
            response = await api.get(path, headers={"Authorization": f"Bearer {bad}"})
            assert response.status_code == 401, (kind, path, response.status_code)
    assert (await api.get("/me", headers={"Authorization": f"Bearer {good}"})).status_code == 200


async def test_api_key_works_within_its_roles_records_use_and_stops_at_once_when_revoked(api: httpx.AsyncClient):
    body = {"name": "ERP 集成", "roles": ["viewer"], "scopes": ["views:read", "complaints:write"]}
    created = await api.post("/api-keys", json=body, headers=ADMIN)
    assert created.status_code == 201
    key = created.json()
    assert key["api_key"].startswith("kam_") and key["last_used_at"] is None
    listed = (await api.get("/api-keys", headers=ADMIN)).json()
    assert key["key_id"] in {k["key_id"] for k in listed} and all("api_key" not in k for k in listed)
    with_key = {"X-API-Key": key["api_key"]}
    assert (await api.get("/portfolio", headers=with_key)).status_code == 200
    assert (await api.get("/me", headers={"Authorization": f"Bearer {key['api_key']}"})).json()["kind"] == "service"
    assert (await api.post("/complaints", json={}, headers=with_key)).status_code == 403  # viewer key
    used = {k["key_id"]: k for k in (await api.get("/api-keys", headers=ADMIN)).json()}[key["key_id"]]
    assert used["last_used_at"] is not None
    assert (await api.delete(f"/api-keys/{key['key_id']}", headers=ADMIN)).status_code == 200
    assert (await api.get("/portfolio", headers=with_key)).status_code == 401
    wrong_secret = key["api_key"][:-4] + "AAAA"
    assert (await api.get("/portfolio", headers={"X-API-Key": wrong_secret})).status_code == 401


async def test_only_admins_manage_users_and_keys_and_bad_roles_are_422(api: httpx.AsyncClient):
    supervisor = auth("supervisor", user_id="sup-wang")
    assert (await api.get("/users", headers=supervisor)).status_code == 403
    assert (await api.post("/api-keys", json={"name": "x"}, headers=supervisor)).status_code == 403
    bad = await api.post(
        "/users", json={"user_id": "u-bad", "password": "long-enough-1", "roles": ["emperor"]}, headers=ADMIN
    )
    assert bad.status_code == 422 and "roles" in bad.text
    user_id = await _new_user(api, "viewer")
    assert (
        await api.post("/users", json={"user_id": user_id, "password": "x" * 9, "roles": ["viewer"]}, headers=ADMIN)
    ).status_code == 409
