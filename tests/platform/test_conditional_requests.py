"""Conditional requests on every service: a change of a versioned resource needs ``If-Match`` (428 without it, 412
when stale, 2xx and a new ETag with the current one), a GET with a current ``If-None-Match`` is a 304 — at the
service and through the gateway — and the OpenAPI documents say so wherever it applies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from gateway.app import create_app as gateway_app
from services.complaints.app import create_app as complaints_app
from services.complaints.config import ComplaintsSettings
from services.goals.app import create_app as goals_app
from services.goals.config import GoalsSettings
from services.notifications.app import create_app as notifications_app
from services.notifications.config import NotificationsSettings
from services.risk.app import create_app as risk_app
from services.risk.config import RiskSettings
from services.scoring.app import create_app as scoring_app
from services.scoring.config import ScoringSettings
from shared.clock import FrozenClock
from shared.errors import PROBLEM_JSON
from shared.settings import ServiceSettings
from tests.complaints import helpers as complaints
from tests.gateway.platform import offline_gateway_settings, seed_users
from tests.gateway.test_write_outcomes import serving
from tests.goals import helpers as goals
from tests.notifications.helpers import notifications_app as notifications_test_app
from tests.risk.support import make_app as risk_test_app
from tests.scoring.support import CAST, account_payload
from tests.scoring.support import scoring_app as scoring_test_app
from tests.support import auth, register_users, running, service_settings

SUPERVISOR = auth("supervisor", user_id="sup-wang")
LI = auth("account_manager", user_id="am-li")
RISK = auth("risk_officer", user_id="risk-chen")
STALE = '"999"'


@dataclass(frozen=True)
class Change:
    """A change about to be made: its path, body and headers, and the ETag the resource has now."""

    path: str
    body: Any
    headers: dict[str, str]
    etag: str


async def _scoring(app: FastAPI, client: httpx.AsyncClient) -> Change:
    await register_users(app, CAST)
    created = await client.post("/accounts", json=account_payload(), headers=SUPERVISOR)
    assert created.status_code == 201, created.text
    return Change(f"/accounts/{created.json()['id']}", {"region": "华南"}, SUPERVISOR, created.headers["ETag"])


async def _complaints(app: FastAPI, client: httpx.AsyncClient) -> Change:
    account_id = await complaints.register_account(app)
    created = await client.post(
        "/complaints",
        json={
            "account_id": account_id,
            "title": "批次质量问题",
            "description": "一批控制器出现故障",
            "channel": "phone",
            "category": "product_quality",
            "severity": "high",
        },
        headers=complaints.LI,
    )
    assert created.status_code == 201, created.text
    path = f"/complaints/{created.json()['id']}/acknowledge"
    return Change(path, {"message": "收到"}, complaints.LI, created.headers["ETag"])


async def _calendar(app: FastAPI, client: httpx.AsyncClient) -> Change:
    year = {"day_start": "09:00", "day_end": "18:00", "source": "test data", "holidays": []}
    # A year not stored yet is created without If-Match; replacing it then needs one.
    created = await client.put("/complaints/calendars/CN/2031", json=year, headers=SUPERVISOR)
    assert created.status_code == 200, created.text
    return Change("/complaints/calendars/CN/2031", year, SUPERVISOR, created.headers["ETag"])


async def _risk(app: FastAPI, client: httpx.AsyncClient) -> Change:
    read = await client.get("/risk/scorecard", headers=RISK)
    body = {"factors": read.json()["factors"], "grade_cutoffs": read.json()["grade_cutoffs"]}
    return Change("/risk/scorecard", body, RISK, read.headers["ETag"])


async def _goals(app: FastAPI, client: httpx.AsyncClient) -> Change:
    await goals.register_team(app)
    account_id = await goals.register_account(app, name="华东精密")
    body = {"account_id": account_id, "metric": "revenue", "period": "2026", "target_value": "500"}
    created = await client.post("/goals/targets", json=body, headers=SUPERVISOR)
    assert created.status_code == 201, created.text
    path = f"/goals/targets/{created.json()['id']}"
    return Change(path, {"target_value": "600"}, SUPERVISOR, created.headers["ETag"])


async def _notifications(app: FastAPI, client: httpx.AsyncClient) -> Change:
    read = await client.get("/notifications/preferences/me", headers=LI)
    return Change("/notifications/preferences/me", {"language": "en"}, LI, read.headers["ETag"])


@dataclass(frozen=True)
class Case:
    """One versioned change of one service: how to build the app, the operation, and how to reach the resource."""

    service: str
    method: str
    template: str
    app: Callable[[str], FastAPI]
    prepare: Callable[[FastAPI, httpx.AsyncClient], Awaitable[Change]]


CASES = [
    Case("scoring", "PATCH", "/accounts/{account_id}", scoring_test_app, _scoring),
    Case(
        "complaints",
        "POST",
        "/complaints/{complaint_id}/acknowledge",
        lambda url: complaints.make_app(url, FrozenClock(complaints.parse_time("2026-03-02T10:00:00+08:00"))),
        _complaints,
    ),
    Case(
        "complaints",
        "PUT",
        "/complaints/calendars/{code}/{year}",
        lambda url: complaints.make_app(url, FrozenClock(complaints.parse_time("2026-03-02T10:00:00+08:00"))),
        _calendar,
    ),
    Case("risk", "PUT", "/risk/scorecard", risk_test_app, _risk),
    Case("goals", "PATCH", "/goals/targets/{target_id}", lambda url: goals.goals_app(url)[0], _goals),
    Case("notifications", "PUT", "/notifications/preferences/me", notifications_test_app, _notifications),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.method} {c.template}")
async def test_a_change_needs_the_current_etag_as_if_match(case: Case, make_database):
    app = case.app(await make_database(case.service))
    async with running(app, reads_etag_first=False) as client:
        change = await case.prepare(app, client)
        operation = app.openapi()["paths"][case.template][case.method.lower()]
        assert any(p["name"] == "If-Match" for p in operation["parameters"]), "the change documents If-Match"

        async def send(extra: dict[str, str]) -> httpx.Response:
            return await client.request(case.method, change.path, json=change.body, headers={**change.headers, **extra})

        missing = await send({})
        assert missing.status_code == 428, missing.text
        assert missing.headers["content-type"] == PROBLEM_JSON
        problem = missing.json()
        assert problem["type"] == "https://kam.example/problems/precondition-required"
        assert problem["field"] == "If-Match" and problem["errors"][0]["field"] == "If-Match"
        assert "GET" in problem["detail"] and "ETag" in problem["detail"]
        stale = await send({"If-Match": STALE})
        assert stale.status_code == 412 and stale.headers["content-type"] == PROBLEM_JSON
        current = await send({"If-Match": change.etag})
        assert 200 <= current.status_code < 300, current.text
        assert current.headers["ETag"] != change.etag  # the new version, to send with the next change
        assert (await send({"If-Match": change.etag})).status_code == 412  # the ETag just used is stale now


def _documents() -> dict[str, dict[str, Any]]:
    apps: dict[str, tuple[Callable[..., FastAPI], type[ServiceSettings]]] = {
        "scoring": (scoring_app, ScoringSettings),
        "complaints": (complaints_app, ComplaintsSettings),
        "risk": (risk_app, RiskSettings),
        "goals": (goals_app, GoalsSettings),
        "notifications": (notifications_app, NotificationsSettings),
    }
    return {
        name: factory(service_settings(cls, database_url="sqlite+aiosqlite:///:memory:", nats_url=None)).openapi()
        for name, (factory, cls) in apps.items()
    }


def _parameters(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in operation.get("parameters", [])}


def test_every_change_of_a_resource_with_an_etag_documents_if_match_412_and_428(tmp_path: Path):
    documents = {**_documents(), "gateway": gateway_app(offline_gateway_settings(tmp_path)).openapi()}
    enforced: dict[str, int] = {}
    for name, document in documents.items():
        for path, item in document["paths"].items():
            read = item.get("get", {}).get("responses", {}).get("200", {})
            if "ETag" in read.get("headers", {}):
                get = item["get"]
                assert "If-None-Match" in _parameters(get) and "304" in get["responses"], f"GET {path}"
                for method in ("put", "patch", "delete"):
                    if method in item:
                        assert "If-Match" in _parameters(item[method]), f"{method.upper()} {path} without If-Match"
            for method, operation in item.items():
                if "If-Match" in _parameters(operation):
                    assert {"412", "428"} <= set(operation["responses"]), f"{method.upper()} {path}"
                    assert operation["responses"]["428"]["content"][PROBLEM_JSON]
                    enforced[name] = enforced.get(name, 0) + 1
    assert set(enforced) == {case.service for case in CASES}  # every service enforces it; each is driven above
    for case in CASES:
        assert "If-Match" in _parameters(documents[case.service]["paths"][case.template][case.method.lower()])


@pytest.mark.parametrize(
    ("if_none_match", "status"),
    [
        ('"1"', 304),
        ('W/"1"', 304),  # weak comparison
        ('"7", "1"', 304),  # a list
        ("*", 304),
        ('"7"', 200),
    ],
)
async def test_a_get_with_a_current_if_none_match_is_304_without_a_body(if_none_match: str, status: int, tmp_path):
    app = risk_test_app(f"sqlite+aiosqlite:///{tmp_path / 'risk.db'}")
    async with running(app, headers=RISK) as client:
        assert (await client.get("/risk/scorecard")).headers["ETag"] == '"1"'
        response = await client.get("/risk/scorecard", headers={"If-None-Match": if_none_match})
        assert response.status_code == status
        assert response.headers["ETag"] == '"1"'
        assert (response.content == b"") is (status == 304)
        assert "x-request-id" in response.headers  # the 304 passes the request-context middleware too


async def test_the_gateway_relays_if_none_match_and_304_and_the_preconditions_of_a_change(tmp_path: Path):
    service = risk_test_app(f"sqlite+aiosqlite:///{tmp_path / 'risk.db'}")
    async with service.router.lifespan_context(service), serving(service) as url:
        app = gateway_app(offline_gateway_settings(tmp_path, risk_url=url))
        async with running(app, headers=auth("admin", user_id="root"), reads_etag_first=False) as client:
            await seed_users(app, {"root": ["admin"]})
            read = await client.get("/api/v1/risk/scorecard")
            assert read.status_code == 200 and read.headers["ETag"] == '"1"'
            again = await client.get("/api/v1/risk/scorecard", headers={"If-None-Match": read.headers["ETag"]})
            assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == '"1"'
            body = {"factors": read.json()["factors"], "grade_cutoffs": read.json()["grade_cutoffs"]}
            missing = await client.put("/api/v1/risk/scorecard", json=body)
            assert missing.status_code == 428 and missing.json()["field"] == "If-Match"
            changed = await client.put("/api/v1/risk/scorecard", json=body, headers={"If-Match": '"1"'})
            assert changed.status_code == 200 and changed.headers["ETag"] == '"2"'
            stale = await client.get("/api/v1/risk/scorecard", headers={"If-None-Match": '"1"'})
            assert stale.status_code == 200 and stale.headers["ETag"] == '"2"'  # a changed resource is sent again
