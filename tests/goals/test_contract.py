"""The input contract of goals: every request body is a ``shared.api.RequestBody`` (unknown fields are a 422
naming them, no mass assignment), strings and ids are bounded, ids in paths are UUIDs where they are UUIDs."""

from __future__ import annotations

import types
import uuid
from typing import Any, Union, get_args, get_origin

from fastapi.routing import APIRoute
from pydantic import BaseModel

from services.goals.app import SPEC
from shared.api import RequestBody
from tests.goals.helpers import SUPERVISOR, create_target, goals_app, register_account, register_team
from tests.support import running


def _models_in(annotation: Any) -> set[type[BaseModel]]:
    """Pydantic models an annotation refers to (through lists, dicts, unions, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found = {annotation}
        for info in annotation.model_fields.values():
            found |= _models_in(info.annotation)
        return found
    if get_origin(annotation) in (list, dict, tuple, set, Union, types.UnionType) or get_args(annotation):
        return set().union(*(_models_in(a) for a in get_args(annotation)))
    return set()


def request_body_models() -> dict[type[BaseModel], list[str]]:
    """Every model a goals route reads from a request body (nested ones too), with the routes that read it."""
    models: dict[type[BaseModel], list[str]] = {}
    for router in SPEC.routers:
        for route in router.routes:
            if isinstance(route, APIRoute) and route.body_field is not None:
                for model in _models_in(route.body_field.field_info.annotation):
                    models.setdefault(model, []).append(f"{sorted(route.methods)[0]} {route.path}")
    return models


def test_every_request_body_model_of_goals_is_a_request_body():
    models = request_body_models()
    names = {m.__name__ for m in models}
    # The walk sees the nested models too (a batch's targets, a recording's lines).
    assert {"TargetCreate", "TargetBatch", "SalesRecordIn", "ActualsIn", "ActionItemUpdate"} <= names
    plain = {m.__name__: routes for m, routes in models.items() if not issubclass(m, RequestBody)}
    assert plain == {}, f"request bodies that do not inherit shared.api.RequestBody: {plain}"


async def test_mass_assignment_of_ids_status_version_and_owner_is_refused_naming_the_field(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        await register_team(app)
        account = await register_account(app, name="批量赋值客户")
        target = await create_target(client, account_id=account, metric="revenue", period="2026", target_value="10")
        item = (
            await client.post(
                f"/goals/targets/{target['id']}/actions",
                json={"title": "拜访", "owner_id": "am-li", "due_date": "2026-08-01"},
                headers=SUPERVISOR,
            )
        ).json()
        new = {"account_id": account, "metric": "revenue", "period": "2026-Q3", "target_value": "1"}
        line = {"account_id": account, "date": "2026-03-01", "product_line": "工业网关", "revenue": "1", "cost": "0"}
        for method, path, body, field in (
            ("POST", "/goals/targets", {**new, "id": str(uuid.uuid4())}, "id"),
            ("POST", "/goals/targets", {**new, "status": "approved"}, "status"),
            ("POST", "/goals/targets", {**new, "approved_by": "sup-wang"}, "approved_by"),
            ("POST", "/goals/targets/batch", {"targets": [{**new, "version": 9}]}, "targets.0.version"),
            ("PATCH", f"/goals/targets/{target['id']}", {"version": 7}, "version"),
            ("PATCH", f"/goals/targets/{target['id']}", {"status": "approved"}, "status"),
            ("PATCH", f"/goals/targets/{target['id']}", {"owner_id": "am-zhang"}, "owner_id"),
            ("PATCH", f"/goals/targets/{target['id']}", {"account_id": account}, "account_id"),
            ("PATCH", f"/goals/actions/{item['id']}", {"target_id": str(uuid.uuid4())}, "target_id"),
            ("PATCH", f"/goals/actions/{item['id']}", {"completed_at": "2026-01-01T00:00:00Z"}, "completed_at"),
            ("POST", "/goals/actuals", {"records": [{**line, "id": 1}]}, "records.0.id"),
            ("POST", "/goals/actuals", {"records": [line], "batch_id": "x"}, "batch_id"),
            ("POST", f"/goals/targets/{target['id']}/split", {"into": "quarters", "status": "approved"}, "status"),
        ):
            response = await client.request(method, path, json=body, headers=SUPERVISOR)
            assert response.status_code == 422, (method, path, response.text)
            assert [e["field"] for e in response.json()["errors"]] == [field], response.text
            assert field in response.json()["detail"]
        after = (await client.get(f"/goals/targets/{target['id']}", headers=SUPERVISOR)).json()
        assert (after["status"], after["version"], after["owner_id"]) == ("draft", 1, "am-li")


async def test_strings_ids_and_import_options_are_bounded(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        await register_team(app)
        account = await register_account(app, name="边界客户")
        target = await create_target(client, account_id=account, metric="revenue", period="2026", target_value="10")
        long_note = await client.patch(f"/goals/targets/{target['id']}", json={"note": "注" * 4001}, headers=SUPERVISOR)
        assert long_note.status_code == 422 and long_note.json()["errors"][0]["field"] == "note"
        for path, params, field in (
            ("/goals/targets/not-a-uuid", {}, "target_id"),
            ("/goals/targets/1%20OR%201=1/rollup", {}, "target_id"),
            ("/goals/targets", {"owner_id": "x" * 101}, "owner_id"),
            ("/goals/targets", {"metric": "everything"}, "metric"),
            ("/goals/actions", {"account_id": "x" * 37}, "account_id"),
            ("/goals/team-targets", {"period": "2026" * 10}, "period"),
            (f"/goals/accounts/{'x' * 37}/actuals", {}, "account_id"),
            ("/goals/imports/" + "b" * 101, {}, "batch_id"),
            ("/goals/fx-rates", {"currency": "usd"}, "currency"),
        ):
            response = await client.get(path, params=params, headers=SUPERVISOR)
            assert response.status_code == 422, (path, response.text)
            assert response.json()["errors"][0]["field"] == field, response.text
        # A random UUID that names nothing is a plain 404.
        assert (await client.get(f"/goals/targets/{uuid.uuid4()}", headers=SUPERVISOR)).status_code == 404
        for params, field in (
            ({"batch_id": "b" * 101}, "batch_id"),
            ({"batch_id": "ok", "filename": "f" * 301}, "filename"),
        ):
            response = await client.post("/goals/imports", params=params, content=b"x", headers=SUPERVISOR)
            assert response.status_code == 422 and response.json()["errors"][0]["field"] == field, response.text
