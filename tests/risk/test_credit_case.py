"""The credit case as a credit officer expects it (SAP FSCM): every step kept with who, when, from/to and note;
withdrawal by the maker; four eyes above a threshold; periodic reviews; suggested limits; downgrades that raise
an alert and block orders by rule; a validated scorecard and a minimum number of factors for a grade."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from services.risk.app import create_app
from services.risk.config import RiskSettings
from services.risk.credit.models import ScorecardConfig
from services.risk.credit.scorecard import DEFAULT_SCORECARD, scorecard_from_dict, scorecard_to_dict
from services.risk.jobs import risk_watch_job
from shared.clock import FrozenClock
from tests.risk.support import PEOPLE, START, add_account, outbox_events
from tests.support import auth, register_users, running, service_settings

MAKER = auth("risk_officer", user_id="risk-chen")
CHECKER = auth("risk_officer", user_id="risk-liu")
SUPERVISOR = auth("supervisor", user_id="sup-wang")
MANAGER = auth("account_manager", user_id="am-li")
ADMIN = auth("admin", user_id="u-admin")
# Scorecard inputs that land in a grade without receivables (three factors: the default minimum).
GRADE_INPUTS: dict[str, dict[str, str]] = {
    "A": {"days_past_due": "0", "external_rating": "AAA", "debt_ratio": "0.3"},  # 100
    "D": {"days_past_due": "60", "external_rating": "B", "debt_ratio": "0.75"},  # 38
    "E": {"days_past_due": "100", "external_rating": "C", "debt_ratio": "0.95"},  # 1.5
}


def _app(database_url: str, **settings: Any) -> Any:
    """A risk app on a frozen clock (START) with the credit case settings given."""
    values = service_settings(RiskSettings, database_url=database_url, nats_url=None, periodic_jobs=False, **settings)
    return create_app(values, clock=FrozenClock(START))


async def _request(client: Any, account_id: str, limit: str, *, headers: dict[str, str] = MAKER, **body: Any) -> Any:
    response = await client.post(
        f"/risk/accounts/{account_id}/limit-requests",
        json={"requested_limit": limit, "reason": "年度授信 annual line", **body},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


def _steps(history: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(h["action"], h["from_state"], h["to_state"], h["actor_id"], h["note"]) for h in history]


async def test_every_limit_decision_and_alert_step_is_kept_with_who_when_and_note(make_database):
    app = _app(await make_database("risk"))
    async with running(app) as client:
        await register_users(app, PEOPLE)
        account_id = await add_account(app, "中联重科", owner_id="am-li")
        request = await _request(client, account_id, "800000")
        approved = await client.post(
            f"/risk/limit-requests/{request['id']}/approve", json={"note": "财报良好"}, headers=CHECKER
        )
        assert approved.status_code == 200, approved.text
        detail = (await client.get(f"/risk/limit-requests/{request['id']}", headers=MANAGER)).json()
        assert _steps(detail["history"]) == [
            ("submitted", None, "pending", "risk-chen", "年度授信 annual line"),
            ("approved", "pending", "approved", "risk-liu", "财报良好"),
        ]

        signal = await client.post(
            f"/risk/accounts/{account_id}/signals", json={"value": "3", "title": "审计保留意见"}, headers=MAKER
        )
        assert signal.status_code == 201, signal.text
        [alert] = (await client.get(f"/risk/alerts?account_id={account_id}", headers=MAKER)).json()["items"]
        path = f"/risk/alerts/{alert['id']}"
        moves = [
            ("post", f"{path}/transitions", {"status": "acknowledged", "note": "已致电客户财务"}, MANAGER),
            ("patch", path, {"owner_id": "risk-chen"}, CHECKER),
            ("post", f"{path}/transitions", {"status": "mitigating", "note": "要求预付款"}, CHECKER),
        ]
        for method, url, body, headers in moves:
            moved = await client.request(method, url, json=body, headers=headers)
            assert moved.status_code == 200, moved.text
        shown = (await client.get(path, headers=MAKER)).json()
        # The first note survives, credited to the one who wrote it (the alert's own fields show only the last).
        assert _steps(shown["history"]) == [
            ("raised", None, "orange", None, shown["title"]),
            ("acknowledged", "raised", "acknowledged", "am-li", "已致电客户财务"),
            ("assigned", None, "risk-chen", "risk-liu", None),
            ("mitigating", "acknowledged", "mitigating", "risk-liu", "要求预付款"),
        ]
        profile = (await client.get(f"/risk/accounts/{account_id}/credit", headers=MAKER)).json()
        kinds = {(h["object_type"], h["object_id"]) for h in profile["history"]}
        assert kinds == {("limit_request", request["id"]), ("alert", alert["id"])}
        assert len(profile["history"]) == 6


async def test_only_the_maker_withdraws_a_pending_request_and_it_is_audited(sqlite_database):
    app = _app(await sqlite_database("risk"))
    async with running(app) as client:
        account_id = await add_account(app, "三一重工")
        request = await _request(client, account_id, "500000")
        url = f"/risk/limit-requests/{request['id']}/withdraw"
        for headers in (CHECKER, SUPERVISOR, ADMIN):  # only the maker, not even an admin
            assert (await client.post(url, headers=headers)).status_code == 403
        withdrawn = await client.post(url, json={"note": "客户改为担保方案"}, headers=MAKER)
        assert withdrawn.status_code == 200, withdrawn.text
        body = withdrawn.json()
        assert (body["status"], body["decided_by"], body["approvals_needed"]) == ("withdrawn", "risk-chen", [])
        assert _steps(body["history"])[-1] == ("withdrawn", "pending", "withdrawn", "risk-chen", "客户改为担保方案")
        assert (await client.post(url, headers=MAKER)).status_code == 409
        assert (await client.post(f"/risk/limit-requests/{request['id']}/approve", headers=CHECKER)).status_code == 409
        listed = (await client.get("/risk/limit-requests?status=withdrawn", headers=MAKER)).json()
        assert [r["id"] for r in listed["items"]] == [request["id"]]
        audit = (await client.get(f"/risk/audit?object_id={request['id']}", headers=ADMIN)).json()["items"]
        assert [(e["action"], e["actor_id"]) for e in audit] == [("credit_limit.withdrawn", "risk-chen")]
        await _request(client, account_id, "400000")  # withdrawn is not pending: a new request may be filed


USERS = {"risk-chen": MAKER, "risk-liu": CHECKER, "sup-wang": SUPERVISOR}


@pytest.mark.parametrize(
    ("maker", "first", "second"),
    [("risk-chen", "risk-liu", "sup-wang"), ("sup-wang", "risk-chen", "risk-liu")],
    ids=["supervisor-second", "risk-officer-second"],
)
async def test_above_the_threshold_a_second_different_approver_is_needed(make_database, maker, first, second):
    app = _app(await make_database("risk"), limit_approval_thresholds={"CNY": "1000000"})
    async with running(app) as client:
        account_id = await add_account(app, "徐工机械")
        small = await _request(client, account_id, "1000000", headers=USERS[maker])  # at the threshold: one
        assert (small["approvals_required"], [s["step"] for s in small["approvals_needed"]]) == (1, [1])
        decided = await client.post(f"/risk/limit-requests/{small['id']}/approve", headers=USERS[first])
        assert decided.json()["status"] == "approved"
        big = await _request(client, account_id, "3000000", headers=USERS[maker])
        assert (big["approvals_required"], big["threshold_amount"], big["threshold_currency"]) == (
            2,
            "1000000.0000",
            "CNY",
        )
        assert [(s["step"], s["roles"]) for s in big["approvals_needed"]] == [
            (1, ["risk_officer"]),
            (2, ["risk_officer", "supervisor"]),
        ]
        url = f"/risk/limit-requests/{big['id']}/approve"
        # A supervisor never gives the first approval (here: or is the maker).
        assert (await client.post(url, headers=SUPERVISOR)).status_code == 403
        once = await client.post(url, json={"note": "一审通过"}, headers=USERS[first])
        assert once.status_code == 200, once.text
        assert (once.json()["status"], once.json()["first_approved_by"]) == ("pending", first)
        [still] = once.json()["approvals_needed"]
        assert (still["step"], still["excluded"]) == (2, [maker, first])
        profile = (await client.get(f"/risk/accounts/{account_id}/credit", headers=MAKER)).json()
        assert profile["credit_limit"] == "1000000.0000"  # nothing applies before the second approval
        for denied in (first, maker):  # four eyes: not the first approver again, never the maker
            assert (await client.post(url, headers=USERS[denied])).status_code == 403
        final = await client.post(url, json={"note": "二审通过"}, headers=USERS[second])
        assert final.status_code == 200, final.text
        assert (final.json()["status"], final.json()["decided_by"]) == ("approved", second)
        profile = (await client.get(f"/risk/accounts/{account_id}/credit", headers=MAKER)).json()
        assert profile["credit_limit"] == "3000000.0000"
        changes = await outbox_events(app, "risk.credit_limit_changed")
        assert [Decimal(e["data"]["new_limit"]) for e in changes] == [Decimal(1_000_000), Decimal(3_000_000)]
        detail = (await client.get(f"/risk/limit-requests/{big['id']}", headers=MAKER)).json()
        assert [(h["action"], h["actor_id"], h["note"]) for h in detail["history"]] == [
            ("submitted", maker, "年度授信 annual line"),
            ("first_approval", first, "一审通过"),
            ("approved", second, "二审通过"),
        ]
        audit = (await client.get(f"/risk/audit?object_id={big['id']}", headers=ADMIN)).json()["items"]
        assert sorted(e["action"] for e in audit) == ["credit_limit.approved", "credit_limit.first_approved"]


async def test_a_limit_in_another_currency_is_compared_in_the_reporting_currency(sqlite_database):
    app = _app(await sqlite_database("risk"), limit_approval_thresholds={"CNY": "1000000"})
    async with running(app) as client:
        account_id = await add_account(app, "潍柴动力")
        temporary = {"kind": "temporary", "currency": "USD", "expires_on": "2026-04-30"}
        no_rate = await client.post(
            f"/risk/accounts/{account_id}/limit-requests",
            json={"requested_limit": "100000", "reason": "旺季", **temporary},
            headers=MAKER,
        )
        assert no_rate.status_code == 422  # never compared on a raw amount
        assert (await client.put("/risk/fx-rates/USD/2026-03-01", json={"rate": "7"}, headers=MAKER)).is_success
        below = await _request(client, account_id, "100000", **temporary)  # 700 000 CNY
        assert below["approvals_required"] == 1
        await client.post(f"/risk/limit-requests/{below['id']}/reject", headers=CHECKER)
        above = await _request(client, account_id, "200000", **temporary)  # 1 400 000 CNY
        assert (above["approvals_required"], above["threshold_currency"]) == (2, "CNY")


async def test_review_dates_follow_the_grade_and_review_due_is_published_once_per_date(make_database):
    app = _app(await make_database("risk"))
    async with running(app) as client:
        good = await add_account(app, "海康威视", owner_id="am-li")
        weak = await add_account(app, "某困难客户", owner_id="am-zhang")
        for account_id, grade in ((good, "A"), (weak, "E")):
            assessed = await client.post(
                f"/risk/accounts/{account_id}/assessments", json=GRADE_INPUTS[grade], headers=MAKER
            )
            assert assessed.json()["grade"] == grade, assessed.text
        profile = (await client.get(f"/risk/accounts/{good}/credit", headers=MAKER)).json()
        assert (profile["review_on"], profile["suggested_limit"], profile["suggested_limit_currency"]) == (
            "2027-03-15",  # A: yearly
            "10000000.0000",
            "CNY",
        )
        request = await _request(client, weak, "100000")
        assert (request["suggested_limit"], request["suggested_limit_currency"]) == ("0.0000", "CNY")
        assert (await client.get("/risk/credit-reviews/due", headers=MAKER)).json()["total"] == 0
        upcoming = (await client.get("/risk/credit-reviews/due?within_days=92", headers=MAKER)).json()["items"]
        assert [(r["account_id"], r["review_on"], r["overdue_days"]) for r in upcoming] == [
            (weak, "2026-06-15", -92)  # E: quarterly
        ]

        app.state.clock.set(datetime(2026, 6, 20, 4, tzinfo=UTC))
        assert (await risk_watch_job(app))["credit_reviews_due"] == 1
        assert (await risk_watch_job(app))["credit_reviews_due"] == 0  # once per review date
        app.state.clock.set(datetime(2027, 3, 20, 4, tzinfo=UTC))
        due = (await client.get("/risk/credit-reviews/due?limit=1", headers=MAKER)).json()
        assert (due["total"], [(r["account_id"], r["overdue_days"]) for r in due["items"]]) == (2, [(weak, 278)])
        mine = (await client.get("/risk/credit-reviews/due", headers=MANAGER)).json()["items"]
        assert [r["account_id"] for r in mine] == [good]  # account managers: their accounts only
        assert (await risk_watch_job(app))["credit_reviews_due"] == 1
        events = await outbox_events(app, "risk.review_due")
        assert [(e["account_id"], e["data"]["review_on"], e["data"]["owner_id"]) for e in events] == [
            (weak, "2026-06-15", "am-zhang"),
            (good, "2027-03-15", "am-li"),
        ]


async def test_a_downgrade_raises_an_alert_and_the_order_block_rule_blocks_new_orders(sqlite_database):
    app = _app(
        await sqlite_database("risk"),
        order_block_grades=["D", "E"],
        order_warn_grades=[],
        order_block_on_red_alert=True,
    )
    async with running(app) as client:
        downgraded = await add_account(app, "降级客户")
        alerted = await add_account(app, "红色预警客户")
        for account_id in (downgraded, alerted):
            request = await _request(client, account_id, "1000000")
            await client.post(f"/risk/limit-requests/{request['id']}/approve", headers=CHECKER)
        for grade in ("A", "D"):  # a first grade is no downgrade; A → D is
            await client.post(f"/risk/accounts/{downgraded}/assessments", json=GRADE_INPUTS[grade], headers=MAKER)
        alerts = (await client.get(f"/risk/alerts?account_id={downgraded}", headers=MAKER)).json()["items"]
        assert [(a["rule_code"], a["level"]) for a in alerts] == [("CREDIT_DOWNGRADE", "orange")]
        assert "A → D" in alerts[0]["title"]
        await client.post(f"/risk/accounts/{alerted}/signals", json={"value": "4", "title": "债务违约"}, headers=MAKER)

        order = {"amount": "1000", "record": False}
        for account_id, code in ((downgraded, "credit_grade"), (alerted, "red_alert")):
            check = (await client.post(f"/risk/accounts/{account_id}/credit-check", json=order, headers=MAKER)).json()
            assert check["decision"] == "block", check
            assert code in [r["code"] for r in check["reasons"]]
    # Without the rule the same red alert blocks nothing.
    relaxed = _app(await sqlite_database("risk-relaxed"))
    async with running(relaxed) as client:
        account_id = await add_account(relaxed, "红色预警客户")
        request = await _request(client, account_id, "1000000")
        await client.post(f"/risk/limit-requests/{request['id']}/approve", headers=CHECKER)
        await client.post(
            f"/risk/accounts/{account_id}/signals", json={"value": "4", "title": "债务违约"}, headers=MAKER
        )
        check = (await client.post(f"/risk/accounts/{account_id}/credit-check", json=order, headers=MAKER)).json()
        assert check["decision"] == "pass", check


async def test_grading_needs_the_minimum_of_factors_and_a_stored_nan_bound_is_no_500(sqlite_database):
    app = _app(await sqlite_database("risk"))
    async with running(app) as client:
        account_id = await add_account(app, "格力电器")
        url = f"/risk/accounts/{account_id}/assessments"
        one = await client.post(url, json={"external_rating": "AA"}, headers=MAKER)
        assert one.status_code == 422
        named = {e["field"] for e in one.json()["errors"]}
        assert named == {
            "days_sales_outstanding",
            "days_past_due",
            "overdue_ratio",
            "revenue_trend",
            "debt_ratio",
            "operating_cash_flow_margin",
        }
        assert one.json()["missing_factors"][0] == "days_sales_outstanding"

        # A scorecard with a NaN bound stored before validation existed made every assessment a 500.
        broken = scorecard_to_dict(DEFAULT_SCORECARD)
        broken["factors"][1]["bands"][0]["bound"] = "NaN"
        async with app.state.db.transaction() as session:
            session.add(ScorecardConfig(id=1, config=broken, version=2, updated_by="legacy", updated_at=START))
        refused = await client.post(url, json=GRADE_INPUTS["A"], headers=MAKER)
        assert refused.status_code == 409, refused.text
        assert "PUT /risk/scorecard" in refused.json()["detail"]
        body = {k: v for k, v in scorecard_to_dict(DEFAULT_SCORECARD).items() if k != "version"}
        fixed = await client.put("/risk/scorecard", json=body, headers={**MAKER, "If-Match": '"2"'})
        assert fixed.status_code == 200, fixed.text
        assert (await client.post(url, json=GRADE_INPUTS["A"], headers=MAKER)).json()["grade"] == "A"
        # Through the API the same scorecard is refused, each point named.
        for change, why in (
            (("floor_points", 101), "points"),
            (("bands", [{"bound": "60", "points": 35}, {"bound": "30", "points": 60}]), "bands"),
        ):
            bad = scorecard_to_dict(DEFAULT_SCORECARD)
            bad["factors"][0][change[0]] = change[1]
            put = await client.put(
                "/risk/scorecard", json={k: v for k, v in bad.items() if k != "version"}, headers=MAKER
            )
            assert put.status_code == 422, (why, put.text)


def _factor(**change: Any) -> dict[str, Any]:
    data = scorecard_to_dict(DEFAULT_SCORECARD)
    data["factors"][0].update(change)
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_factor(bands=[{"bound": "NaN", "points": 100}]), "finite"),
        (_factor(bands=[{"bound": "Infinity", "points": 100}]), "finite"),
        (_factor(weight="NaN"), "finite"),
        (_factor(weight="-5"), "negative"),
        (_factor(bands=[{"bound": "30", "points": 120}]), "0 to 100"),
        (_factor(bands=[{"bound": "30", "points": 50}], floor_points=80), "more points"),
        (_factor(bands=[{"bound": "60", "points": 60}, {"bound": "30", "points": 100}]), "best bound"),
        ({**_factor(), "factors": [_factor()["factors"][0]] * 2}, "once"),
        ({**_factor(), "factors": [{**_factor()["factors"][0], "weight": "0"}]}, "positive weight"),
    ],
)
def test_an_inconsistent_scorecard_is_refused_naming_why(data, message):
    with pytest.raises(ValueError, match=message):
        scorecard_from_dict(data)


@pytest.mark.parametrize(
    "settings",
    [
        {"suggested_limits": {"A": "1", "B": "1", "C": "1", "D": "1"}},  # E missing
        {"suggested_limits": {"A": "1", "B": "2", "C": "1", "D": "1", "E": "0"}},  # grows towards E
        {"suggested_limits": {"A": "1", "B": "1", "C": "1", "D": "1", "E": "-1"}},
        {"suggested_limits": {"A": "NaN", "B": "1", "C": "1", "D": "1", "E": "0"}},
        {"review_interval_months": {"A": 3, "B": 6, "C": 6, "D": 6, "E": 3}},  # a worse grade reviewed less often
        {"review_interval_months": {"A": 12, "B": 9, "C": 6, "D": 4, "E": 0}},
        {"limit_approval_thresholds": {"CNY": "-1"}},
        {"limit_approval_thresholds": {"元": "1000"}},
        {"min_scoring_factors": 0},
        {"order_block_grades": ["D"], "order_warn_grades": ["D"]},
        {"order_block_grades": ["F"]},
    ],
)
def test_credit_case_settings_are_validated_at_start(settings):
    with pytest.raises(ValidationError):
        service_settings(RiskSettings, database_url="sqlite+aiosqlite://", nats_url=None, **settings)
