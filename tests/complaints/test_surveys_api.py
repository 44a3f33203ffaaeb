"""Surveys over the complaints API: unknown fields and bad input (422 naming the field), paging and filters, the
owner's own entry (marked owner), the respond endpoints only for the survey page's role, and a complaint's revisit
answered by the customer (marked customer)."""

from __future__ import annotations

import uuid

from services.complaints.surveys.links import token_hash
from shared.clock import FrozenClock
from shared.events import ContactChanged
from tests.complaints.helpers import (
    LI,
    MONDAY_9AM_BEIJING,
    SUPERVISOR,
    VIEWER,
    ZHANG,
    make_app,
    open_complaint,
    register_account,
)
from tests.support import auth, running

RESPONDER = auth("survey_responder", user_id="survey-page", kind="service")


async def _contact(app, account_id: str, level: str, language: str = "zh-CN") -> str:
    contact_id = str(uuid.uuid4())
    event = ContactChanged(
        source="scoring",
        account_id=account_id,
        data={"contact_id": contact_id, "name": f"王{level}", "level": level, "language": language},
    )
    await app.state.consumer.process(event)
    return contact_id


async def test_bad_input_is_a_422_naming_the_field(make_database):
    app = make_app(await make_database("complaints"), FrozenClock(MONDAY_9AM_BEIJING), survey_schedule_enabled=False)
    async with running(app, headers=SUPERVISOR) as client:
        base = {"name": "战略客户高层", "tier": "strategic", "contact_level": "executive", "cadence": "yearly"}
        cases = [
            ("/complaints/surveys/schedules", {**base, "template_code": "relationship", "colour": "red"}, "colour"),
            ("/complaints/surveys/schedules", {**base, "template_code": "relationship", "tier": "gold"}, "tier"),
            ("/complaints/surveys/schedules", {**base, "template_code": "nope-never"}, "template_code"),
            ("/complaints/surveys/schedules", {**base, "cadence": "hourly", "template_code": "x-y"}, "cadence"),
            (
                "/complaints/surveys/templates",
                {"code": "x1", "name_zh": "甲", "name_en": "A", "questions": [{"key": "c", "kind": "text",
                 "text_zh": "说", "text_en": "say"}]},
                "questions",
            ),
            ("/complaints/surveys/requests", {"account_id": "a", "template_code": "relationship"}, "contact_id"),
        ]  # fmt: skip
        for path, body, field in cases:
            response = await client.post(path, json=body)
            assert response.status_code == 422, (path, body, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert field in response.text, (field, response.text)
        assert (await client.get("/complaints/surveys/requests/not-a-uuid")).status_code == 422
        assert (await client.get("/complaints/surveys/requests?limit=501")).status_code == 422
        assert (await client.get("/complaints/surveys/results?granularity=week")).status_code == 422
        backwards = await client.get("/complaints/surveys/results?from=2026-12-01&to=2026-01-01")
        assert backwards.status_code == 422 and [e["field"] for e in backwards.json()["errors"]] == ["from"]
        assert (await client.get("/complaints/surveys/results?from=2026-01-01&to=2026-12-01")).status_code == 200


async def test_templates_and_schedules_page_and_filter_and_only_supervisors_keep_them(make_database):
    app = make_app(await make_database("complaints"), FrozenClock(MONDAY_9AM_BEIJING), survey_schedule_enabled=False)
    async with running(app, headers=SUPERVISOR) as client:
        for tier in ("strategic", "key", "growth"):
            body = {"name": f"{tier} 决策层", "tier": tier, "contact_level": "decision", "cadence": "quarterly",
                    "template_code": "relationship"}  # fmt: skip
            assert (await client.post("/complaints/surveys/schedules", json=body)).status_code == 201
        page = (await client.get("/complaints/surveys/schedules?limit=2&offset=1")).json()
        assert page["total"] == 3 and len(page["items"]) == 2 and page["offset"] == 1
        only = (await client.get("/complaints/surveys/schedules?tier=key")).json()
        assert only["total"] == 1 and only["items"][0]["tier_label"] == "重点客户"
        assert only["items"][0]["cadence_label"] == "每季度" and only["items"][0]["contact_level_label"] == "决策层"
        templates = (await client.get("/complaints/surveys/templates?state=published")).json()
        assert {t["code"] for t in templates["items"]} == {"relationship", "complaint-revisit"}
        assert templates["items"][0]["state_label"] == "已发布"
        denied = await client.post("/complaints/surveys/schedules", json=body, headers=LI)
        assert denied.status_code == 403
        assert (await client.post("/complaints/surveys/schedules/run", headers=VIEWER)).status_code == 403


async def test_the_owner_enters_an_answer_marked_owner_and_another_manager_gets_404(make_database):
    app = make_app(await make_database("complaints"), FrozenClock(MONDAY_9AM_BEIJING), survey_schedule_enabled=False)
    async with running(app, headers=LI) as client:
        account = await register_account(app, tier="strategic", owner_id="am-li")
        contact = await _contact(app, account, "execution", "en")
        body = {"account_id": account, "template_code": "relationship", "contact_id": contact}
        created = await client.post("/complaints/surveys/requests", json=body)
        assert created.status_code == 201, created.text
        request = created.json()
        assert request["language"] == "en" and request["link"]["path"] == f"/s/{request['link']['token']}"
        assert (await client.get(f"/complaints/surveys/requests/{request['id']}", headers=ZHANG)).status_code == 404
        assert (await client.post("/complaints/surveys/requests", json=body, headers=ZHANG)).status_code == 404
        answer = await client.post(
            f"/complaints/surveys/requests/{request['id']}/answer", json={"answers": {"nps": 8, "csat": 4}}
        )
        assert answer.status_code == 201, answer.text
        assert answer.json()["answered_by"] == "owner" and answer.json()["entered_by"] == "am-li"
        assert answer.json()["answered_by_label"] == "负责人代录"
        again = await client.post(f"/complaints/surveys/requests/{request['id']}/answer", json={"answers": {"nps": 8}})
        assert again.status_code == 410
        listed = (await client.get(f"/complaints/surveys/requests?account_id={account}&state=answered")).json()
        assert listed["total"] == 1 and listed["items"][0]["state_label"] == "已答复"
        assert "token" not in listed["items"][0] and listed["items"][0]["link_issued"] is True
        results = (await client.get(f"/complaints/surveys/results?account_id={account}")).json()
        assert results["overall"]["asked"] == 1 and results["overall"]["nps"] == "0.00"  # one passive
        assert results["by_level"]["execution"]["csat"] == "4.00" and results["items"][0]["period"] == "2026-Q1"
        view = (await client.get(f"/complaints/views/accounts/{account}")).json()
        assert view["surveys"]["response_rate"] == 100.0 and view["surveys"]["csat"] == 4.0


async def test_respond_takes_only_the_survey_page_role_and_a_customer_revisit_is_marked_customer(make_database):
    app = make_app(await make_database("complaints"), FrozenClock(MONDAY_9AM_BEIJING), survey_schedule_enabled=False)
    async with running(app, headers=SUPERVISOR) as client:
        account = await register_account(app, tier="key", owner_id="am-li")
        complaint = await open_complaint(client, account)
        await client.post(f"/complaints/{complaint['id']}/acknowledge", json={"message": "收到"})
        await client.post(f"/complaints/{complaint['id']}/resolve", json={"message": "已更换"})
        body = {"account_id": account, "kind": "revisit", "template_code": "complaint-revisit",
                "complaint_id": complaint["id"]}  # fmt: skip
        created = (await client.post("/complaints/surveys/requests", json=body, headers=LI)).json()
        token = created["link"]["token"]
        path = f"/complaints/surveys/respond/{token}"
        for who in (SUPERVISOR, auth("admin"), LI):
            assert (await client.get(path, headers=who)).status_code == 403
        page = await client.get(path, headers=RESPONDER)
        assert page.status_code == 200
        assert set(page.json()) == {
            "state",
            "language",
            "company_name",
            "title_zh",
            "title_en",
            "questions",
            "expires_at",
        }
        assert account not in page.text and "华为" not in page.text
        unknown = await client.get(f"/complaints/surveys/respond/{'A' * 43}", headers=RESPONDER)
        assert unknown.status_code == 404
        answered = await client.post(path, json={"answers": {"csat": 5, "comment": "很满意"}}, headers=RESPONDER)
        assert answered.status_code == 200, answered.text
        assert (await client.post(path, json={"answers": {"csat": 5}}, headers=RESPONDER)).status_code == 410
        detail = (await client.get(f"/complaints/{complaint['id']}")).json()
    assert detail["state"] == "revisited" and detail["satisfaction"] == 5
    assert [r["answered_by"] for r in detail["revisits"]] == ["customer"]
    assert created["id"] and token_hash(token) != token
