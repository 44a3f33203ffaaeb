"""Unknown query parameters are a 422 naming them on every route of every service and of the gateway (one
mechanism, shared.query_guard, installed by build_service_app), table-driven over each app's OpenAPI document:
every documented operation, path parameters filled in (a random id whose 404 would be fine). Declared parameters —
paging, ``format`` on a list, those of dependencies at any depth — still pass; the gateway's HTML pages are exempt."""

from __future__ import annotations

import importlib
import io
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import load_workbook

from gateway.app import create_app as create_gateway
from shared.errors import PROBLEM_JSON
from shared.export import BOM, XLSX_MEDIA_TYPE
from tests.gateway.platform import offline_gateway_settings, seed_users
from tests.support import auth, running, service_settings

# Each service's factory and settings class, imported when its case runs.
SERVICES = {
    "scoring": "ScoringSettings",
    "complaints": "ComplaintsSettings",
    "risk": "RiskSettings",
    "goals": "GoalsSettings",
    "notifications": "NotificationsSettings",
}
ADMIN = auth("admin", user_id="root")
METHODS = ("get", "post", "put", "patch", "delete")
UNKNOWN = "zz_not_a_parameter"


def service_app(name: str, database_url: str) -> FastAPI:
    """A service's app on a database, without NATS."""
    factory: Callable[..., FastAPI] = importlib.import_module(f"services.{name}.app").create_app
    settings: type[Any] = getattr(importlib.import_module(f"services.{name}.config"), SERVICES[name])
    return factory(service_settings(settings, database_url=database_url, nats_url=None))


