"""Intake and taxonomy (issue 13 item 7): category codes, sub-categories, the severity matrix, labels (中文/English),
channels and uploaded attachments."""

from __future__ import annotations

from typing import Any

from shared.clock import FrozenClock
from tests.complaints.helpers import LI, MONDAY_9AM_BEIJING, SUPERVISOR, VIEWER, ZHANG, make_app, register_account
from tests.support import running

LEVELS = ("low", "medium", "high")


def _intake(account_id: str, **kw: Any) -> dict[str, Any]:
    return {"account_id": account_id, "title": "电芯鼓包", "description": "客户反馈电芯鼓包", **kw}


async def test_category_codes_sub_categories_and_their_labels(make_database):
    app = make_app(await make_database("complaints"), FrozenClock(MONDAY_9AM_BEIJING))
    async with running(app, headers=SUPERVISOR) as client:
        account_id = await register_account(app)
        sub = {"label_zh": "电芯", "label_en": "Battery cells", "parent_code": "product_quality"}
        added = await client.put("/complaints/categories/battery_cells", json=sub)
        refused = {
            "self": await client.put("/complaints/categories/loop", json={**sub, "parent_code": "loop"}),
            "unknown parent": await client.put("/complaints/categories/x1", json={**sub, "parent_code": "nope"}),
            "grandchild": await client.put("/complaints/categories/x2", json={**sub, "parent_code": "battery_cells"}),
            "parent with children": await client.put(
                "/complaints/categories/product_quality", json={**sub, "parent_code": "other"}
            ),
        }
        bad_code_filter = await client.get("/complaints", params={"category": "Product-Quality"})
        bad_code_intake = await client.post("/complaints", json=_intake(account_id, category="Battery Cells"))
        opened = await client.post("/complaints", json=_intake(account_id, category="battery_cells"))
        by_parent = (await client.get("/complaints", params={"category": "product_quality"})).json()
        listed = (await client.get("/complaints/categories")).json()
    assert added.status_code == 200 and added.json()["parent_code"] == "product_quality"
    for why, response in refused.items():
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "parent_code", why
    assert bad_code_filter.status_code == 422 and bad_code_filter.json()["errors"][0]["field"] == "category"
    assert bad_code_intake.status_code == 422 and bad_code_intake.json()["errors"][0]["field"] == "category"
    body = opened.json()
    assert opened.status_code == 201 and body["category"] == "battery_cells"
    assert body["category_parent"] == "product_quality"
    assert body["labels"]["category"] == {"zh": "电芯", "en": "Battery cells"}
    assert body["labels"]["category_parent"] == {"zh": "产品质量", "en": "Product quality"}
    assert [c["id"] for c in by_parent["items"]] == [body["id"]]
    assert {"code": "battery_cells", "parent_code": "product_quality"}.items() <= {
        k: v for c in listed if c["code"] == "battery_cells" for k, v in c.items()
    }.items()


async def test_the_severity_matrix_is_kept_complete_and_intake_may_give_impact_and_urgency(sqlite_database):
    app = make_app(await sqlite_database("complaints"), FrozenClock(MONDAY_9AM_BEIJING))
    async with running(app, headers=SUPERVISOR) as client:
        account_id = await register_account(app)
        shown = await client.get("/complaints/severity-matrix")
        cells = [{"impact": i, "urgency": u, "severity": "high"} for i in LEVELS for u in LEVELS]
        incomplete = await client.put("/complaints/severity-matrix", json={"cells": cells[:-1]})
        twice = await client.put("/complaints/severity-matrix", json={"cells": [*cells[:-1], cells[0]]})
        cells[0] = {"impact": "low", "urgency": "low", "severity": "critical"}
        saved = await client.put("/complaints/severity-matrix", json={"cells": cells})
        derived = await client.post(
            "/complaints", json=_intake(account_id, category="other", impact="low", urgency="low")
        )
        refused = {
            "urgency": await client.post("/complaints", json=_intake(account_id, category="other", impact="high")),
            "severity": await client.post(
                "/complaints",
                json=_intake(account_id, category="other", severity="low", impact="low", urgency="low"),
            ),
        }
        plain = await client.post("/complaints", json=_intake(account_id, category="other", severity="low"))
    assert shown.status_code == 200 and len(shown.json()["cells"]) == 9
    assert {"impact": "high", "urgency": "high", "severity": "critical"}.items() <= shown.json()["cells"][0].items()
    assert incomplete.status_code == 422 and incomplete.json()["errors"][0]["field"] == "cells"
    assert "high/high" in incomplete.json()["detail"]
    assert twice.status_code == 422 and twice.json()["errors"][0]["field"] == "cells.8"
    assert saved.status_code == 200 and saved.json()["version"] == 2
    body = derived.json()
    assert derived.status_code == 201, derived.text
    assert (body["severity"], body["impact"], body["urgency"]) == ("critical", "low", "low")
    assert body["labels"]["severity"] == {"zh": "紧急", "en": "Critical"}
    assert body["labels"]["impact"] == {"zh": "低", "en": "Low"}
    for field, response in refused.items():
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == field, response.text
    assert plain.status_code == 201 and (plain.json()["severity"], plain.json()["impact"]) == ("low", None)


