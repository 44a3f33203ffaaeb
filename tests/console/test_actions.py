"""The console's action tables and the spreadsheet conversion (pure)."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import Workbook

from gateway.console.actions import (
    ALERT_ACTIONS,
    COMPLAINT_ACTIONS,
    LIMIT_ACTIONS,
    PROJECT_PART_ACTIONS,
    path_of,
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
