"""Every response of every app carries the security headers (and a route's own Cache-Control wins)."""

from __future__ import annotations

from services.goals.app import create_app
from services.goals.config import GoalsSettings
from shared.observability import SECURITY_HEADERS
from tests.support import auth, running, service_settings


async def test_every_response_carries_the_security_headers(sqlite_database):
    app = create_app(service_settings(GoalsSettings, database_url=await sqlite_database("headers"), nats_url=None))
    async with running(app) as client:
        responses = [
            await client.get("/healthz"),
            await client.get("/goals/targets", headers=auth("supervisor", user_id="sup-wang")),
            await client.get("/goals/targets"),  # 401 problem
            await client.get("/goals/targets/not-a-uuid", headers=auth("supervisor")),  # 422 problem
        ]
    assert [r.status_code for r in responses] == [200, 200, 401, 422]
    for response in responses:
        for name, value in SECURITY_HEADERS:
            assert response.headers[name.decode()] == value.decode(), (response.request.url, name)
