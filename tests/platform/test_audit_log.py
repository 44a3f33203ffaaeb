"""The audit log of sensitive actions (docs/AUDIT.md): every listed action done through the gateway leaves exactly
one entry naming its actor, before/after and request id; admins and auditors read the logs, others get 403; no
route writes or deletes an entry."""

from __future__ import annotations

import asyncio
import importlib
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from kam.registry import SERVICES
from shared.audit import record_audit
from shared.nats_server import NatsServer
from tests.gateway.platform import Platform, create_users, gateway_process, start_services
from tests.support import auth, running, service_settings, wait_until

USERS: dict[str, list[str]] = {
    "root": ["admin"],
    "sup-wang": ["supervisor"],
    "am-li": ["account_manager"],
    "ro-1": ["risk_officer"],
    "ro-2": ["risk_officer"],
    "aud-1": ["auditor"],
}
AUDIT_PATHS = {
    "gateway": "/identity/audit",
    **{name: f"/{name}/audit" for name in ("scoring", "complaints", "risk", "goals")},
}
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def as_(user_id: str) -> dict[str, str]:
    return auth(*USERS[user_id], user_id=user_id)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """NATS, the four services and the gateway as processes; the users above and one account known everywhere."""
    workdir = tmp_path_factory.mktemp("audit")
    server = NatsServer(workdir / "nats").start()
    services = start_services(workdir, server.url)
    gateway = gateway_process(workdir, server.url, services).start()
    plat = Platform(workdir=workdir, nats=server, services=services, gateway=gateway)

    async def _prepare() -> None:
        async with httpx.AsyncClient(base_url=plat.api, timeout=60) as api:
            await create_users(api, USERS)
            body = {"name": "华东精密制造有限公司", "industry": "制造业", "region": "华东", "status": "key_account"}
            created = await api.post("/accounts", json={**body, "owner_id": "am-li"}, headers=as_("sup-wang"))
            assert created.status_code == 201, created.text
            plat.accounts["li"] = account = created.json()["id"]
            for service in ("complaints", "risk"):  # they learn of the account from scoring's event
                await wait_until(
                    lambda s=service: _knows_account(api, s, account), timeout=60, message=f"{service} to know it"
                )

            async def documented() -> bool:
                doc = (await api.get(f"{gateway.url}/openapi.json")).json()
                return not doc.get("info", {}).get("x-services-missing")

            await wait_until(documented, timeout=60, message="the merged OpenAPI document")

    try:
        gateway.wait_ready()
        asyncio.run(_prepare())
        yield plat
    finally:
        gateway.stop()
        for proc in services.values():
            proc.stop()
        server.stop()


async def _knows_account(api: httpx.AsyncClient, service: str, account_id: str) -> bool:
    path = f"/complaints?account_id={account_id}" if service == "complaints" else f"/risk/accounts/{account_id}/credit"
    return (await api.get(path, headers=as_("root"))).status_code == 200


@pytest.fixture
async def api(platform: Platform) -> Any:
    async with httpx.AsyncClient(base_url=platform.api, timeout=60) as client:
        yield client


async def ok(response: Awaitable[httpx.Response]) -> dict[str, Any]:
    answer = await response
    assert answer.status_code < 300, (answer.request.method, answer.request.url, answer.status_code, answer.text)
    return answer.json() if answer.content else {}


# ---------------------------------------------------------------- the sensitive actions, one row each


@dataclass(frozen=True)
class Done:
    """What an action changed, as its audit entry must show it (subsets of before/after)."""

    object_id: str
    before: dict[str, Any] | None
    after: dict[str, Any]


Act = Callable[[httpx.AsyncClient, str, dict[str, str]], Awaitable[Done]]


async def override_tier(api: httpx.AsyncClient, account: str, rid: dict[str, str]) -> Done:
    body = {"tier": "strategic", "reason": "董事会战略合作"}
    await ok(api.post(f"/accounts/{account}/tier-override", json=body, headers={**as_("sup-wang"), **rid}))
    return Done(account, {"override_id": None}, {"override_tier": "strategic", "reason": "董事会战略合作"})


async def revoke_tier_override(api: httpx.AsyncClient, account: str, rid: dict[str, str]) -> Done:
    headers = {**as_("sup-wang"), "If-Match": "*", **rid}
    response = await api.delete(f"/accounts/{account}/tier-override", headers=headers)
    assert response.status_code == 204, response.text
    return Done(account, {"override_tier": "strategic"}, {"override_id": None, "override_tier": None})


