"""The console's action tables and the spreadsheet conversion (pure)."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import Workbook

from gateway.console.actions import (
    ALERT_ACTIONS,
    COMPLAINT_ACTIONS,
    LIMIT_ACTIONS,
    PLAN_STEP_ACTIONS,
    PROJECT_PART_ACTIONS,
    carried_if_match,
    listed_if_match,
    path_of,
    read_path,
    spreadsheet_as_csv,
)


def test_a_blank_field_is_left_out_so_the_service_names_it() -> None:
    acknowledge = COMPLAINT_ACTIONS["acknowledge"]
    assert acknowledge.body({"message": "  已收到，正在处理  ", "csrf_token": "x"}) == {"message": "已收到，正在处理"}
    assert acknowledge.body({"message": "   "}) == {}
    assert path_of(acknowledge, "c-1") == "/complaints/c-1/acknowledge"


def test_numbers_are_sent_as_numbers_and_fixed_values_are_added() -> None:
    assert COMPLAINT_ACTIONS["revisit"].body({"satisfaction": "4", "comment": "满意"}) == {
        "satisfaction": 4,
        "comment": "满意",
    }
    # not a number: sent as given, so that the service's 422 names the field
    assert COMPLAINT_ACTIONS["revisit"].body({"satisfaction": "很好"}) == {"satisfaction": "很好"}
    assert ALERT_ACTIONS["cleared"].body({"note": "已回款"}) == {"status": "cleared", "note": "已回款"}
    assert path_of(LIMIT_ACTIONS["reject"], "r-9") == "/risk/limit-requests/r-9/reject"
    assert path_of(PROJECT_PART_ACTIONS["status"], "p-1/parts/pp-2") == "/goals/projects/p-1/parts/pp-2"


def test_a_change_of_a_versioned_object_sends_the_version_the_user_saw_else_the_one_read_now() -> None:
    acknowledge, part = COMPLAINT_ACTIONS["acknowledge"], PROJECT_PART_ACTIONS["status"]
    assert carried_if_match(acknowledge, {"row_version": "3"}) == '"3"'
    assert carried_if_match(acknowledge, {"row_version": ""}) is None  # not carried: read it
    assert carried_if_match(COMPLAINT_ACTIONS["notes"], {"row_version": "3"}) is None  # a note changes no version
    assert carried_if_match(LIMIT_ACTIONS["approve"], {"row_version": "3"}) is None
    assert read_path(acknowledge, "c-1") == "/complaints/c-1"
    assert read_path(part, "p-1/parts/pp-2") == "/goals/projects/p-1"
    assert read_path(PLAN_STEP_ACTIONS["complete"], "i-1") is None  # read in lists only: the form carries it
    project = {"id": "p-1", "parts": [{"id": "pp-1", "version": 1}, {"id": "pp-2", "version": 4}]}
    assert listed_if_match(project, "p-1/parts/pp-2") == '"4"'
    assert listed_if_match(project, "p-1/parts/pp-9") is None


def test_an_xlsx_upload_becomes_utf8_csv_and_a_csv_passes_unchanged() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["客户ID", "日期", "产品线", "revenue", "cost"])
    sheet.append(["a-1", date(2026, 11, 15), "工业网关", 1000.5, None])
    buffer = io.BytesIO()
    book.save(buffer)
    assert spreadsheet_as_csv("销售.XLSX", buffer.getvalue()).decode("utf-8").splitlines() == [
        "客户ID,日期,产品线,revenue,cost",
        "a-1,2026-11-15,工业网关,1000.5,",
    ]
    raw = "account_id,date\n".encode("gbk")
    assert spreadsheet_as_csv("sales.csv", raw) == raw
