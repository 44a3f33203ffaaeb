"""One contract for input: every request body refuses unknown fields (422 naming them), every number and amount is
bounded, currencies are ISO 4217, ids in paths are UUIDs, URLs are http(s), CSV cells never run as formulas."""

from __future__ import annotations

import types
import typing
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import params
from fastapi.routing import APIRoute
from pydantic import BaseModel

from services.complaints.app import SPEC
from services.complaints.improvement.analytics import ComplaintFacts, analytics_csv, compute_analytics
from shared.api import RequestBody
from shared.clock import FrozenClock
from shared.events import ContactChanged
from tests.complaints.helpers import LI, MONDAY_9AM_BEIJING, SUPERVISOR, make_app, open_complaint, register_account
from tests.support import running

DUE = "2026-03-03T10:00:00+08:00"
# A valid body for every operation of the complaints API that takes JSON (keyed by method and path template).
EXAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/complaints"): {"account_id": "{account_id}", "title": "t", "description": "d", "category": "other"},
    ("post", "/complaints/{complaint_id}/acknowledge"): {"message": "收到"},
    ("post", "/complaints/{complaint_id}/investigate"): {"message": "核查"},
    ("post", "/complaints/{complaint_id}/propose-solution"): {"message": "方案"},
    ("post", "/complaints/{complaint_id}/pause"): {"reason": "等待客户"},
    ("post", "/complaints/{complaint_id}/resolve"): {"message": "已解决"},
    ("post", "/complaints/{complaint_id}/revisit"): {"satisfaction": 4, "comment": "满意"},
    ("post", "/complaints/{complaint_id}/close"): {"message": "结案"},
    ("post", "/complaints/{complaint_id}/reopen"): {"reason": "复发"},
    ("post", "/complaints/{complaint_id}/escalate"): {"reason": "升级"},
    ("post", "/complaints/{complaint_id}/assign"): {"owner_id": "qa-sun", "reason": "轮岗"},
    ("post", "/complaints/{complaint_id}/notes"): {"body": "备注", "visibility": "internal"},
    ("post", "/complaints/{complaint_id}/tasks"): {
        "department": "quality",
        "title": "失效分析",
        "assignee_id": "qa-sun",
        "due_at": DUE,
    },
    ("patch", "/complaints/{complaint_id}/tasks/{task_id}"): {"status": "done"},
    ("put", "/complaints/{complaint_id}/root-cause"): {"category": "product_quality", "description": "来料不良"},
    ("post", "/complaints/{complaint_id}/actions"): {
        "kind": "preventive",
        "description": "抽检",
        "owner_id": "qa-sun",
        "due_at": DUE,
    },
    ("patch", "/complaints/{complaint_id}/actions/{action_id}"): {"status": "done"},
    ("post", "/complaints/{complaint_id}/actions/{action_id}/verification"): {"effective": True, "note": "复检合格"},
    ("post", "/complaints/{complaint_id}/remedies"): {"kind": "discount", "description": "九五折", "value": "10.5"},
    ("post", "/complaints/{complaint_id}/remedies/{remedy_id}/decision"): {"approve": True},
    ("put", "/complaints/categories/{code}"): {"label_zh": "安装", "label_en": "Installation"},
    ("put", "/complaints/severity-matrix"): {
        "cells": [
            {"impact": i, "urgency": u, "severity": "medium"}
            for i in ("low", "medium", "high")
            for u in ("low", "medium", "high")
        ]
    },
    ("put", "/complaints/escalation-ladders/{tier}"): {"rungs": [{"user_id": "sup-wang"}, {"role": "admin"}]},
    ("put", "/complaints/sla-policies/{tier}/{severity}"): {
        "first_response_minutes": 60,
        "update_interval_minutes": 60,
        "resolution_minutes": 600,
    },
    ("put", "/complaints/calendars/{code}/{year}"): {"day_start": "09:00", "day_end": "18:00", "holidays": []},
    ("post", "/complaints/sla-preview"): {"tier": "key", "severity": "high", "received_at": DUE},
    ("post", "/complaints/surveys/templates"): {"code": "t-new", "name_zh": "调研", "name_en": "Survey", "questions": [
        {"key": "nps", "kind": "nps", "text_zh": "推荐？", "text_en": "Recommend?"}]},
    ("patch", "/complaints/surveys/templates/{template_id}"): {"name_zh": "新名称"},
    ("post", "/complaints/surveys/schedules"): {"name": "s", "tier": "key", "contact_level": "decision",
                                                "cadence": "yearly", "template_code": "relationship"},
    ("patch", "/complaints/surveys/schedules/{schedule_id}"): {"active": False},
    ("post", "/complaints/surveys/deliveries"): {"account_id": "{account_id}", "delivery_ref": "DN-1"},
    ("post", "/complaints/surveys/requests"): {"account_id": "{account_id}", "template_code": "relationship",
                                               "contact_id": "{contact_id}"},
    ("post", "/complaints/surveys/requests/{request_id}/answer"): {"answers": {"nps": 9, "csat": 5}},
    ("post", "/complaints/surveys/follow-ups/{follow_up_id}/done"): {"note": "已回访"},
}  # fmt: skip