async def publish_model(api: httpx.AsyncClient, account: str, rid: dict[str, str]) -> Done:
    current = await ok(api.get("/scoring/models/1", headers=as_("sup-wang")))
    draft = {"name": "2027 模型", "definition": current["definition"]}
    version = (await ok(api.post("/scoring/models", json=draft, headers=as_("sup-wang"))))["version"]
    await ok(api.post(f"/scoring/models/{version}/publish", headers={**as_("sup-wang"), **rid}))
    return Done(str(version), {"status": "draft"}, {"status": "published", "published_version": version})


async def _limit_request(api: httpx.AsyncClient, account: str, limit: str) -> str:
    body = {"requested_limit": limit, "currency": "CNY", "reason": "年度框架合同"}
    return str((await ok(api.post(f"/risk/accounts/{account}/limit-requests", json=body, headers=as_("ro-1"))))["id"])


async def approve_limit(api: httpx.AsyncClient, account: str, rid: dict[str, str]) -> Done:
    request_id = await _limit_request(api, account, "800000")
    await ok(api.post(f"/risk/limit-requests/{request_id}/approve", json={}, headers={**as_("ro-2"), **rid}))
    return Done(request_id, {"status": "pending"}, {"status": "approved", "profile.credit_limit": "800000"})


async def reject_limit(api: httpx.AsyncClient, account: str, rid: dict[str, str]) -> Done:
    request_id = await _limit_request(api, account, "9000000")
    body = {"note": "敞口过高"}
    await ok(api.post(f"/risk/limit-requests/{request_id}/reject", json=body, headers={**as_("ro-2"), **rid}))
    return Done(request_id, {"status": "pending"}, {"status": "rejected", "decision_note": "敞口过高"})


async def replace_scorecard(api: httpx.AsyncClient, account: str, rid: dict[str, str]) -> Done:
    card = await ok(api.get("/risk/scorecard", headers=as_("ro-1")))
    version = card.pop("version")
    card["factors"][0]["weight"] = str(int(float(card["factors"][0]["weight"])) + 5)
    await ok(api.put("/risk/scorecard", json=card, headers={**as_("ro-1"), "If-Match": "*", **rid}))
    return Done("1", {"version": version}, {"version": version + 1, "factors": card["factors"]})


async def change_warning_rule(api: httpx.AsyncClient, account: str, rid: dict[str, str]) -> Done:
    rule = (await ok(api.get("/risk/rules", headers=as_("ro-1"))))[0]
    body = {k: rule[k] for k in ("name", "signal_type", "conditions")} | {"enabled": not rule["enabled"]}
    await ok(api.put(f"/risk/rules/{rule['code']}", json=body, headers={**as_("ro-1"), "If-Match": "*", **rid}))
    return Done(rule["code"], {"enabled": rule["enabled"]}, {"enabled": not rule["enabled"]})


async def _complaint(api: httpx.AsyncClient, account: str) -> str:
    body = {"account_id": account, "title": "控制器批量故障", "description": "第三批次", "category": "product_quality"}
    return str((await ok(api.post("/complaints", json=body, headers=as_("am-li"))))["id"])


async def approve_remedy(api: httpx.AsyncClient, account: str, rid: dict[str, str]) -> Done:
    complaint = await _complaint(api, account)
    proposal = {"kind": "discount", "description": "下批次九五折", "value": "12000.00"}
    remedy = await ok(api.post(f"/complaints/{complaint}/remedies", json=proposal, headers=as_("am-li")))
    decision = f"/complaints/{complaint}/remedies/{remedy['id']}/decision"
    await ok(api.post(decision, json={"approve": True}, headers={**as_("sup-wang"), **rid}))
    return Done(remedy["id"], {"status": "proposed"}, {"status": "approved", "decided_by": "sup-wang"})


async def waive_revisit(api: httpx.AsyncClient, account: str, rid: dict[str, str]) -> Done:
    complaint = await _complaint(api, account)
    writer = {**as_("am-li"), "If-Match": "*"}
    await ok(api.post(f"/complaints/{complaint}/acknowledge", json={"message": "已收到"}, headers=writer))
    await ok(api.post(f"/complaints/{complaint}/resolve", json={"message": "已更换"}, headers=writer))
    body = {"waiver_reason": "customer_declined", "comment": "客户拒绝回访"}  # a waiver is a supervisor's
    await ok(
        api.post(f"/complaints/{complaint}/revisit", json=body, headers={**as_("sup-wang"), "If-Match": "*", **rid})
    )
    return Done(complaint, {"state": "resolved", "waived": False}, {"state": "revisited", "waived": True})


async def change_sla_policy(api: httpx.AsyncClient, account: str, rid: dict[str, str]) -> Done:
    body = {"first_response_minutes": 90, "update_interval_minutes": 240, "resolution_minutes": 2880}
    headers = {**as_("sup-wang"), "If-Match": "*", **rid}
    await ok(api.put("/complaints/sla-policies/growth/low", json=body, headers=headers))
    return Done("growth/low", {"version": 1}, {"version": 2, "first_response_minutes": 90, "resolution_minutes": 2880})


