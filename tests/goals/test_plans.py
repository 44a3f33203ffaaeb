"""Account plans (客户经营计划): one per account and year, versioned, approved by a supervisor; product mix with
white space from actuals, promotions with measured uplift, relationship map, XLSX export."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from io import BytesIO
from urllib.parse import unquote

from openpyxl import load_workbook

from services.goals.plans.service import ACTIONS, PLAN_TRANSITIONS
from services.goals.plans.uplift import baseline_months, measure_uplift, whole_months_problem
from shared.events import ContactChanged, ContactData
from tests.goals.helpers import LI, SUPERVISOR, ZHANG, create_target, goals_app, register_account, register_team
from tests.support import running

SENSOR, GATEWAY, PLC = "智能传感器", "工业网关", "PLC控制器"
# Sales of the account (CNY): the promotion runs on sensors in April and May 2026; its baseline is February and
# March (the same number of months immediately before).
SALES = [
    ("2026-02-10", SENSOR, "100000"),
    ("2026-03-12", SENSOR, "120000"),
    ("2026-04-08", SENSOR, "150000"),
    ("2026-04-20", GATEWAY, "50000"),  # another line: not in the promotion's figures
    ("2026-05-15", SENSOR, "180000"),
    ("2026-06-03", SENSOR, "10000"),  # after the promotion
]


def test_the_plan_state_machine_is_this_table():
    assert PLAN_TRANSITIONS == {
        "draft": frozenset({"submitted", "archived"}),
        "submitted": frozenset({"approved", "draft"}),
        "approved": frozenset({"draft", "archived"}),
        "archived": frozenset(),
    }
    assert ACTIONS == {
        "submit": ("submitted", "draft"),
        "return": ("draft", "submitted"),
        "revise": ("draft", "approved"),
        "archive": ("archived", None),
        "approve": ("approved", "submitted"),
    }


def test_uplift_is_promotion_sales_against_the_baseline_window_once_the_period_is_over():
    revenue = {"2026-02": D(100), "2026-03": D(300), "2026-04": D(500), "2025-04": D(250)}
    kwargs = dict(starts_on=date(2026, 4, 1), ends_on=date(2026, 4, 30), revenue_by_month=revenue)
    assert measure_uplift(baseline="previous_period", today=date(2026, 4, 30), **kwargs).status == "running"
    assert measure_uplift(baseline="previous_period", today=date(2026, 3, 31), **kwargs).status == "planned"
    previous = measure_uplift(baseline="previous_period", today=date(2026, 5, 1), **kwargs)
    assert (previous.baseline_months, previous.baseline_sales, previous.uplift_pct) == (
        ("2026-03",),
        D(300),
        D("66.67"),
    )
    last_year = measure_uplift(baseline="same_period_last_year", today=date(2026, 5, 1), **kwargs)
    assert (last_year.baseline_sales, last_year.uplift_pct) == (D(250), D("100.00"))
    none = measure_uplift(
        baseline="previous_period", today=date(2026, 6, 1), starts_on=date(2026, 1, 1), ends_on=date(2026, 1, 31),
        revenue_by_month=revenue,
    )  # fmt: skip
    assert (none.status, none.uplift_pct) == ("no_baseline", None)
    assert baseline_months(("2026-01", "2026-02"), "previous_period") == ("2025-11", "2025-12")
    assert whole_months_problem(date(2026, 4, 2), date(2026, 4, 30)) is not None
    assert whole_months_problem(date(2026, 4, 1), date(2026, 5, 30)) is not None
    assert whole_months_problem(date(2026, 4, 1), date(2026, 5, 31)) is None


def _csv(account_id: str) -> bytes:
    lines = ["account_id,date,product_line,region,quantity,revenue,cost"]
    lines += [f"{account_id},{day},{line},华东,1,{revenue},0" for day, line, revenue in SALES]
    return ("\n".join(lines) + "\n").encode()


def _plan_body(account_id: str, target_id: str) -> dict:
    return {
        "account_id": account_id,
        "year": 2026,
        "title": "2026 年度客户经营计划",
        "objectives": [{"title": "传感器份额翻番", "target_ids": [target_id]}],
        "swot": {"strengths": ["本地化服务团队"], "threats": ["竞品低价进入"]},
        "product_mix": [
            {"product_line": SENSOR, "target_amount": "800000"},
            {"product_line": PLC, "target_amount": "200000", "note": "白区突破"},
        ],
        "pricing": {
            "discount_bands": [{"name": "标准档", "min_order_amount": "100000", "max_discount_pct": "8"}],
            "floor_prices": [{"product_line": SENSOR, "floor_price": "1200", "unit": "台"}],
            "below_band_approver_role": "supervisor",
        },
        "channel_support": [{"channel": "华东集成商", "support": "联合方案与样机"}],
        "promotions": [
            {
                "name": "春季传感器促销",
                "product_line": SENSOR,
                "starts_on": "2026-04-01",
                "ends_on": "2026-05-31",
                "budget": "30000",
                "expected_uplift_pct": "40",
            }
        ],
        "review_dates": ["2026-07-10", "2026-03-31", "2026-10-15"],
    }


async def _setup(client, app):
    await register_team(app)
    account = await register_account(app, name="深圳云启科技股份有限公司")
    other = await register_account(app, name="另一客户", owner_id="am-zhang")
    target = await create_target(client, account_id=account, metric="revenue", period="2026", target_value="2000000")
    imported = await client.post(
        "/goals/imports", params={"batch_id": "plan-sales", "wait": "true"}, content=_csv(account), headers=SUPERVISOR
    )
    assert imported.status_code == 200 and imported.json()["accepted"] == len(SALES), imported.text
    return account, other, target["id"]


async def test_plan_measures_the_promotions_uplift_from_imported_actuals_and_flags_white_space(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))  # today: 2026-07-01, the promotion is over
    async with running(app) as client:
        account, _, target_id = await _setup(client, app)
        await app.state.consumer.process(
            ContactChanged(
                source="scoring",
                account_id=account,
                data=ContactData(contact_id="c-1", name="王总", title="总经理", level="executive"),
            )
        )
        created = await client.post("/goals/plans", json=_plan_body(account, target_id), headers=LI)
        assert created.status_code == 201, created.text
        plan = created.json()
        promotion = plan["promotions"][0]["measurement"]
        promo = D("150000") + D("180000")  # April + May sensors
        baseline = D("100000") + D("120000")  # February + March sensors
        assert promotion["status"] == "measured"
        assert (promotion["promotion_sales"], promotion["baseline_sales"]) == (f"{promo:.2f}", f"{baseline:.2f}")
        expected = ((promo - baseline) / baseline * 100).quantize(D("0.01"))
        assert D(promotion["measured_uplift_pct"]) == expected == D("50.00")
        mix = {line["product_line"]: line for line in plan["product_mix"]}
        assert mix[SENSOR]["not_bought_yet"] is False and mix[PLC]["not_bought_yet"] is True
        assert D(mix[SENSOR]["actual"]) == D("560000") and D(mix[SENSOR]["attainment_pct"]) == D("70.00")
        assert plan["next_review_on"] == "2026-07-10" and plan["currency"] == "CNY"
        assert plan["relationship_map"] == [
            {"level": "executive", "contacts": [{"contact_id": "c-1", "name": "王总", "title": "总经理"}]}
        ]
        assert plan["swot"]["threats"] == ["竞品低价进入"]


async def test_one_plan_per_account_and_year_bad_links_and_unknown_fields_are_refused(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        account, other, target_id = await _setup(client, app)
        body = _plan_body(account, target_id)
        assert (await client.post("/goals/plans", json=body, headers=LI)).status_code == 201
        duplicate = await client.post("/goals/plans", json=body, headers=SUPERVISOR)
        assert duplicate.status_code == 409, duplicate.text
        other_target = await create_target(client, account_id=other, metric="revenue", period="2026", target_value="1")
        wrong = _plan_body(account, other_target["id"]) | {"year": 2027}
        refused = await client.post("/goals/plans", json=wrong, headers=LI)
        assert refused.status_code == 422 and "objectives.0.target_ids.0" in refused.text
        unknown_line = _plan_body(account, target_id) | {"year": 2027}
        unknown_line["product_mix"] = [{"product_line": "火箭", "target_amount": "1"}]
        assert "product_mix.0.product_line" in (await client.post("/goals/plans", json=unknown_line, headers=LI)).text
        extra = await client.post("/goals/plans", json=body | {"year": 2028, "budget_owner": "x"}, headers=LI)
        assert extra.status_code == 422 and "budget_owner" in extra.text
        odd = _plan_body(account, target_id) | {"year": 2029}
        odd["promotions"][0]["starts_on"] = "2026-04-02"
        assert (await client.post("/goals/plans", json=odd, headers=LI)).status_code == 422
        plan_id = (await client.get("/goals/plans", params={"account_id": account}, headers=LI)).json()["items"][0][
            "id"
        ]
        assert (await client.get(f"/goals/plans/{plan_id}", headers=ZHANG)).status_code == 404
        assert (await client.get("/goals/plans", headers=ZHANG)).json()["total"] == 0
        assert (await client.post("/goals/plans", json=body | {"year": 2030}, headers=ZHANG)).status_code == 404


async def test_a_plan_names_product_lines_of_the_one_catalogue_added_there_or_retired_there(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        account, _, target_id = await _setup(client, app)
        vision = _plan_body(account, target_id) | {"year": 2027}
        vision["product_mix"] = [{"product_line": "机器视觉", "target_amount": "1"}]
        refused = await client.post("/goals/plans", json=vision, headers=LI)
        assert refused.status_code == 422 and "product_mix.0.product_line" in refused.text
        added = await client.put("/goals/product-lines/机器视觉", json={"description": "新产品线"}, headers=SUPERVISOR)
        assert added.status_code == 200, added.text
        assert (await client.post("/goals/plans", json=vision, headers=LI)).status_code == 201
        retired = await client.put(f"/goals/product-lines/{PLC}", json={"active": False}, headers=SUPERVISOR)
        assert retired.status_code == 200, retired.text
        plc = _plan_body(account, target_id) | {"year": 2028}
        refused = await client.post("/goals/plans", json=plc, headers=LI)
        assert refused.status_code == 422 and "product_mix.1.product_line" in refused.text, refused.text


async def test_only_a_supervisor_approves_approved_versions_stay_unchanged_and_revising_starts_a_new_one(
    sqlite_database,
):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        account, _, target_id = await _setup(client, app)
        plan = (await client.post("/goals/plans", json=_plan_body(account, target_id), headers=LI)).json()
        url = f"/goals/plans/{plan['id']}"
        early = await client.post(f"{url}/approve", headers=SUPERVISOR)
        assert early.status_code == 409  # a draft is submitted first
        assert (await client.post(f"{url}/transitions", json={"action": "submit"}, headers=LI)).status_code == 200
        assert (await client.post(f"{url}/approve", headers=LI)).status_code == 403
        approved = await client.post(f"{url}/approve", headers=SUPERVISOR)
        assert approved.status_code == 200 and approved.json()["approved_by"] == "sup-wang"
        frozen = await client.patch(url, json={"title": "改"}, headers=LI)
        assert frozen.status_code == 409
        revised = await client.post(f"{url}/transitions", json={"action": "revise"}, headers=LI)
        assert (revised.json()["status"], revised.json()["plan_version"]) == ("draft", 2)
        changed = await client.patch(url, json={"swot": {"strengths": ["新增：联合实验室"]}}, headers=LI)
        assert changed.status_code == 200 and changed.json()["swot"]["strengths"] == ["新增：联合实验室"]
        history = (await client.get(f"{url}/versions", headers=SUPERVISOR)).json()
        assert [(v["plan_version"], v["state"]) for v in history] == [(1, "approved"), (2, "working")]
        assert history[0]["content"]["swot"]["strengths"] == ["本地化服务团队"]
        await client.post(f"{url}/transitions", json={"action": "submit"}, headers=LI)
        await client.post(f"{url}/approve", headers=SUPERVISOR)
        history = (await client.get(f"{url}/versions", headers=SUPERVISOR)).json()
        assert [(v["plan_version"], v["state"]) for v in history] == [(1, "superseded"), (2, "approved")]
        bad = await client.post(f"{url}/transitions", json={"action": "submit"}, headers=LI)
        assert bad.status_code == 409
        due = (await client.get("/goals/plans/reviews/due", params={"within_days": 15}, headers=LI)).json()
        assert [(d["plan_id"], d["review_on"]) for d in due["items"]] == [(plan["id"], "2026-07-10")]


async def test_the_plan_exports_as_xlsx_with_its_chinese_text_intact(sqlite_database):
    app, _ = goals_app(await sqlite_database("goals"))
    async with running(app) as client:
        account, _, target_id = await _setup(client, app)
        plan = (await client.post("/goals/plans", json=_plan_body(account, target_id), headers=LI)).json()
        response = await client.get(f"/goals/plans/{plan['id']}/export.xlsx", headers=LI)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        disposition = response.headers["content-disposition"]
        assert "深圳云启科技股份有限公司-2026-客户经营计划-v1.xlsx" in unquote(
            disposition.split("filename*=UTF-8''")[1]
        )
        book = load_workbook(BytesIO(response.content))
        overview = {row[0]: row[1] for row in book["概览 Overview"].iter_rows(values_only=True)}
        assert overview["计划 Plan"] == "2026 年度客户经营计划"
        assert overview["客户 Account"] == "深圳云启科技股份有限公司"
        swot = list(book["SWOT"].iter_rows(values_only=True))
        assert ("劣势 Weaknesses", "竞品低价进入") not in swot and ("威胁 Threats", "竞品低价进入") in swot
        promotions = list(book["促销 Promotions"].iter_rows(values_only=True))
        assert promotions[1][0] == "春季传感器促销" and promotions[1][-1] == "50.00"
        assert (await client.get(f"/goals/plans/{plan['id']}/export.xlsx", headers=ZHANG)).status_code == 404
