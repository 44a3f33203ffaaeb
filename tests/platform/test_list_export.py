"""Every list exports (shared.export): ``?format=csv|xlsx`` or ``Accept`` answers the list as a file Excel on a
Chinese Windows opens — CSV in UTF-8 with a BOM and CRLF, or XLSX — every page from ``offset`` on up to the cap
(truncation stated), or the one page asked for with ``limit``; columns from the item model (nested ``a.b``, lists
joined, 中文 titles in the header); no cell run as a formula; 中文 round-trips. Through the gateway a service's list
exports as the service answers it, and the gateway's own lists export too (one service under uvicorn)."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import pytest
import uvicorn
from fastapi import Depends, FastAPI
from openpyxl import load_workbook
from pydantic import BaseModel, Field

from gateway.app import create_app as create_gateway
from shared.api import Page, PageParams, page_params
from shared.clock import FrozenClock
from shared.export import (
    BOM,
    XLSX_MEDIA_TYPE,
    ListExportMiddleware,
    content_disposition,
    csv_text,
    requested_format,
    safe_cell,
    xlsx_bytes,
)
from shared.nats_server import free_port
from shared.query_guard import QUERY_GUARD
from tests.complaints.helpers import MONDAY_9AM_BEIJING, SUPERVISOR, make_app, open_complaint, register_account
from tests.gateway.platform import offline_gateway_settings, seed_users
from tests.support import auth, register_users, running

ADMIN = auth("admin", user_id="root")


def parse_csv(content: bytes) -> list[list[str]]:
    """A CSV body as Excel reads it: the BOM says UTF-8; rows end in CRLF."""
    assert content.startswith(BOM.encode("utf-8"))
    text = content.decode("utf-8-sig")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    return list(csv.reader(io.StringIO(text, newline="")))


def parse_xlsx(content: bytes) -> list[list[Any]]:
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    return [list(row) for row in sheet.iter_rows(values_only=True)]


# ---------------------------------------------------------------- the writer


def test_cells_never_start_a_formula_and_chinese_round_trips():
    rows = [
        ["名称", "金额", "公式"],
        ["华为技术", "-12.50", '=HYPERLINK("x")'],
        ["@SUM(A1)", -3, "+cmd"],
        ["-1+2", None, True],
    ]
    parsed = parse_csv(csv_text(rows).encode("utf-8"))
    assert parsed[0] == ["名称", "金额", "公式"]
    assert parsed[1] == ["华为技术", "-12.50", '\'=HYPERLINK("x")']  # a plain number written as text stays
    assert parsed[2] == ["'@SUM(A1)", "-3", "'+cmd"]
    assert parsed[3] == ["'-1+2", "", "true"]
    sheet = parse_xlsx(xlsx_bytes(rows, sheet="导出/明细"))
    assert sheet[1] == ["华为技术", "-12.50", '\'=HYPERLINK("x")'] and sheet[2][1] == -3
    assert [safe_cell(v) for v in ("\tx", "\rx", "ok", 5)] == ["'\tx", "'\rx", "ok", 5]


def test_content_disposition_names_a_chinese_file_by_rfc_5987():
    assert content_disposition("accounts.csv") == 'attachment; filename="accounts.csv"'
    header = content_disposition("客户清单.csv", ascii_fallback="accounts.csv")
    assert header == f"attachment; filename=\"accounts.csv\"; filename*=UTF-8''{quote('客户清单.csv')}"


@pytest.mark.parametrize(
    ("query", "accept", "expected"),
    [
        ("format=csv", "", "csv"),
        ("format=xlsx", "application/json", "xlsx"),
        ("format=json", "text/csv", None),  # the parameter wins over Accept
        ("", "text/csv", "csv"),
        ("", f"{XLSX_MEDIA_TYPE}, text/csv;q=0.5", "xlsx"),
        ("", "application/json, text/csv;q=0.9", None),
        ("", "text/html,application/xhtml+xml,*/*;q=0.8", None),
    ],
)
def test_the_format_asked_for(query, accept, expected):
    scope = {"query_string": query.encode(), "headers": [(b"accept", accept.encode())] if accept else []}
    assert requested_format(scope) == expected


# ---------------------------------------------------------------- a list route: pages, columns, truncation


class Address(BaseModel):
    city: str = Field(title="城市")
    street: str


class Item(BaseModel):
    id: int
    name: str = Field(title="名称")
    address: Address
    tags: list[str]
    extra: dict[str, Any] | None = None


ITEMS = [
    Item(id=i, name=f"客户{i}", address=Address(city="上海", street=f"{i} 路"), tags=["重点", "KA"], extra={"k": i})
    for i in range(7)
]


def small_app(max_rows: int) -> FastAPI:
    """A list whose pages hold two items at most, with the export capped at ``max_rows``."""
    app = FastAPI(dependencies=[QUERY_GUARD])
    app.add_middleware(ListExportMiddleware, max_rows=max_rows)

    @app.get("/things", summary="客户清单")
    async def things(page: Annotated[PageParams, Depends(page_params)], city: str | None = None) -> Page[Item]:
        rows = [i for i in ITEMS if city is None or i.address.city == city]
        return Page[Item](
            items=rows[page.offset : page.offset + min(page.limit, 2)], total=len(rows), **page.model_dump()
        )

    return app


async def test_a_list_exports_every_page_with_its_model_columns():
    transport = httpx.ASGITransport(app=small_app(max_rows=100))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        everything = await client.get("/things", params={"format": "csv", "city": "上海"})
        from_three = await client.get("/things", headers={"Accept": XLSX_MEDIA_TYPE}, params={"offset": 3})
        one_page = await client.get("/things", params={"format": "csv", "limit": 2, "offset": 2})
        json_page = await client.get("/things")
    rows = parse_csv(everything.content)
    assert rows[0] == ["id", "名称 / name", "城市 / address.city", "address.street", "tags", "extra.k"]
    assert [r[0] for r in rows[1:]] == [str(i) for i in range(7)]  # all pages, in the list's order
    assert rows[1][1:] == ["客户0", "上海", "0 路", "重点; KA", "0"]
    assert everything.headers["x-export-rows"] == "7" and everything.headers["x-export-truncated"] == "false"
    assert quote("客户清单") in everything.headers["content-disposition"]
    assert 'filename="things-' in everything.headers["content-disposition"]
    sheet = parse_xlsx(from_three.content)
    assert [r[0] for r in sheet[1:]] == [3, 4, 5, 6] and sheet[1][1] == "客户3"
    assert [r[0] for r in parse_csv(one_page.content)[1:]] == ["2", "3"]  # limit given: that page only
    assert json_page.headers["content-type"] == "application/json" and len(json_page.json()["items"]) == 2


async def test_an_export_past_the_cap_is_cut_and_says_so():
    transport = httpx.ASGITransport(app=small_app(max_rows=5))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        capped = await client.get("/things", params={"format": "csv"})
        empty = await client.get("/things", params={"format": "xlsx", "city": "北京"})
    assert len(parse_csv(capped.content)) == 1 + 5
    assert capped.headers["x-export-truncated"] == "true" and capped.headers["x-total-count"] == "7"
    assert parse_xlsx(empty.content) == [["id", "名称 / name", "城市 / address.city", "address.street", "tags"]]


# ---------------------------------------------------------------- a service's list, and through the gateway


async def test_complaints_export_chinese_text_and_neutralise_formulas(make_database):
    app = make_app(await make_database("complaints"), FrozenClock(MONDAY_9AM_BEIJING))
    async with running(app, headers=SUPERVISOR) as client:
        account_id = await register_account(app)
        await open_complaint(client, account_id, title="交付延迟：华东仓")
        await open_complaint(client, account_id, title="=cmd|' /C calc'!A0")
        as_csv = await client.get("/complaints", params={"format": "csv", "account_id": account_id})
        as_xlsx = await client.get(
            "/complaints", params={"account_id": account_id}, headers={"Accept": XLSX_MEDIA_TYPE}
        )
        listed = (await client.get("/complaints", params={"account_id": account_id})).json()
    rows = parse_csv(as_csv.content)
    title = rows[0].index("title")
    assert {r[title] for r in rows[1:]} == {"交付延迟：华东仓", "'=cmd|' /C calc'!A0"}
    assert [r[rows[0].index("id")] for r in rows[1:]] == [c["id"] for c in listed["items"]]
    sheet = parse_xlsx(as_xlsx.content)
    assert {r[sheet[0].index("title")] for r in sheet[1:]} == {"交付延迟：华东仓", "'=cmd|' /C calc'!A0"}
    assert as_csv.headers["content-disposition"].startswith('attachment; filename="complaints-')


@contextlib.asynccontextmanager
async def serving(app: FastAPI, port: int) -> AsyncIterator[None]:
    """An app under uvicorn on a real port (lifespan included)."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), "the service did not start"
            await asyncio.sleep(0.02)
        yield
    finally:
        server.should_exit = True
        await task


