"""The closed loop in depth (issue 13 item 10): revisit waivers (a supervisor's, a reason from the list, never with
a score), the reopen in the customer's history, MTTR and SLA compliance over every leg of a reopened case with
paused time excluded, analytics by tier, severity, owner and category with 中文 labels, and the per-complaint
export as XLSX and as CSV with a BOM."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import httpx
from openpyxl import load_workbook

from services.complaints.improvement.export import HEADERS
from shared.clock import FrozenClock
from tests.complaints.helpers import (
    LI,
    MONDAY_9AM_BEIJING,
    SUPERVISOR,
    make_app,
    open_complaint,
    register_account,
)
from tests.support import running


async def step(client: httpx.AsyncClient, cid: str, action: str, body: dict[str, Any], headers=SUPERVISOR) -> None:
    response = await client.post(f"/complaints/{cid}/{action}", json=body, headers=headers)
    assert response.status_code == 200, (action, response.text)


async def test_a_revisit_waiver_is_a_supervisors_with_a_listed_reason_and_never_with_a_score(make_database):
    app = make_app(await make_database("complaints"), FrozenClock(MONDAY_9AM_BEIJING))
    cases: list[tuple[str, dict[str, str], dict[str, Any], int, str | None]] = [
        ("a manager's waiver", LI, {"waiver_reason": "customer_declined"}, 403, None),
        ("a free-text reason", SUPERVISOR, {"waiver_reason": "客户不想回访"}, 422, "waiver_reason"),
        (
            "a score and a waiver",
            SUPERVISOR,
            {"satisfaction": 4, "comment": "好", "waiver_reason": "contact_left"},
            422,
            "waiver_reason",
        ),
        ("a listed reason", SUPERVISOR, {"waiver_reason": "contact_left", "comment": "联系人已离职"}, 200, None),
    ]
    async with running(app) as client:
        account_id = await register_account(app)
        cid = (await open_complaint(client, account_id))["id"]
        await step(client, cid, "acknowledge", {"message": "已收到"})
        await step(client, cid, "resolve", {"message": "已更换"})
        for case, headers, body, status, field in cases:
            response = await client.post(f"/complaints/{cid}/revisit", json=body, headers=headers)
            assert response.status_code == status, (case, response.text)
            if field is not None:
                assert field in [e["field"].split(".")[-1] for e in response.json()["errors"]], case
        detail = (await client.get(f"/complaints/{cid}", headers=SUPERVISOR)).json()
    assert detail["state"] == "revisited" and detail["waived"] is True
    assert [(r["waiver_reason"], r["by"]) for r in detail["revisits"]] == [("contact_left", "sup-wang")]


async def test_mttr_and_compliance_count_every_leg_of_a_reopened_case_without_paused_time(make_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await make_database("complaints"), clock)
    async with running(app) as client:
        account_id = await register_account(app, name="宁德时代", tier="strategic")
        cid = (await open_complaint(client, account_id, severity="low"))["id"]  # strategic low: 168 h to resolve

        async def at(hours: float, action: str, body: dict[str, Any]) -> None:
            clock.set(MONDAY_9AM_BEIJING + timedelta(hours=hours))
            await step(client, cid, action, body)

        # leg 1: 0 → 10 h, paused 2 → 5 h; leg 2: reopened 20 → 26 h; leg 3: reopened (low score) 30 → 34 h
        await at(0.5, "acknowledge", {"message": "已收到"})
        await at(1, "propose-solution", {"message": "方案：更换"})
        await at(2, "pause", {"reason": "等待客户确认"})
        await at(5, "resume", {})
        await at(10, "resolve", {"message": "已更换"})
        await at(20, "reopen", {"reason": "问题再次出现"})
        await at(26, "resolve", {"message": "再次更换"})
        await at(30, "revisit", {"satisfaction": 1, "comment": "还是不行"})
        await at(34, "resolve", {"message": "根治"})
        report = (await client.get("/complaints/analytics", headers=SUPERVISOR)).json()
        customer = (await client.get(f"/complaints/{cid}/timeline?visibility=customer", headers=SUPERVISOR)).json()
    hand_sum_minus_paused = (10 + (26 - 20) + (34 - 30)) * 60 - (5 - 2) * 60
    assert hand_sum_minus_paused == 1020
    assert report["resolution_minutes"] == {"mean": 1020.0, "median": 1020.0}
    assert report["resolution_compliance"] == {"met": 3, "judged": 3, "rate": 1.0}
    # the customer's history shows each reopen
    reopened = [e for e in customer if e["kind"] == "case_reopened"]
    assert [e["data"]["reopen_count"] for e in reopened] == [1, 2]


async def _export_world(client: httpx.AsyncClient, app: Any) -> dict[str, str]:
    strategic = await register_account(app, name="宁德时代", tier="strategic")
    plain = await register_account(app, name="比亚迪", owner_id="am-zhang")
    first = await open_complaint(client, strategic, severity="critical", title='=HYPERLINK("http://x")')
    second = await open_complaint(client, plain, severity="low", category="delivery_timeliness")
    return {"strategic": first["id"], "plain": second["id"]}


async def test_analytics_by_tier_severity_owner_category_with_chinese_labels(make_database):
    app = make_app(await make_database("complaints"), FrozenClock(MONDAY_9AM_BEIJING))
    async with running(app) as client:
        await _export_world(client, app)
        report = (await client.get("/complaints/analytics", headers=SUPERVISOR)).json()
    assert report["by_tier"] == {"default": 1, "strategic": 1}
    assert report["by_severity"] == {"critical": 1, "low": 1}
    assert report["by_owner"] == {"am-li": 1, "am-zhang": 1}
    assert report["by_category"] == {"delivery_timeliness": 1, "product_quality": 1}
    assert report["labels"]["tier"] == {"default": "未分级", "strategic": "战略客户"}
    assert report["labels"]["severity"] == {"critical": "紧急", "low": "低"}
    assert report["labels"]["category"]["product_quality"] == "产品质量"
    assert report["labels"]["owner"] == {"am-li": "am-li", "am-zhang": "am-zhang"}  # the users' display names
    assert {a["name"] for a in report["by_account"]} == {"宁德时代", "比亚迪"}


async def test_the_per_complaint_export_opens_as_excel_would_with_chinese_labels(make_database):
    app = make_app(await make_database("complaints"), FrozenClock(MONDAY_9AM_BEIJING))
    async with running(app) as client:
        ids = await _export_world(client, app)
        xlsx = await client.get("/complaints/analytics/complaints.xlsx", headers=SUPERVISOR)
        csv_response = await client.get("/complaints/analytics/complaints.csv", headers=SUPERVISOR)
        backwards = {
            path: await client.get(
                path,
                params={"from": "2026-03-02T00:00:00+08:00", "to": "2026-03-01T00:00:00+08:00"},
                headers=SUPERVISOR,
            )
            for path in ("/complaints/analytics/complaints.xlsx", "/complaints/analytics/complaints.csv")
        }
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None and sheet.title == "投诉明细"
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert csv_response.content.startswith(b"\xef\xbb\xbf")
    csv_rows = list(csv.reader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    for table in (rows, csv_rows):
        assert tuple(table[0]) == HEADERS
        by_id = {row[0]: row for row in table[1:]}
        strategic = by_id[ids["strategic"]]
        assert strategic[1] == '\'=HYPERLINK("http://x")'  # never run as a formula
        assert strategic[2:8] == ["宁德时代", "战略客户", "紧急", "产品质量", "新建", "am-li"]
        assert strategic[8] == "2026-03-02 09:00"  # Beijing time
        assert by_id[ids["plain"]][2:5] == ["比亚迪", "未分级", "低"]
    for path, response in backwards.items():
        assert response.status_code == 422, path
        assert response.json()["errors"][0]["field"] == "from", path
