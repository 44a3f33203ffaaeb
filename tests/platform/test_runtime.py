"""Shared runtime: readiness follows NATS, auth rejects bad tokens, errors are problem+json, settings guard secrets."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from pydantic import ValidationError
from sqlalchemy import text

from services.risk.app import create_app as create_risk
from services.risk.config import RiskSettings
from services.scoring.config import ScoringSettings
from shared import service as service_module
from shared.events import ActualsRecorded, ComplaintClosed, UnknownEvent, parse_event
from shared.nats_server import NatsServer
from shared.settings import DEV_JWT_SECRET
from tests.support import TEST_JWT_SECRET, auth, running, service_settings, token, wait_until


async def test_readyz_is_degraded_while_nats_is_down_and_ready_after(sqlite_database, tmp_path):
    server = NatsServer(tmp_path / "nats").start()
    try:
        app = create_risk(
            service_settings(RiskSettings, database_url=await sqlite_database("risk"), nats_url=server.url)
        )
        async with running(app) as client:

            async def status() -> str:
                response = await client.get("/readyz")
                return f"{response.status_code} {response.json()['status']}"

            await wait_until(lambda: _equals(status, "200 ready"), message="ready")
            assert (await client.get("/healthz")).json()["status"] == "ok"
            server.stop()
            # Degraded but ready: writes wait in the outbox while the broker is away.
            await wait_until(lambda: _equals(status, "200 degraded"), message="degraded while NATS is down")
            body = (await client.get("/readyz")).json()
            assert (body["database"], body["broker"]) == ("writable", "reconnecting")
            server.start()
            await wait_until(lambda: _equals(status, "200 ready"), timeout=20, message="ready again")
            assert (await client.get("/readyz")).json()["broker"] == "connected"
            await app.state.bus.close()  # a connection closed for good fails readiness
            response = await client.get("/readyz")
            assert (response.status_code, response.json()["broker"]) == (503, "closed")
            metrics = (await client.get("/metrics", headers=auth("admin"))).text
            assert "kam_http_requests_total" in metrics
            assert "kam_outbox_backlog" in metrics
            assert "kam_dead_letters" in metrics
    finally:
        server.stop()


async def _equals(fn, expected) -> bool:
    return await fn() == expected


@pytest.fixture
async def risk_client(sqlite_database):
    app = create_risk(service_settings(RiskSettings, database_url=await sqlite_database("risk"), nats_url=None))
    async with running(app) as client:
        yield client


async def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


async def test_missing_expired_tampered_and_alg_none_tokens_get_401(risk_client):
    path = "/risk/views/portfolio"
    assert (await risk_client.get(path, headers=auth("supervisor"))).status_code == 200
    await _problem(await risk_client.get(path), 401)
    expired = token("supervisor", now=datetime.now(UTC) - timedelta(hours=2), ttl=timedelta(minutes=15))
    body = await _problem(await risk_client.get(path, headers={"Authorization": f"Bearer {expired}"}), 401)
    assert "expired" in body["detail"]
    good = token("supervisor")
    header, payload, signature = good.split(".")
    tampered_payload = jwt.utils.base64url_encode(
        jwt.utils.base64url_decode(payload).replace(b'"supervisor"', b'"admin"')
    ).decode()
    await _problem(
        await risk_client.get(path, headers={"Authorization": f"Bearer {header}.{tampered_payload}.{signature}"}), 401
    )
    claims = jwt.decode(good, options={"verify_signature": False})
    unsigned = jwt.encode(claims, key=None, algorithm="none")
    await _problem(await risk_client.get(path, headers={"Authorization": f"Bearer {unsigned}"}), 401)
    wrong_key = token("supervisor", secret="another-secret-" + "y" * 40)
    await _problem(await risk_client.get(path, headers={"Authorization": f"Bearer {wrong_key}"}), 401)
    wrong_audience = token("supervisor", audience="someone-else")
    await _problem(await risk_client.get(path, headers={"Authorization": f"Bearer {wrong_audience}"}), 401)


async def test_unknown_account_is_a_problem_404_and_request_id_round_trips(risk_client):
    response = await risk_client.get(
        "/risk/views/accounts/does-not-exist", headers={**auth("supervisor"), "X-Request-ID": "trace-123"}
    )
    body = await _problem(response, 404)
    assert body["detail"] == "Account does-not-exist not found"
    assert response.headers["x-request-id"] == "trace-123"
    assert body["request_id"] == "trace-123"


async def test_bad_query_input_is_a_422_naming_the_field(risk_client):
    response = await risk_client.get("/risk/admin/dead-letters?limit=100000", headers=auth("admin"))
    body = await _problem(response, 422)
    assert body["errors"][0]["field"] == "limit"
    assert "limit" in body["detail"]


def test_settings_refuse_the_development_secret_outside_development(monkeypatch):
    with pytest.raises(ValidationError, match="jwt_secret"):
        ScoringSettings(environment="production")
    monkeypatch.setenv("KAM_JWT_SECRET", "z" * 40)
    monkeypatch.setenv("KAM_NATS_PASSWORD", "n" * 24)  # production also refuses NATS without credentials
    monkeypatch.setenv("KAM_SCORING_DATABASE_URL", "postgresql+asyncpg://db/scoring")
    monkeypatch.setenv("KAM_DATABASE_URL", "sqlite+aiosqlite:///must-not-be-used.db")
    settings = ScoringSettings(environment="production")
    assert settings.jwt_secret == "z" * 40  # platform-wide fallback
    assert settings.database_url == "postgresql+asyncpg://db/scoring"  # never a shared database
    assert ScoringSettings().jwt_secret == "z" * 40
    assert DEV_JWT_SECRET != TEST_JWT_SECRET


def test_events_round_trip_chinese_text_and_decimals():
    closed = ComplaintClosed(
        source="complaints",
        account_id="a-1",
        data={"complaint_id": "c-1", "closed_at": datetime(2026, 3, 1, tzinfo=UTC), "satisfaction": 2},
    )
    parsed = parse_event(closed.model_dump_json())
    assert parsed == closed
    actuals = ActualsRecorded(
        source="goals",
        account_id="a-1",
        data={
            "period": "2026-03",
            "revenue": "1234567.89",
            "cost": "1000000.00",
            "gross_profit": "234567.89",
            "by_product_line": {"工业网关": "1234567.89"},
        },
    )
    raw = actuals.model_dump_json()
    assert '"revenue":"1234567.89"' in raw
    assert "工业网关" in raw
    assert parse_event(raw.encode()).data.by_product_line["工业网关"] == actuals.data.by_product_line["工业网关"]
    with pytest.raises(UnknownEvent):
        parse_event('{"id":"x","type":"accounts.merged","source":"scoring","data":{}}')
    with pytest.raises(ValidationError):
        parse_event(
            '{"id":"x","type":"complaints.closed","source":"complaints","data":{"complaint_id":"c","closed_at":"2026-01-01T00:00:00Z","satisfaction":9}}'
        )


async def test_readyz_is_degraded_while_another_writer_holds_sqlite_and_unavailable_if_it_lasts(
    sqlite_database, monkeypatch
):
    monkeypatch.setattr(service_module, "READINESS_DATABASE_SECONDS", 0.2)
    url = await sqlite_database("risk")
    # no periodic job of its own: the only other writer is the test's
    app = create_risk(service_settings(RiskSettings, database_url=url, nats_url=None, periodic_jobs=False))
    async with running(app) as client:
        assert (await client.get("/readyz")).json()["database"] == "writable"
        held, release = asyncio.Event(), asyncio.Event()

        async def long_writer() -> None:
            async with app.state.db.transaction() as session:
                await session.execute(text("PRAGMA user_version = 7"))
                held.set()
                await release.wait()

        writer = asyncio.create_task(long_writer())
        await held.wait()
        try:
            busy = await client.get("/readyz")
            assert (busy.status_code, busy.json()["status"], busy.json()["database"]) == (200, "degraded", "busy")
            monkeypatch.setattr(service_module, "READINESS_BUSY_LIMIT_SECONDS", 0.0)
            stuck = await client.get("/readyz")
            assert stuck.status_code == 503 and stuck.json()["database"].startswith("not writable: busy for")
        finally:
            release.set()
            await writer
        again = await client.get("/readyz")
        assert (again.status_code, again.json()["database"]) == (200, "writable")
