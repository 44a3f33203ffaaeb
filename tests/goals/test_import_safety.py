"""Imports that cannot count twice or leak: the same file again, another user's batch id, a form upload; returns
(negative quantity, revenue and cost) accepted by the CSV import and the API alike, mixed signs refused."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from services.goals.actuals.schemas import return_sign_problem
from tests.goals.helpers import LI, SUPERVISOR, ZHANG, goals_app, record, register_account, register_team, sale
from tests.support import running

HEADER = "account_id,date,product_line,region,quantity,revenue,cost\n"


async def _import(client, text: str, headers=SUPERVISOR, **params):
    return await client.post(
        "/goals/imports",
        params={"wait": "true", **params},
        content=text.encode(),
        headers={**headers, "content-type": "text/csv"},
    )


async def test_the_same_file_under_a_new_batch_id_is_refused_unless_allowed_and_batch_ids_are_per_user(
    make_database,
):
    app, _ = goals_app(await make_database("goals"))
    async with running(app) as client:
        await register_team(app)
        account = await register_account(app, name="重复导入客户", owner_id="am-li")
        text = HEADER + f"{account},2026-06-01,工业网关,华东,2,200,80\n"
        first = await _import(client, text, batch_id="june")
        assert first.status_code == 200 and first.json()["accepted"] == 1
        again = await _import(client, text, batch_id="june-again")
        assert again.status_code == 409, again.text
        assert again.json()["field"] == "allow_duplicate" and "june" in again.json()["detail"]
        assert (await client.get("/goals/imports/june-again", headers=SUPERVISOR)).status_code == 404  # not claimed
        forced = await _import(client, text, batch_id="june-again", allow_duplicate="true")
        assert forced.status_code == 200 and forced.json()["accepted"] == 1
        totals = (await client.get(f"/goals/accounts/{account}/actuals", headers=SUPERVISOR)).json()
        assert [D(m["revenue"]) for m in totals if m["period"] == "2026-06"] == [D(400)]

        # Another user's batch id never answers with their batch (nor its counts): a 409 asking for another id.
        own = HEADER + f"{account},2026-05-01,工业网关,华东,1,50,10\n"
        taken = await _import(client, own, headers=LI, batch_id="june")
        assert taken.status_code == 409 and taken.json()["field"] == "batch_id"
        assert "accepted" not in taken.json() and "sup-wang" not in taken.text
        # The duplicate check does not name another user's batch either.
        mine = await _import(client, own, headers=LI, batch_id="li-may")
        assert mine.status_code == 200
        copied = await _import(client, own, headers=ZHANG, batch_id="zhang-may")
        assert copied.status_code == 409 and "li-may" not in copied.json()["detail"]


async def test_a_form_upload_is_415_saying_how_to_send_the_file(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        await register_team(app)
        refused = await client.post(
            "/goals/imports",
            params={"batch_id": "form"},
            files={"file": ("sales.csv", HEADER.encode(), "text/csv")},
            headers=SUPERVISOR,
        )
        assert refused.status_code == 415
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "--data-binary" in refused.json()["detail"] and "text/csv" in refused.json()["detail"]
        assert (await client.get("/goals/imports/form", headers=SUPERVISOR)).status_code == 404


@pytest.mark.parametrize(
    ("quantity", "revenue", "cost", "ok"),
    [
        (D(2), D(100), D(40), True),  # a sale
        (D(-2), D(-100), D(-40), True),  # a return
        (None, D(-100), D(-40), True),  # a return without a quantity
        (D(0), D(-30), D(0), True),  # a credit note: negative revenue alone
        (D(-2), D(100), D(-40), False),  # mixed: returned goods with positive revenue
        (D(2), D(-100), D(-40), False),  # mixed: negative cost on sold goods
        (D(-1), D(-10), D(5), False),
    ],
)
def test_return_signs(quantity, revenue, cost, ok) -> None:
    assert (return_sign_problem(quantity, revenue, cost) is None) is ok


async def test_returns_are_accepted_by_the_import_and_the_api_and_net_the_month(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        await register_team(app)
        account = await register_account(app, name="退货客户", owner_id="am-li")
        text = (
            HEADER
            + f"{account},2026-06-01,工业网关,华东,10,1000,600\n"
            + f"{account},2026-06-09,工业网关,华东,-2,-200,-120\n"
            + f"{account},2026-06-10,工业网关,华东,-1,50,-60\n"  # mixed signs: refused with its line
        )
        result = await _import(client, text, batch_id="returns")
        assert (result.json()["accepted"], result.json()["rejected"]) == (2, 1)
        rejections = (await client.get("/goals/imports/returns/rejections", headers=SUPERVISOR)).json()["items"]
        assert rejections[0]["line_no"] == 4 and "mixed signs" in rejections[0]["reason"]
        await record(client, sale(account, "2026-06-20", "-100", "-60", quantity="-1"))
        mixed = await client.post(
            "/goals/actuals",
            json={"records": [sale(account, "2026-06-21", "100", "-60", quantity="-1")]},
            headers=SUPERVISOR,
        )
        assert mixed.status_code == 422 and "mixed signs" in mixed.text
        june = [
            m
            for m in (await client.get(f"/goals/accounts/{account}/actuals", headers=SUPERVISOR)).json()
            if m["period"] == "2026-06"
        ]
        assert D(june[0]["revenue"]) == D(700) and D(june[0]["cost"]) == D(420)


async def test_the_encoding_is_detected_from_the_whole_file_not_its_start(sqlite_database, tmp_path):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        await register_team(app)
        account = await register_account(app, name="编码客户", owner_id="am-li")
        ascii_rows = "".join(f"{account},2026-06-01,Gateway-{i:05d},East,1,10,5\n" for i in range(3000))  # > 64 KiB
        text = HEADER + ascii_rows + f"{account},2026-06-02,工业网关,华东,1,10,5\n"
        assert len(ascii_rows.encode()) > 1 << 17
        result = await client.post(
            "/goals/imports",
            params={"batch_id": "late-gbk", "wait": "true"},
            content=text.encode("gbk"),
            headers={**SUPERVISOR, "content-type": "text/csv"},
        )
        assert result.status_code == 200 and result.json()["encoding"] == "gbk", result.text
        assert (result.json()["accepted"], result.json()["rejected"]) == (3001, 0)
        lines = (await client.get(f"/goals/accounts/{account}/sales-lines?limit=1", headers=SUPERVISOR)).json()
        assert lines["items"][0]["product_line"] == "工业网关"


async def test_a_column_mapping_reads_a_file_with_its_own_headers_and_a_bad_mapping_is_422(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        await register_team(app)
        account = await register_account(app, name="映射客户", owner_id="am-li")
        text = f"Kunde,Datum,Sparte,Menge,Umsatz,Kosten\n{account},2026-06-01,工业网关,1,120,60\n"
        mapping = "Kunde:account_id,Datum:date,Sparte:product_line,Menge:quantity,Umsatz:revenue,Kosten:cost"
        unmapped = await _import(client, text, batch_id="de-0")
        assert unmapped.status_code == 422 and "account_id" in unmapped.json()["detail"]
        mapped = await _import(client, text, batch_id="de-1", columns=mapping)
        assert mapped.status_code == 200 and mapped.json()["accepted"] == 1, mapped.text
        bad = await _import(client, text, batch_id="de-2", columns="Kunde:customer")
        assert bad.status_code == 422 and bad.json()["field"] == "columns"