async def change_calendar(api: httpx.AsyncClient, account: str, rid: dict[str, str]) -> Done:
    holiday = {"name_zh": "国庆节", "name_en": "National Day", "days_off": ["2031-10-01", "2031-10-02"]}
    body = {"holidays": [holiday], "source": "test notice"}
    await ok(api.put("/complaints/calendars/AUDIT-CAL/2031", json=body, headers={**as_("sup-wang"), **rid}))
    return Done("AUDIT-CAL/2031", None, {"version": 1, "source": "test notice"})


async def create_user(api: httpx.AsyncClient, account: str, rid: dict[str, str]) -> Done:
    body = {"user_id": "new-zhou", "name": "周", "password": "new-zhou-pw-2026", "roles": ["viewer"]}
    await ok(api.post("/users", json=body, headers={**as_("root"), **rid}))
    return Done("new-zhou", None, {"roles": ["viewer"], "active": True})


async def change_roles(api: httpx.AsyncClient, account: str, rid: dict[str, str]) -> Done:
    body = {"roles": ["viewer", "auditor"]}
    await ok(api.patch("/users/new-zhou", json=body, headers={**as_("root"), "If-Match": "*", **rid}))
    return Done("new-zhou", {"roles": ["viewer"]}, {"roles": ["auditor", "viewer"]})


KEYS: dict[str, str] = {}


async def create_api_key(api: httpx.AsyncClient, account: str, rid: dict[str, str]) -> Done:
    body = {"name": "ERP", "roles": ["viewer"], "scopes": ["risk:read"]}
    KEYS["erp"] = key_id = (await ok(api.post("/api-keys", json=body, headers={**as_("root"), **rid})))["key_id"]
    return Done(key_id, None, {"name": "ERP", "roles": ["viewer"], "scopes": ["risk:read"]})


async def rotate_api_key(api: httpx.AsyncClient, account: str, rid: dict[str, str]) -> Done:
    await ok(api.post(f"/api-keys/{KEYS['erp']}/rotate", json={}, headers={**as_("root"), **rid}))
    return Done(KEYS["erp"], {"rotated_at": None}, {})


async def revoke_api_key(api: httpx.AsyncClient, account: str, rid: dict[str, str]) -> Done:
    await ok(api.delete(f"/api-keys/{KEYS['erp']}", headers={**as_("root"), **rid}))
    return Done(KEYS["erp"], {"revoked_at": None}, {})


# (log, action, object type, actor, act) — in order: later rows use what earlier ones made.
CASES: list[tuple[str, str, str, str, Act]] = [
    ("scoring", "tier_override.set", "account", "sup-wang", override_tier),
    ("scoring", "tier_override.revoked", "account", "sup-wang", revoke_tier_override),
    ("scoring", "scoring_model.published", "scoring_model", "sup-wang", publish_model),
    ("risk", "credit_limit.approved", "limit_request", "ro-2", approve_limit),
    ("risk", "credit_limit.rejected", "limit_request", "ro-2", reject_limit),
    ("risk", "credit_scorecard.replaced", "credit_scorecard", "ro-1", replace_scorecard),
    ("risk", "warning_rule.saved", "warning_rule", "ro-1", change_warning_rule),
    ("complaints", "remedy.approved", "remedy", "sup-wang", approve_remedy),
    ("complaints", "revisit.waived", "complaint", "sup-wang", waive_revisit),
    ("complaints", "sla_policy.saved", "sla_policy", "sup-wang", change_sla_policy),
    ("complaints", "business_calendar.year_saved", "business_calendar", "sup-wang", change_calendar),
    ("gateway", "user.created", "user", "root", create_user),
    ("gateway", "user.roles_changed", "user", "root", change_roles),
    ("gateway", "api_key.created", "api_key", "root", create_api_key),
    ("gateway", "api_key.rotated", "api_key", "root", rotate_api_key),
    ("gateway", "api_key.revoked", "api_key", "root", revoke_api_key),
]


