"""One contract for input: every request body of the risk API refuses unknown fields (no mass assignment), every
decimal in it is bounded, every currency is ISO 4217, and the service's own ids in paths are UUIDs."""

from __future__ import annotations

import types
from decimal import Decimal
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
from fastapi.datastructures import UploadFile
from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from services.risk.app import SPEC
from shared.api import RequestBody
from tests.risk.support import add_account, make_app
from tests.support import auth, running

RISK = auth("risk_officer", user_id="risk-chen")
LI = auth("account_manager", user_id="am-li")


def _body_types() -> dict[str, Any]:
    """``"METHOD path"`` → the annotation of its body, for every route of the risk app."""

    def params(dependant: Any) -> list[Any]:
        found = list(dependant.body_params)
        for sub in dependant.dependencies:
            found += params(sub)
        return found

    bodies = {}
    for router in SPEC.routers:
        for route in router.routes:
            if isinstance(route, APIRoute):
                for param in params(route.dependant):
                    bodies[f"{','.join(sorted(route.methods))} {route.path}"] = param.field_info.annotation
    return bodies


def _parts(annotation: Any) -> list[Any]:
    """The classes inside an annotation (unions, lists, dicts, Annotated), with their metadata."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _parts(get_args(annotation)[0])
    if origin in (Union, types.UnionType, list, dict, tuple, set, frozenset):
        return [p for arg in get_args(annotation) for p in _parts(arg)]
    return [annotation]


def _models(annotation: Any, seen: set[type] | None = None) -> set[type[BaseModel]]:
    """Every pydantic model a body is made of (nested ones included)."""
    seen = set() if seen is None else seen
    for part in _parts(annotation):
        if isinstance(part, type) and issubclass(part, BaseModel) and part not in seen:
            seen.add(part)
            for field in part.model_fields.values():
                _models(field.annotation, seen)
    return seen


def _decimal_bounds(annotation: Any, metadata: list[Any]) -> list[bool]:
    """For each Decimal inside an annotation: whether it carries a digit limit (bounded, finite)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        inner, *extra = get_args(annotation)
        return _decimal_bounds(inner, [*metadata, *extra])
    if origin in (Union, types.UnionType, list, dict):
        return [b for arg in get_args(annotation) for b in _decimal_bounds(arg, metadata)]
    if annotation is Decimal:
        flat = [inner for m in metadata for inner in (m.metadata if isinstance(m, FieldInfo) else [m])]
        limits = [getattr(m, "max_digits", None) for m in flat]
        return [any(limit is not None for limit in limits)]
    return []


def test_every_request_body_of_the_risk_routes_is_a_request_body_and_refuses_unknown_fields():
    bodies = _body_types()
    assert len(bodies) >= 22
    uploads = [route for route, annotation in bodies.items() if annotation is UploadFile]
    assert sorted(uploads) == [  # a file, not a JSON body
        "POST /risk/contracts/{contract_id}/documents",
        "POST /risk/fx-rates/import/csv",
    ]
    models = set().union(*(_models(a) for a in bodies.values() if a is not UploadFile))
    assert len(models) >= 25
    assert sorted(m.__name__ for m in models if not issubclass(m, RequestBody)) == []
    assert all(m.model_config.get("extra") == "forbid" for m in models)


def test_every_decimal_in_a_request_body_is_bounded():
    models = set().union(*(_models(a) for a in _body_types().values() if a is not UploadFile))
    unbounded = [
        f"{model.__name__}.{name}"
        for model in models
        for name, field in model.model_fields.items()
        if not all(_decimal_bounds(field.annotation, list(field.metadata)))
    ]
    assert unbounded == []