def path_value(parameter: dict[str, Any]) -> str:
    """A value a path parameter's schema accepts (a random id: the object need not exist)."""
    schema = parameter.get("schema", {})
    if "enum" in schema:
        return str(schema["enum"][0])
    if schema.get("type") == "integer":
        return str(max(int(schema.get("minimum", 2026)), min(2026, int(schema.get("maximum", 2026)))))
    pattern = schema.get("pattern")
    for candidate in (str(uuid.uuid4()), "2026", "2026-03", "2026-Q1", "abc123", "cn", "CN", "a1b2c3d4"):
        if pattern is None or re.search(pattern, candidate):
            return candidate
    return "x"


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, concrete path, operation) of every documented operation."""
    found = []
    for template, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                operation = item[method]
                path = template
                for p in operation.get("parameters", []):
                    if p["in"] == "path":
                        path = path.replace("{" + p["name"] + "}", path_value(p))
                found.append((method, path, operation))
    return found


def query_names(operation: dict[str, Any]) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}


def assert_names_unknown(response: httpx.Response, *names: str, where: str) -> None:
    assert response.status_code == 422, (where, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith(PROBLEM_JSON), where
    problem = response.json()
    fields = [e["field"] for e in problem["errors"]]
    assert set(names) <= set(fields), (where, problem)
    assert all(e.get("location") == "query" for e in problem["errors"] if e["field"] in names), problem
    assert all(name in problem["detail"] for name in names), problem


async def check_list_route(client: httpx.AsyncClient, path: str, where: str) -> None:
    """A list route: declared parameters pass (paging, format), only the unknown ones are named (all of them), and it
    answers as a CSV file with a BOM and as an XLSX workbook (its object's 404 is fine for a list under an id)."""
    both = await client.get(path, params={"limit": 2, "offset": 0, "format": "json", "zz_b": "x", "zz_a": ""})
    assert_names_unknown(both, "zz_a", "zz_b", where=where)
    assert {e["field"] for e in both.json()["errors"]} == {"zz_a", "zz_b"}, where
    fine = await client.get(path, params={"limit": 2, "offset": 0, "format": "json"})
    assert fine.status_code in (200, 404), (where, fine.status_code, fine.text[:300])
    wrong = await client.get(path, params={"format": "pdf"})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "format", where
    as_csv = await client.get(path, params={"format": "csv"})
    as_xlsx = await client.get(path, headers={"Accept": XLSX_MEDIA_TYPE})
    assert as_csv.status_code == as_xlsx.status_code == fine.status_code, (where, as_csv.text[:300])
    if fine.status_code == 200:
        assert as_csv.headers["content-type"] == "text/csv; charset=utf-8", where
        assert as_csv.content.startswith(BOM.encode()) and as_csv.content.endswith(b"\r\n"), where
        assert as_csv.headers["content-disposition"].startswith("attachment; filename="), where
        assert int(as_csv.headers["x-export-rows"]) == fine.json()["total"] == int(as_csv.headers["x-total-count"])
        assert as_xlsx.headers["content-type"] == XLSX_MEDIA_TYPE, where
        sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
        assert sheet is not None and sheet.max_row == 1 + fine.json()["total"], where


@pytest.mark.parametrize("name", list(SERVICES))
async def test_every_route_of_every_service_refuses_an_unknown_query_parameter(name, sqlite_database):
    app = service_app(name, await sqlite_database(name))
    async with running(app, headers=ADMIN, reads_etag_first=False) as client:
        document = (await client.get("/openapi.json")).json()
        checked = lists = 0
        for method, path, operation in operations(document):
            where = f"{method.upper()} {path}"
            response = await client.request(method, path, params={UNKNOWN: "1"})
            assert_names_unknown(response, UNKNOWN, where=where)
            checked += 1
            if {"limit", "offset"} <= query_names(operation) and method == "get":
                await check_list_route(client, path, where)
                lists += 1
        assert checked >= 20 and lists >= 5, (checked, lists)  # the document lists the service's routes


async def test_parameters_of_dependencies_and_aliases_are_declared(make_database):
    """Filters read by a dependency (complaints' list filters, the audit log's ``from``/``to`` aliases) and the
    fields of a query-parameter model pass."""
    app = service_app("complaints", await make_database("complaints"))
    async with running(app, headers=ADMIN) as client:
        listed = await client.get("/complaints", params={"severity": "high", "escalation_level": 1, "limit": 5})
        audit = await client.get("/complaints/audit", params={"from": "2026-01-01T00:00:00Z", "action": "x"})
        model = await client.get("/complaints/surveys/results", params={"from": "2026-01-01", "granularity": "month"})
        misspelt = await client.get("/complaints", params={"severity": "high", "sevrity": "low"})
        unauthenticated = await client.get("/complaints", params={"sevrity": "low"}, headers={"Authorization": ""})
    assert listed.status_code == 200, listed.text
    assert audit.status_code == 200, audit.text
    assert model.status_code == 200, model.text  # the fields of a query-parameter model are declared
    assert_names_unknown(misspelt, "sevrity", where="misspelt filter")
    assert misspelt.json()["errors"][0] == {
        "field": "sevrity",
        "location": "query",
        "message": "unknown query parameter",
        "type": "extra_forbidden",
    }
    assert unauthenticated.status_code in (401, 422)  # never a 200 that ignored the filter


async def test_the_gateway_guards_its_own_routes_and_not_its_pages(tmp_path: Path):
    app = create_gateway(offline_gateway_settings(tmp_path))
    async with running(app, headers=ADMIN, reads_etag_first=False) as client:
        await seed_users(app, {"root": ["admin"]})
        document = (await client.get("/openapi.json")).json()
        own = operations(document)
        for method, path, _ in own:
            response = await client.request(method, path, params={UNKNOWN: "1"})
            assert_names_unknown(response, UNKNOWN, where=f"{method.upper()} {path}")
        users = await client.get("/api/v1/users", params={"limit": 1, "offset": 0})
        login_page = await client.get("/console/login", params={"next": "/console/", "utm_source": "mail"})
        survey_page = await client.get("/s/no-such-token", params={"lang": "en", "utm_source": "mail"})
    assert {"/api/v1/users", "/api/v1/me", "/api/v1/identity/audit"} <= {p for _, p, _ in own}
    assert users.status_code == 200, users.text
    # The HTML pages are outside the API document: browsers bring what they like in a query.
    assert login_page.status_code == 200 and login_page.headers["content-type"].startswith("text/html")
    assert survey_page.status_code != 422 and survey_page.headers["content-type"].startswith("text/html")