async def test_through_the_gateway_lists_export_and_queries_pass_intact(sqlite_database, tmp_path: Path):
    port = free_port()
    complaints = make_app(await sqlite_database("complaints"), FrozenClock(MONDAY_9AM_BEIJING))
    gateway = create_gateway(offline_gateway_settings(tmp_path, complaints_url=f"http://127.0.0.1:{port}"))
    async with serving(complaints, port), running(gateway, headers=ADMIN) as client:
        await seed_users(gateway, {"root": ["admin"]})
        await register_users(complaints, [("wang-jl", ["supervisor"]), ("li-jl", ["supervisor"]), ("zhao", ["viewer"])])
        account_id = await register_account(complaints)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=SUPERVISOR) as direct:
            await open_complaint(direct, account_id, title="包装破损（华南）")
        created = await client.post(
            "/api/v1/users",
            json={"user_id": "wang-jl", "name": "王经理", "password": "pw-2026-long!", "roles": ["supervisor"]},
        )
        proxied = await client.get("/api/v1/complaints", params={"format": "csv"})
        proxied_accept = await client.get("/api/v1/complaints", headers={"Accept": XLSX_MEDIA_TYPE})
        repeated = await client.get(
            "/api/v1/complaints/admin/users", params=[("user_id", "wang-jl"), ("user_id", "li-jl")]
        )
        unknown = await client.get("/api/v1/complaints", params={"stat": "received"})
        own = await client.get("/api/v1/users", params={"format": "xlsx"})
    assert created.status_code == 201, created.text
    assert proxied.status_code == 200 and proxied.headers["x-upstream-service"] == "complaints", proxied.text
    rows = parse_csv(proxied.content)
    assert rows[1][rows[0].index("title")] == "包装破损（华南）"
    assert proxied.headers["content-disposition"].startswith("attachment; filename=")
    sheet = parse_xlsx(proxied_accept.content)
    assert sheet[1][sheet[0].index("title")] == "包装破损（华南）"
    assert {u["user_id"] for u in repeated.json()["items"]} == {"wang-jl", "li-jl"}, repeated.text  # both values
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "stat"
    assert unknown.headers["x-upstream-service"] == "complaints"  # checked by the service it goes to
    users = parse_xlsx(own.content)
    assert own.headers["content-type"] == XLSX_MEDIA_TYPE
    assert "王经理" in [r[users[0].index("name")] for r in users[1:]]
