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


async def test_a_database_that_cannot_be_written_answers_503_with_retry_after_and_reads_go_on(sqlite_database):
    from sqlalchemy import event

    app = create_app(service_settings(GoalsSettings, database_url=await sqlite_database("readonly"), nats_url=None))
    supervisor = auth("supervisor", user_id="sup-wang")
    path, body = "/goals/accounts/acc-1/reporting-currency", {"currency": "USD"}
    async with running(app) as client:
        before = await client.put(path, json=body, headers=supervisor)
        # From now on every connection refuses writes, as a read-only or full database does.
        await app.state.db.engine.dispose()
        event.listen(app.state.db.engine.sync_engine, "connect", lambda conn, _: conn.execute("PRAGMA query_only=ON"))
        write = await client.put(
            "/goals/accounts/acc-1/reporting-currency", json={"currency": "USD"}, headers=supervisor
        )
        read = await client.get("/goals/targets", headers=supervisor)
    assert before.status_code < 500, before.text  # the same request is answered while the database is writable
    assert write.status_code == 503, write.text
    assert write.headers["retry-after"] == "5"
    assert write.headers["content-type"] == "application/problem+json"
    assert "nothing was stored" in write.json()["detail"]
    assert read.status_code == 200


async def test_the_gateway_keeps_reads_flowing_while_a_services_database_refuses_writes(sqlite_database):
    import httpx
    from sqlalchemy import event

    from gateway.upstream import CircuitBreaker, Upstream

    app = create_app(service_settings(GoalsSettings, database_url=await sqlite_database("readonly"), nats_url=None))
    supervisor = auth("supervisor", user_id="sup-wang")
    async with running(app):
        await app.state.db.engine.dispose()
        event.listen(app.state.db.engine.sync_engine, "connect", lambda conn, _: conn.execute("PRAGMA query_only=ON"))
        breaker = CircuitBreaker(threshold=3, reset_seconds=30)
        upstream = Upstream(
            "goals", "http://goals", timeout=5, retries=0, breaker=breaker, transport=httpx.ASGITransport(app=app)
        )
        try:
            for _ in range(10):
                refused = await upstream.request(
                    "PUT",
                    "/goals/accounts/acc-1/reporting-currency",
                    headers=supervisor,
                    content=b'{"currency": "USD"}',
                )
                assert refused.status_code == 503
            assert breaker.state != "open"
            assert (await upstream.request("GET", "/goals/targets", headers=supervisor)).status_code == 200
        finally:
            await upstream.close()
