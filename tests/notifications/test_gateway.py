"""Behind the gateway: ``/api/v1/notifications/…`` proxied to a notifications service on a real socket, the role
matrix at the edge, its routes in the one OpenAPI document, and 503 where it is not deployed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import uvicorn

from gateway.app import create_app as create_gateway
from gateway.config import GatewaySettings
from gateway.policy import allowed
from gateway.proxy import route_to_service
from shared.clock import FrozenClock
from shared.events import ComplaintSlaWarning
from shared.nats_server import free_port
from tests.gateway.platform import offline_gateway_settings, seed_users
from tests.notifications.helpers import MORNING, account_event, apply, notifications_app, sla_event, user_events
from tests.support import auth, running, service_settings, wait_until

LI = auth("account_manager", user_id="am-li")
WANG = auth("supervisor", user_id="sup-wang")
ADMIN = auth("admin", user_id="u-admin")


@contextlib.asynccontextmanager
async def serving(app, port: int) -> AsyncIterator[None]:
    """An app under uvicorn on a real port (lifespan included)."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), "the service did not start"
            await asyncio.sleep(0.02)
        yield
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def test_the_gateway_proxies_notifications_with_its_role_matrix_and_documents_them(tmp_path, sqlite_database):
    port = free_port()
    service = notifications_app(await sqlite_database("notifications"), clock=FrozenClock(MORNING))
    gateway = create_gateway(
        offline_gateway_settings(tmp_path, openapi_refresh_seconds=0.2, notifications_url=f"http://127.0.0.1:{port}")
    )
    async with serving(service, port), running(gateway) as client:
        await seed_users(gateway, {"am-li": ["account_manager"], "sup-wang": ["supervisor"], "u-admin": ["admin"]})
        account = account_event(MORNING)
        await apply(service, *user_events(MORNING), account)
        await apply(
            service, sla_event(ComplaintSlaWarning, account.account_id, at=MORNING, due_at=MORNING + timedelta(hours=1))
        )

        inbox = await client.get("/api/v1/notifications/inbox", headers=LI)
        assert inbox.status_code == 200 and inbox.headers["x-upstream-service"] == "notifications"
        [item] = inbox.json()["items"]
        read = await client.post(f"/api/v1/notifications/inbox/{item['id']}/read", headers=LI)
        assert read.status_code == 200 and read.json()["read"] is True
        prefs = await client.put("/api/v1/notifications/preferences/me", json={"language": "en"}, headers=LI)
        assert prefs.status_code == 200

        denied = await client.get("/api/v1/notifications/rules", headers=LI)
        assert denied.status_code == 403 and "x-upstream-service" not in denied.headers  # decided at the edge
        assert (await client.get("/api/v1/notifications/rules", headers=WANG)).status_code == 200
        robots = await client.get("/api/v1/notifications/admin/robots", headers=WANG)
        assert robots.status_code == 403 and "x-upstream-service" not in robots.headers
        assert (await client.get("/api/v1/notifications/admin/robots", headers=ADMIN)).status_code == 200
        assert (await client.get("/api/v1/ops/notifications/readyz", headers=ADMIN)).status_code == 200

        async def documented():
            doc = (await client.get("/openapi.json")).json()
            return "/api/v1/notifications/inbox" in doc["paths"] and doc

        doc = await wait_until(documented, message="the notifications routes in the merged OpenAPI")
        assert "/api/v1/notifications/admin/webhooks/{webhook_id}/test" in doc["paths"]
        assert "notifications" not in doc["info"].get("x-services-missing", [])


async def test_without_a_notifications_url_its_routes_answer_503_and_the_composed_views_are_unchanged(tmp_path):
    gateway = create_gateway(offline_gateway_settings(tmp_path, openapi_refresh_seconds=0.2, notifications_url=None))
    assert gateway.state.settings.proxied_services() == ("scoring", "complaints", "risk", "goals")
    async with running(gateway) as client:
        await seed_users(gateway, {"am-li": ["account_manager"]})
        response = await client.get("/api/v1/notifications/inbox", headers=LI)
        assert response.status_code == 503 and response.headers["content-type"] == "application/problem+json"
        assert "KAM_GATEWAY_NOTIFICATIONS_URL" in response.json()["detail"]


def test_routes_and_roles_of_notifications_at_the_edge():
    assert route_to_service("notifications/inbox/unread-count") == (
        "notifications",
        "/notifications/inbox/unread-count",
    )
    assert route_to_service("ops/notifications/metrics") == ("notifications", "/metrics")
    everyone = ("admin", "supervisor", "account_manager", "risk_officer", "viewer", "service")
    for role in everyone:
        assert allowed("GET", "/api/v1/notifications/inbox", frozenset({role}))
        assert allowed("POST", "/api/v1/notifications/inbox/read-all", frozenset({role}))
        assert allowed("PUT", "/api/v1/notifications/preferences/me", frozenset({role}))
    assert allowed("GET", "/api/v1/notifications/deliveries", frozenset({"supervisor"}))
    assert not allowed("GET", "/api/v1/notifications/deliveries", frozenset({"account_manager"}))
    assert not allowed("POST", "/api/v1/notifications/rules", frozenset({"supervisor"}))
    assert allowed("POST", "/api/v1/notifications/rules", frozenset({"admin"}))
    assert not allowed("GET", "/api/v1/notifications/admin/webhooks", frozenset({"supervisor"}))


def test_the_merged_openapi_document_with_notifications_is_valid_and_namespaced():
    from openapi_spec_validator import validate

    from gateway.openapi import merge_openapi

    url = "sqlite+aiosqlite:///:memory:"
    gateway = create_gateway(service_settings(GatewaySettings, database_url=url, nats_url=None))
    merged = merge_openapi(gateway.openapi(), {"notifications": notifications_app(url).openapi()})
    validate(merged)
    ours = {path: item for path, item in merged["paths"].items() if path.startswith("/api/v1/notifications/")}
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(ours)))
    assert len(refs) > 10 and all(ref.startswith("notifications__") or ref == "Problem" for ref in refs), refs
    assert "/api/v1/notifications/inbox/{notification_id}/read" in merged["paths"]