PLATFORM_ADMIN = "/complaints/admin/outbox/"


def _json_operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
        and not path.startswith(PLATFORM_ADMIN)  # the shared admin routes: tests/platform/test_admin_routes.py
    }


def _fill(value: Any, ids: dict[str, str]) -> Any:
    return value.format(**ids) if isinstance(value, str) and "{" in value else value


async def test_every_json_body_refuses_an_unknown_field_by_name(sqlite_database):
    app = make_app(await sqlite_database("complaints"), FrozenClock(MONDAY_9AM_BEIJING))
    assert _json_operations(app.openapi()) == set(EXAMPLES), "give every JSON operation an example here"
    async with running(app, headers=SUPERVISOR) as client:
        account_id = await register_account(app)
        complaint = await open_complaint(client, account_id)
        cid = complaint["id"]
        task = await client.post(
            f"/complaints/{cid}/tasks", json=EXAMPLES[("post", "/complaints/{complaint_id}/tasks")]
        )
        action = await client.post(
            f"/complaints/{cid}/actions", json=EXAMPLES[("post", "/complaints/{complaint_id}/actions")]
        )
        remedy = await client.post(
            f"/complaints/{cid}/remedies", json=EXAMPLES[("post", "/complaints/{complaint_id}/remedies")], headers=LI
        )
        ids = {
            **await _survey_ids(app, client, account_id),
            "account_id": account_id,
            "complaint_id": cid,
            "task_id": task.json()["id"],
            "action_id": action.json()["id"],
            "remedy_id": remedy.json()["id"],
            "code": "CN",
            "year": "2027",
            "tier": "key",
            "severity": "low",
        }
        refused = {}
        for (method, path), example in sorted(EXAMPLES.items()):
            url = path.format(**ids)
            if path == "/complaints/categories/{code}":
                url = "/complaints/categories/installation"
            body = {k: _fill(v, ids) for k, v in example.items()} | {"zz_unknown": 1}
            refused[(method, path)] = await client.request(method.upper(), url, json=body)
    for operation, response in refused.items():
        assert response.status_code == 422, (operation, response.text)
        assert [e["field"] for e in response.json()["errors"]] == ["zz_unknown"], (operation, response.text)
        assert "zz_unknown" in response.json()["detail"]


async def _survey_ids(app, client, account_id: str) -> dict[str, str]:
    """A template, a schedule, a pending request and an open follow-up (from a low answer) to aim the bodies at."""
    contact_id = str(uuid.uuid4())
    data = {"contact_id": contact_id, "name": "王总", "level": "decision"}
    await app.state.consumer.process(ContactChanged(source="scoring", account_id=account_id, data=data))
    template = (await client.get("/complaints/surveys/templates", params={"code": "relationship"})).json()["items"][0]
    schedule = await client.post(
        "/complaints/surveys/schedules", json=EXAMPLES[("post", "/complaints/surveys/schedules")]
    )
    asked = {"account_id": account_id, "template_code": "relationship", "contact_id": contact_id}
    pending = (await client.post("/complaints/surveys/requests", json=asked)).json()
    low = (await client.post("/complaints/surveys/requests", json=asked)).json()
    answer = await client.post(
        f"/complaints/surveys/requests/{low['id']}/answer", json={"answers": {"nps": 1, "csat": 1}}
    )
    return {
        "contact_id": contact_id,
        "template_id": template["id"],
        "schedule_id": schedule.json()["id"],
        "request_id": pending["id"],
        "follow_up_id": answer.json()["follow_up_id"],
    }


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models inside an annotation (``X | None``, ``list[X]`` …)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        for arg in typing.get_args(annotation):
            found += _models(arg)
    return found