async def test_channels_are_closed_and_every_read_and_view_carries_labels(sqlite_database):
    app = make_app(await sqlite_database("complaints"), FrozenClock(MONDAY_9AM_BEIJING))
    async with running(app, headers=SUPERVISOR) as client:
        account_id = await register_account(app)
        wechat = await client.post("/complaints", json=_intake(account_id, category="other", channel="wechat"))
        opened = (
            await client.post("/complaints", json=_intake(account_id, category="product_quality", channel="wecom"))
        ).json()
        detail = (await client.get(f"/complaints/{opened['id']}")).json()
        listed = (await client.get("/complaints", params={"channel": "wecom"})).json()
        other_channel = (await client.get("/complaints", params={"channel": "email"})).json()
        view = (await client.get(f"/complaints/views/accounts/{account_id}")).json()
        board = (await client.get("/complaints/views/portfolio")).json()
    assert wechat.status_code == 422 and wechat.json()["errors"][0]["field"] == "channel"
    expected = {
        "category": {"zh": "产品质量", "en": "Product quality"},
        "category_parent": None,
        "severity": {"zh": "中", "en": "Medium"},
        "state": {"zh": "新建", "en": "New"},
        "channel": {"zh": "企业微信", "en": "WeCom"},
        "impact": None,
        "urgency": None,
    }
    assert opened["labels"] == detail["labels"] == listed["items"][0]["labels"] == expected
    assert listed["total"] == 1 and other_channel["total"] == 0
    assert view["open_complaints"][0]["labels"]["state"] == {"zh": "新建", "en": "New"}
    assert all(item["labels"]["channel"] for item in board["breached"] + board["at_warning"])


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def test_attachments_are_uploaded_checked_stored_and_downloaded_with_access_checks(make_database):
    app = make_app(await make_database("complaints"), FrozenClock(MONDAY_9AM_BEIJING), attachment_max_bytes=1024)
    async with running(app, headers=SUPERVISOR) as client:
        account_id = await register_account(app, owner_id="am-li")
        cid = (await client.post("/complaints", json=_intake(account_id, category="other"), headers=LI)).json()["id"]
        url = f"/complaints/{cid}/attachments"
        uploaded = await client.post(url, files={"file": ("../检测报告.pdf", PDF, "application/pdf")}, headers=LI)
        refused = {
            413: await client.post(url, files={"file": ("big.pdf", PDF + b"0" * 1024, "application/pdf")}),
            415: await client.post(url, files={"file": ("page.html", b"<script>", "text/html")}),
            # declared a PNG, but it is not one
            -415: await client.post(url, files={"file": ("x.png", b"<svg onload=1>", "image/png")}),
            403: await client.post(url, files={"file": ("a.txt", b"hi", "text/plain")}, headers=VIEWER),
            422: await client.post(url, files={"file": ("empty.txt", b"", "text/plain")}),
        }
        file_id = uploaded.json()["id"]
        listed = (await client.get(url, headers=LI)).json()
        detail = (await client.get(f"/complaints/{cid}", headers=LI)).json()
        download = await client.get(f"{url}/{file_id}", headers=LI)
        hidden = await client.get(f"{url}/{file_id}", headers=ZHANG)
        hidden_list = await client.get(url, headers=ZHANG)
    assert uploaded.status_code == 201, uploaded.text
    assert {"filename": "检测报告.pdf", "content_type": "application/pdf", "size_bytes": len(PDF)}.items() <= (
        uploaded.json().items()
    )
    for status, response in refused.items():
        assert response.status_code == abs(status), (status, response.text)
    assert [f["id"] for f in listed] == [f["id"] for f in detail["files"]] == [file_id]
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"
    assert hidden.status_code == hidden_list.status_code == 404