async def test_mass_assignment_and_unbounded_numbers_are_refused_naming_the_field(sqlite_database):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        account_id = await add_account(app, "契约客户")
        contract = await client.post(
            f"/risk/accounts/{account_id}/contracts", json={"title": "c", "start_on": "2026-01-01"}, headers=LI
        )
        contract_id = contract.json()["id"]
        cases = [
            (
                "post",
                f"/risk/accounts/{account_id}/limit-requests",
                {"requested_limit": "1", "reason": "x", "id": "mine"},
                "id",
            ),
            (
                "post",
                f"/risk/accounts/{account_id}/contracts",
                {"title": "c", "start_on": "2026-01-01", "status": "approved"},
                "status",
            ),
            ("patch", f"/risk/contracts/{contract_id}", {"title": "d", "version": 9}, "version"),
            (
                "post",
                f"/risk/accounts/{account_id}/invoices",
                {"number": "1", "amount": "1", "issued_on": "2026-03-01", "due_on": "2026-03-02", "outstanding": "0"},
                "outstanding",
            ),
            (
                "post",
                f"/risk/accounts/{account_id}/invoices",
                {"number": "1", "amount": "1e999999", "issued_on": "2026-03-01", "due_on": "2026-03-02"},
                "amount",
            ),
            ("post", f"/risk/accounts/{account_id}/credit-check", {"amount": "1e999999"}, "amount"),
            ("post", f"/risk/accounts/{account_id}/assessments", {"debt_ratio": "1e999999"}, "debt_ratio"),
            ("post", f"/risk/accounts/{account_id}/signals", {"value": "NaN", "title": "t"}, "value"),
            (
                "put",
                "/risk/rules/X",
                {
                    "name": "n",
                    "signal_type": "sales_drop",
                    "conditions": [{"operator": "gt", "threshold": "1e999999", "level": "red"}],
                },
                "conditions.0.threshold",
            ),
            (
                "post",
                f"/risk/accounts/{account_id}/contracts",
                {"title": "c", "start_on": "2026-01-01", "value": "1e999999"},
                "value",
            ),
        ]
        for method, path, body, field in cases:
            response = await client.request(method, path, json=body, headers=RISK)
            assert response.status_code == 422, (path, body, response.text)
            assert response.json()["errors"][0]["field"] == field, (path, response.json())
        await client.post(f"/risk/accounts/{account_id}/signals", json={"value": 4, "title": "t"}, headers=RISK)
        [alert] = (await client.get(f"/risk/alerts?account_id={account_id}", headers=RISK)).json()["items"]
        item = (await client.get(f"/risk/alerts/{alert['id']}", headers=RISK)).json()["action_items"][0]
        for body, field in (({"status": "done"}, "status"), ({"version": 7}, "version"), ({"id": "x"}, "id")):
            action = await client.patch(f"/risk/action-items/{item['id']}", json=body, headers=RISK)
            assert action.status_code == 422 and action.json()["errors"][0]["field"] == field
        moved = await client.post(
            f"/risk/alerts/{alert['id']}/transitions", json={"status": "acknowledged", "level": "green"}, headers=RISK
        )
        assert moved.status_code == 422 and moved.json()["errors"][0]["field"] == "level"


@pytest.mark.parametrize("code", ["XYZ", "元", "usd", "US", "XAU"])
async def test_a_currency_that_is_not_iso_4217_money_is_refused_everywhere(sqlite_database, code):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        account_id = await add_account(app, "币种客户")
        for path, body in (
            (
                f"/risk/accounts/{account_id}/invoices",
                {"number": "1", "amount": "1", "issued_on": "2026-03-01", "due_on": "2026-03-02"},
            ),
            (f"/risk/accounts/{account_id}/credit-check", {"amount": "1"}),
            (f"/risk/accounts/{account_id}/limit-requests", {"requested_limit": "1", "reason": "x"}),
            (f"/risk/accounts/{account_id}/contracts", {"title": "c", "start_on": "2026-01-01"}),
        ):
            response = await client.post(path, json={**body, "currency": code}, headers=RISK)
            assert response.status_code == 422, (path, response.text)
            assert response.json()["errors"][0]["field"] == "currency"


async def test_the_services_own_ids_in_paths_are_uuids(sqlite_database):
    app = make_app(await sqlite_database("risk"))
    async with running(app) as client:
        for path in ("/risk/alerts/nope", "/risk/contracts/%20x"):
            response = await client.get(path, headers=RISK)
            assert response.status_code == 422
            assert response.json()["errors"][0]["field"] in ("alert_id", "contract_id")
        unknown = await client.get(f"/risk/alerts/{'0' * 8}-0000-4000-8000-{'0' * 12}", headers=RISK)
        assert unknown.status_code == 404