def _request_models(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[type[BaseModel]]:
    if model in seen:
        return set()
    seen.add(model)
    found = {model}
    for info in model.model_fields.values():
        for nested in _models(info.annotation):
            found |= _request_models(nested, seen)
    return found


def test_every_request_body_model_and_its_nested_models_subclass_request_body():
    models: set[type[BaseModel]] = set()
    for router in SPEC.routers:
        for route in router.routes:
            if not isinstance(route, APIRoute) or route.body_field is None:
                continue
            if isinstance(route.body_field.field_info, params.File):  # a multipart upload: no JSON fields to refuse
                continue
            for model in _models(route.body_field.field_info.annotation):
                models |= _request_models(model, set())
    assert len(models) >= 20
    assert [m.__name__ for m in models if not issubclass(m, RequestBody)] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "元"}, "currency"),
        ({"currency": "cny"}, "currency"),
        ({"value": "1e999999"}, "value"),
        ({"value": "NaN"}, "value"),
        ({"value": "-1"}, "value"),
        ({"value": "0.00001"}, "value"),
        ({"id": "mine", "status": "approved"}, "id"),  # no mass assignment of what the server decides
    ],
)
async def test_a_remedy_amount_is_bounded_and_its_currency_iso_4217(sqlite_database, body, field):
    app = make_app(await sqlite_database("complaints"), FrozenClock(MONDAY_9AM_BEIJING))
    async with running(app, headers=SUPERVISOR) as client:
        complaint = await open_complaint(client, await register_account(app))
        response = await client.post(
            f"/complaints/{complaint['id']}/remedies",
            json={"kind": "discount", "description": "九五折", "value": "100", **body},
        )
        usd = await client.post(
            f"/complaints/{complaint['id']}/remedies",
            json={"kind": "credit_note", "description": "返还", "value": "99.5", "currency": "USD"},
        )
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
    assert usd.status_code == 201 and (usd.json()["value"], usd.json()["currency"]) == ("99.5", "USD")


async def test_numbers_ids_and_urls_are_bounded(sqlite_database):
    app = make_app(await sqlite_database("complaints"), FrozenClock(MONDAY_9AM_BEIJING))
    async with running(app, headers=SUPERVISOR) as client:
        account_id = await register_account(app)
        complaint = await open_complaint(client, account_id)
        cid = complaint["id"]
        ratio = await client.put(
            "/complaints/sla-policies/key/low",
            json={
                "first_response_minutes": 60,
                "update_interval_minutes": 60,
                "resolution_minutes": 60,
                "warning_ratio": "1e999999",
            },
        )
        minutes = await client.put(
            "/complaints/sla-policies/key/low",
            json={"first_response_minutes": 10**12, "update_interval_minutes": 60, "resolution_minutes": 60},
        )
        not_a_uuid = await client.get("/complaints/not-a-uuid")
        random_uuid = await client.get("/complaints/00000000-0000-4000-8000-000000000000")
        link = await open_complaint_raw(client, account_id, [{"filename": "x.jpg", "url": "javascript:alert(1)"}])
        huge = await open_complaint_raw(client, account_id, [{"filename": "x.jpg", "size_bytes": 10**30}])
        await client.post(f"/complaints/{cid}/acknowledge", json={"message": "收到"})
        await client.post(f"/complaints/{cid}/resolve", json={"message": "好"})
        score = await client.post(f"/complaints/{cid}/revisit", json={"satisfaction": 6, "comment": "好"})
        long_title = await open_complaint_raw(client, account_id, [], title="长" * 301)
    assert ratio.status_code == 422 and ratio.json()["errors"][0]["field"] == "warning_ratio"
    assert minutes.status_code == 422 and minutes.json()["errors"][0]["field"] == "first_response_minutes"
    assert not_a_uuid.status_code == 422 and not_a_uuid.json()["errors"][0]["field"] == "complaint_id"
    assert random_uuid.status_code == 404
    assert link.status_code == 422 and link.json()["errors"][0]["field"] == "attachments.0.url"
    assert huge.status_code == 422 and huge.json()["errors"][0]["field"] == "attachments.0.size_bytes"
    assert score.status_code == 422 and score.json()["errors"][0]["field"] == "satisfaction"
    assert long_title.status_code == 422 and long_title.json()["errors"][0]["field"] == "title"


async def open_complaint_raw(client: Any, account_id: str, attachments: list[dict[str, Any]], title: str = "t") -> Any:
    body = {"account_id": account_id, "title": title, "description": "d", "category": "other"}
    return await client.post("/complaints", json=body | {"attachments": attachments})


def test_csv_cells_never_start_a_formula():
    facts = [
        ComplaintFacts(
            complaint_id="c",
            account_id='=HYPERLINK("http://evil")',
            account_name="x",
            owner_id="@SUM(A1)",
            category="+cmd",
            severity="low",
            opened_at=datetime(2026, 3, 2, 1, tzinfo=UTC),
        )
    ]
    text = analytics_csv(compute_analytics(facts))
    cells = [cell for line in text.splitlines() for cell in line.split(",")]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")]
    assert "'@SUM(A1)" in text and "'+cmd" in text
