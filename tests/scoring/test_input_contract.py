"""One contract for input (issue 12, item 1; issue 11, item 4): every request body is a ``RequestBody`` (unknown
fields and mass assignment → 422 naming them), every number bounded, every currency ISO 4217."""

from __future__ import annotations

import typing
from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel

from services.scoring.app import SPEC
from shared.api import RequestBody
from tests.scoring.support import SIMPLE_MODEL, account_payload, running_with_people, scoring_app
from tests.support import auth

SUP = auth("supervisor", user_id="sup-wang")
JSON = {**SUP, "Content-Type": "application/json"}


def _models(annotation: typing.Any) -> Iterator[type[BaseModel]]:
    """Every pydantic model an annotation names, through lists, dicts, unions and Annotated."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        for field in annotation.model_fields.values():
            yield from _models(field.annotation)
        return
    for argument in typing.get_args(annotation):
        yield from _models(argument)


def _body_models() -> dict[str, set[type[BaseModel]]]:
    found: dict[str, set[type[BaseModel]]] = {}
    for router in SPEC.routers:
        for route in router.routes:
            if isinstance(route, APIRoute) and route.body_field is not None:
                key = f"{sorted(route.methods)[0]} {route.path}"
                found[key] = set(_models(route.body_field.field_info.annotation))
    return found


def test_every_request_body_model_of_every_route_is_a_request_body():
    bodies = _body_models()
    assert len(bodies) >= 10  # register, import, update, team, ratings, contacts, override, engagement, model, cadence
    loose = {
        route: sorted(m.__name__ for m in models if not issubclass(m, RequestBody)) for route, models in bodies.items()
    }
    assert {route: names for route, names in loose.items() if names} == {}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tier": "strategic"}, "tier"),
        ({"score": "99"}, "score"),
        ({"id": "00000000-0000-0000-0000-000000000000"}, "id"),
        ({"version": 7}, "version"),
        ({"owner_id": "am-zhang"}, "owner_id"),  # the team has its own route (a supervisor's handover)
        ({"computed_tier": "key", "region": "华南"}, "computed_tier"),
    ],
)
async def test_mass_assignment_in_an_update_is_refused_naming_the_field(sqlite_database, body, field):
    app = scoring_app(await sqlite_database("scoring"))
    async with running_with_people(app) as client:
        account = (await client.post("/accounts", json=account_payload(), headers=SUP)).json()
        patched = await client.patch(f"/accounts/{account['id']}", json=body, headers=SUP)
        after = (await client.get(f"/accounts/{account['id']}", headers=SUP)).json()
    assert patched.status_code == 422 and [e["field"] for e in patched.json()["errors"]] == [field]
    assert field in patched.json()["detail"]
    assert after == account


async def test_unknown_fields_anywhere_in_a_body_are_refused_naming_them(sqlite_database):
    app = scoring_app(await sqlite_database("scoring"))
    async with running_with_people(app) as client:
        sneaky = await client.post("/accounts", json=account_payload(tier="strategic", score="100"), headers=SUP)
        nested = await client.post(
            "/accounts",
            json=account_payload(contacts=[{"name": "王总", "level": "executive", "vip": True}]),
            headers=SUP,
        )
        account_id = (await client.post("/accounts", json=account_payload(), headers=SUP)).json()["id"]
        override = await client.post(
            f"/accounts/{account_id}/tier-override",
            json={"tier": "key", "reason": "x", "approved_by": "sup-zhou"},
            headers=SUP,
        )
        model = {**SIMPLE_MODEL, "tiers": {**SIMPLE_MODEL["tiers"], "bonus": "5"}}
        bad_model = await client.post("/scoring/models", json={"name": "m", "definition": model}, headers=SUP)
        cadence = await client.put(
            "/scoring/cadence",
            json={"rules": [{"tier": "key", "level": "decision", "every_days": 30, "x": 1}]},
            headers=SUP,
        )
    assert sorted(e["field"] for e in sneaky.json()["errors"]) == ["score", "tier"]
    assert [e["field"] for e in nested.json()["errors"]] == ["contacts.0.vip"]
    assert [e["field"] for e in override.json()["errors"]] == ["approved_by"]
    assert [e["field"] for e in bad_model.json()["errors"]] == ["definition.tiers.bonus"]
    assert [e["field"] for e in cadence.json()["errors"]] == ["rules.0.x"]
    assert {r.status_code for r in (sneaky, nested, override, bad_model, cadence)} == {422}


async def test_an_annual_revenue_of_1e999999_is_refused_and_the_account_list_keeps_working(sqlite_database):
    app = scoring_app(await sqlite_database("scoring"))
    async with running_with_people(app) as client:
        account_id = (await client.post("/accounts", json=account_payload(), headers=SUP)).json()["id"]
        patched = await client.patch(f"/accounts/{account_id}", content=b'{"annual_revenue": 1e999999}', headers=JSON)
        as_string = await client.patch(f"/accounts/{account_id}", json={"annual_revenue": "1e999999"}, headers=SUP)
        too_long = await client.patch(
            f"/accounts/{account_id}", json={"annual_revenue": "12345678901234567890"}, headers=SUP
        )
        registered = await client.post(
            "/accounts",
            content=b'{"name": "x", "industry": "a", "region": "b", "annual_revenue": 1e999999}',
            headers=JSON,
        )
        listed = await client.get("/accounts", headers=SUP)
        fine = await client.patch(f"/accounts/{account_id}", json={"annual_revenue": "8000000000.5"}, headers=SUP)
    for response in (patched, as_string, too_long, registered):
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "annual_revenue"
    assert listed.status_code == 200 and listed.json()["total"] == 1
    assert fine.status_code == 200 and Decimal(fine.json()["annual_revenue"]) == Decimal("8000000000.5")


@pytest.mark.parametrize("currency", ["XYZ", "元", "usd", "US"])
async def test_an_amount_carries_an_iso_4217_currency(sqlite_database, currency):
    app = scoring_app(await sqlite_database("scoring"))
    async with running_with_people(app) as client:
        refused = await client.post(
            "/accounts", json=account_payload(annual_revenue="5000000", currency=currency), headers=SUP
        )
        accepted = await client.post(
            "/accounts", json=account_payload(annual_revenue="5000000", currency="USD"), headers=SUP
        )
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "currency"
    assert accepted.status_code == 201 and accepted.json()["currency"] == "USD"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("ratings", {"industry_leadership": "1e999999", "rationale": "x"}, "industry_leadership"),
        ("ratings", {"product_fit": "NaN", "rationale": "x"}, "product_fit"),
        ("ratings", {"expected_growth_pct": "Infinity", "rationale": "x"}, "expected_growth_pct"),
        ("ratings", {"channel_value": "10.00001", "rationale": "x"}, "channel_value"),
        ("ratings", {"reference_value": "11", "rationale": "x"}, "reference_value"),
    ],
)
async def test_every_number_in_a_request_is_bounded(sqlite_database, path, body, field):
    app = scoring_app(await sqlite_database("scoring"))
    async with running_with_people(app) as client:
        account_id = (await client.post("/accounts", json=account_payload(), headers=SUP)).json()["id"]
        refused = await client.put(f"/accounts/{account_id}/{path}", json=body, headers=SUP)
        listed = await client.get("/accounts", headers=SUP)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == field
    assert listed.status_code == 200


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda m: m["indicators"][0].update(weight="1e999999"), "definition.indicators.0.weight"),
        (
            lambda m: m["indicators"][0]["normalisation"].update(max="Infinity"),
            "definition.indicators.0.normalisation.max",
        ),
        (lambda m: m["tiers"]["thresholds"].update(key="1e400"), "definition.tiers.thresholds.key"),
    ],
)
async def test_the_numbers_of_a_model_are_bounded(sqlite_database, change, field):
    app = scoring_app(await sqlite_database("scoring"))
    model = {
        **SIMPLE_MODEL,
        "indicators": [dict(i, normalisation=dict(i["normalisation"])) for i in SIMPLE_MODEL["indicators"]],
        "tiers": {"thresholds": dict(SIMPLE_MODEL["tiers"]["thresholds"])},
    }
    change(model)
    async with running_with_people(app) as client:
        refused = await client.post("/scoring/models", json={"name": "m", "definition": model}, headers=SUP)
        models = await client.get("/scoring/models", headers=SUP)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == field
    assert models.status_code == 200 and len(models.json()) == 1


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/%14",
        "/accounts/not-an-id/score",
        "/accounts/1%20OR%201=1/tier-history",
        "/scoring/jobs/job-1",
        "/scoring/models/99999999999999999999",
    ],
)
async def test_ids_in_paths_are_checked_before_any_lookup(sqlite_database, path):
    app = scoring_app(await sqlite_database("scoring"))
    async with running_with_people(app) as client:
        response = await client.get(path, headers=SUP)
        unknown = await client.get("/accounts/00000000-0000-0000-0000-000000000000", headers=SUP)
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    assert unknown.status_code == 404