@pytest.mark.parametrize(("log", "action", "object_type", "actor", "act"), CASES, ids=[c[1] for c in CASES])
async def test_each_sensitive_action_leaves_one_entry_with_actor_before_after_and_request_id(
    api: httpx.AsyncClient, platform: Platform, log: str, action: str, object_type: str, actor: str, act: Act
):
    request_id = f"audit-{uuid.uuid4().hex}"
    done = await act(api, platform.accounts["li"], {"X-Request-ID": request_id})
    page = await ok(api.get(AUDIT_PATHS[log], params={"request_id": request_id}, headers=as_("aud-1")))
    assert page["total"] == 1, page
    entry = page["items"][0]
    expected = {"service": log, "action": action, "object_type": object_type, "object_id": done.object_id}
    assert {k: entry[k] for k in expected} == expected
    assert (entry["actor_id"], entry["request_id"]) == (actor, request_id)
    if done.before is None:
        assert entry["before"] is None
    else:
        assert done.before.items() <= entry["before"].items(), entry
    assert done.after.items() <= entry["after"].items(), entry
    assert "secret_hash" not in str(entry) and "password_hash" not in str(entry)
    # The same entry for an admin, filtered by object; an entry newer than ``from`` only.
    by_object = {"object_type": object_type, "object_id": done.object_id, "from": entry["at"]}
    assert entry in (await ok(api.get(AUDIT_PATHS[log], params=by_object, headers=as_("root"))))["items"]
    # ``from``/``to`` are instants: the same moment written with any offset selects the same entries.
    at = datetime.fromisoformat(entry["at"].replace("Z", "+00:00"))
    for zone in (timezone(timedelta(hours=8)), timezone(timedelta(hours=-5))):
        same = {**by_object, "from": at.astimezone(zone).isoformat(), "to": at.astimezone(zone).isoformat()}
        assert entry in (await ok(api.get(AUDIT_PATHS[log], params=same, headers=as_("root"))))["items"]
        later = {**by_object, "from": (at + timedelta(seconds=1)).astimezone(zone).isoformat()}
        assert entry not in (await ok(api.get(AUDIT_PATHS[log], params=later, headers=as_("root"))))["items"]


@pytest.mark.parametrize("log", sorted(AUDIT_PATHS))
async def test_admins_and_auditors_read_the_logs_and_other_roles_get_403(api: httpx.AsyncClient, log: str):
    for user in ("root", "aud-1"):
        assert (await api.get(AUDIT_PATHS[log], headers=as_(user))).status_code == 200
    for user in ("am-li", "sup-wang", "ro-1"):
        assert (await api.get(AUDIT_PATHS[log], headers=as_(user))).status_code == 403
    # An auditor reads the logs and nothing else (business data needs another role, e.g. viewer).
    assert (await api.get("/complaints", headers=as_("aud-1"))).status_code == 403
    inverted = {"from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z"}
    refused = await api.get(AUDIT_PATHS[log], params=inverted, headers=as_("aud-1"))
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "from"


async def test_no_route_writes_or_deletes_an_audit_entry(api: httpx.AsyncClient, platform: Platform):
    doc = (await api.get(f"{platform.gateway.url}/openapi.json")).json()
    audit_paths = {path: item for path, item in doc["paths"].items() if "audit" in path.split("/")}
    assert {p.removeprefix("/api/v1") for p in audit_paths} == set(AUDIT_PATHS.values())
    for path, item in audit_paths.items():
        assert [m for m in item if m in ("get", "post", "put", "patch", "delete")] == ["get"], path
    for path in AUDIT_PATHS.values():
        for method in WRITE_METHODS:
            response = await api.request(method, path, headers=as_("root"), json={})
            assert response.status_code == 405 and response.headers["allow"] == "GET", (method, path)
            # Nor one entry by its id: there is no such route (refused, never answered by a write).
            response = await api.request(method, f"{path}/1", headers=as_("root"), json={})
            assert response.status_code in (403, 404, 405), (method, path, response.status_code)


# ---------------------------------------------------------------- every service, in process


def _app(name: str, database_url: str) -> Any:
    info = SERVICES[name]
    settings = service_settings(type(info.settings()), database_url=database_url, nats_url=None)
    return importlib.import_module(f"{info.module}.app").create_app(settings)


@pytest.mark.parametrize("name", sorted(SERVICES))
async def test_every_service_serves_its_log_read_only_and_an_entry_rolls_back_with_its_transaction(
    name: str, sqlite_database: Any
):
    app = _app(name, await sqlite_database(name))
    path = f"/{name}/audit"
    operations = {p: item for p, item in app.openapi()["paths"].items() if "audit" in p.split("/")}
    assert {p: sorted(item) for p, item in operations.items()} == {path: ["get"]}
    table = app.state.spec.audit
    async with running(app, headers=auth("admin")) as client:
        with pytest.raises(RuntimeError):
            async with app.state.db.transaction() as session:
                await record_audit(session, table, actor_id="x", action="a.b", object_type="t", object_id="1")
                raise RuntimeError("the change failed")
        async with app.state.db.transaction() as session:
            assert await session.scalar(select(func.count()).select_from(table)) == 0
        for method in WRITE_METHODS:
            assert (await client.request(method, path)).status_code == 405, method
        assert (await client.get(path, headers=auth("auditor"))).status_code == 200
        assert (await client.get(path, headers=auth("account_manager"))).status_code == 403
