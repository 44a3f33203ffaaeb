"""Registry reviews (issue 13, point 3): possible duplicates flagged before registration (same name key or credit-code
family; hidden accounts counted, never named; refused with 409 unless confirmed, audited; in batches too), the field
history of profile, ratings and ownership, and self-reported score inputs that wait for a KA supervisor (four eyes)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.scoring.models import audit_log
from services.scoring.registry.credit_code import check_character
from services.scoring.registry.matching import credit_family, name_key
from tests.scoring.support import account_payload, credit_code, outbox_events, running_with_people, scoring_app
from tests.support import auth, if_match

SUP = auth("supervisor", user_id="sup-wang")
ZHOU = auth("supervisor", user_id="sup-zhou")
LI = auth("account_manager", user_id="am-li")
ZHANG = auth("account_manager", user_id="am-zhang")
ZHAO = auth("account_manager", user_id="am-zhao")


def _code(first17: str) -> str:
    return first17 + check_character(first17)


async def _register(client: httpx.AsyncClient, name: str, who: dict[str, str] = SUP, **fields: Any) -> dict[str, Any]:
    r = await client.post("/accounts", json=account_payload(name, **fields), headers=who)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _patch(client: httpx.AsyncClient, account: str, body: dict[str, Any], who: dict[str, str]) -> httpx.Response:
    current = await client.get(f"/accounts/{account}", headers=who)
    return await client.patch(f"/accounts/{account}", json=body, headers={**who, **if_match(current)})


async def _audited(app: Any, action: str) -> list[tuple[str, str, Any]]:
    async with app.state.db.transaction() as session:
        rows = await session.execute(
            select(audit_log.c.actor_id, audit_log.c.object_id, audit_log.c.after)
            .where(audit_log.c.action == action)
            .order_by(audit_log.c.id)
        )
        return [tuple(r) for r in rows.all()]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("上海汽车集团股份有限公司", "上海汽车集团　有限公司"),  # full-width space, another legal form
        ("上海汽车集团股份有限公司", "上海汽车集团"),
        ("西门子（中国）有限公司", "西门子(中国)"),  # full-width brackets
        ("ＡＢＣ Technology Co., Ltd.", "abc technology limited"),
        ("Costco", "COSTCO Inc."),
    ],
)
def test_names_that_differ_in_case_width_spacing_or_legal_form_share_a_key(a: str, b: str):
    assert name_key(a) == name_key(b) is not None


def test_different_names_and_codes_of_another_organisation_do_not_match():
    assert name_key("上海汽车集团") != name_key("上海电气集团")
    assert name_key("Cost Co") != name_key("Costa")
    base = _code("91310000123456789")
    # The same registration authority, province and organisation code (another entity type, city or county) …
    assert credit_family(base) == credit_family(_code("93310115123456789"))
    # … but not another organisation code, province or registration authority.
    assert credit_family(base) != credit_family(_code("91310000123456780"))
    assert credit_family(base) != credit_family(_code("91320000123456789"))
    assert credit_family(base) != credit_family(_code("51310000123456789"))


async def test_possible_duplicates_are_flagged_refused_and_registered_only_when_confirmed(make_database):
    app = scoring_app(await make_database("scoring"))
    async with running_with_people(app) as client:
        code = _code("91310000123456789")
        saic = await _register(client, "上海汽车集团股份有限公司", credit_code=code)

        # The check names the visible candidate with the reason: the same name, or the same credit-code family.
        check = await client.post("/accounts/duplicate-check", json={"name": "上海汽车集团　有限公司"}, headers=SUP)
        assert check.status_code == 200, check.text
        found = check.json()
        assert found["likely_duplicate"] and found["hidden_duplicates"] == []
        assert [(d["account_id"], d["reasons"]) for d in found["duplicates"]] == [(saic["id"], ["same_name"])]
        family = {"name": "上汽", "credit_code": _code("93310115123456789")}
        by_code = (await client.post("/accounts/duplicate-check", json=family, headers=SUP)).json()
        assert [d["reasons"] for d in by_code["duplicates"]] == [["same_credit_code_family"]]
        fresh = (await client.post("/accounts/duplicate-check", json={"name": "上海电气"}, headers=SUP)).json()
        assert fresh == {"likely_duplicate": False, "duplicates": [], "hidden_duplicates": []}

        # Another account manager learns that a duplicate exists, not which account it is.
        body = account_payload("上海汽车集团有限公司", owner_id="am-zhang")
        refused = await client.post("/accounts", json=body, headers=ZHANG)
        assert refused.status_code == 409, refused.text
        problem = refused.json()
        assert problem["type"].endswith("/possible-duplicate") and problem["field"] == "name"
        assert problem["duplicates"] == [] and problem["hidden_duplicates"] == [{"reasons": ["same_name"]}]
        assert saic["id"] not in refused.text and code not in refused.text
        same_code = account_payload("别名公司", owner_id="am-zhang", credit_code=code, confirm_not_duplicate=True)
        taken = await client.post("/accounts", json=same_code, headers=ZHANG)  # one code, one account, never named
        assert taken.status_code == 409 and taken.json()["field"] == "credit_code" and saic["id"] not in taken.text
        hidden = (await client.post("/accounts/duplicate-check", json={"name": "上海汽车集团"}, headers=ZHANG)).json()
        assert hidden["duplicates"] == [] and len(hidden["hidden_duplicates"]) == 1
        mine = (await client.post("/accounts/duplicate-check", json={"name": "上海汽车集团"}, headers=LI)).json()
        assert [d["account_id"] for d in mine["duplicates"]] == [saic["id"]]  # am-li owns it

        # Confirmed, it is registered and the confirmation audited with the candidates.
        confirmed = await client.post("/accounts", json={**body, "confirm_not_duplicate": True}, headers=ZHANG)
        assert confirmed.status_code == 201, confirmed.text
        [(actor, object_id, after)] = await _audited(app, "account.duplicate_confirmed")
        assert (actor, object_id) == ("am-zhang", confirmed.json()["id"])
        assert after["candidates"] == [{"account_id": saic["id"], "reasons": ["same_name"]}]

        # Two registered entities that share a name but not a credit-code family are not one company.
        await _register(client, "宁德时代", credit_code=credit_code(2))
        await _register(client, "宁德时代 Co., Ltd.", credit_code=credit_code(3))

        # A batch refuses a duplicate within itself (naming the row) until that row is confirmed.
        rows = [account_payload("常州机械"), account_payload("常州机械有限公司")]
        batch = await client.post("/accounts/batch", json={"accounts": rows}, headers=SUP)
        assert batch.status_code == 409 and batch.json()["field"] == "accounts.1.name", batch.text
        assert [d["name"] for d in batch.json()["duplicates"]] == ["常州机械"]
        rows[1]["confirm_not_duplicate"] = True
        batch = await client.post("/accounts/batch", json={"accounts": rows}, headers=SUP)
        assert batch.status_code == 201 and len(batch.json()["items"]) == 2, batch.text


async def test_renaming_an_account_into_a_possible_duplicate_is_refused_until_confirmed(make_database):
    app = scoring_app(await make_database("scoring"))
    async with running_with_people(app) as client:
        saic = await _register(client, "上海汽车集团股份有限公司", credit_code=_code("91310000123456789"))
        other = await _register(client, "上海电气")  # no credit code yet: a same name counts
        # Its own name again, another spelling of it, is never its own duplicate.
        respelt = await _patch(client, saic["id"], {"name": "上海汽车集团有限公司"}, SUP)
        assert respelt.status_code == 200, respelt.text
        refused = await _patch(client, other["id"], {"name": "上海汽车集团"}, SUP)
        assert refused.status_code == 409, refused.text
        assert refused.json()["field"] == "name" and refused.json()["type"].endswith("/possible-duplicate")
        assert [d["account_id"] for d in refused.json()["duplicates"]] == [saic["id"]]
        family = await _patch(client, other["id"], {"credit_code": _code("93310115123456789")}, SUP)
        assert family.status_code == 409 and family.json()["duplicates"][0]["reasons"] == ["same_credit_code_family"]
        unchanged = (await client.get(f"/accounts/{other['id']}", headers=SUP)).json()
        assert (unchanged["name"], unchanged["credit_code"]) == ("上海电气", None)
        renamed = await _patch(client, other["id"], {"name": "上海汽车集团", "confirm_not_duplicate": True}, SUP)
        assert renamed.status_code == 200 and renamed.json()["name"] == "上海汽车集团", renamed.text
        [(actor, object_id, after)] = await _audited(app, "account.duplicate_confirmed")
        assert (actor, object_id, after["candidates"][0]["account_id"]) == ("sup-wang", other["id"], saic["id"])


async def test_every_change_of_profile_ratings_and_ownership_is_in_the_field_history(make_database):
    app = scoring_app(await make_database("scoring"))
    async with running_with_people(app) as client:
        account = (await _register(client, "苏州精工"))["id"]
        assert (await _patch(client, account, {"region": "华南", "listed": True}, SUP)).status_code == 200
        current = await client.get(f"/accounts/{account}", headers=SUP)
        team = {"owner_id": "am-zhang", "team_member_ids": ["am-li"]}
        put = await client.put(f"/accounts/{account}/team", json=team, headers={**SUP, **if_match(current)})
        assert put.status_code == 200, put.text
        current = await client.get(f"/accounts/{account}", headers=SUP)
        ratings = {"industry_leadership": "8.5", "rationale": "行业龙头"}
        put = await client.put(f"/accounts/{account}/ratings", json=ratings, headers={**SUP, **if_match(current)})
        assert put.status_code == 200, put.text

        page = (await client.get(f"/accounts/{account}/history", headers=SUP)).json()
        changes = [(c["field"], c["old_value"], c["new_value"], c["changed_by"]) for c in page["items"]]
        assert page["total"] == len(changes) == 6
        # Newest first: the ratings, then the team, then the profile (fields of one change in any order).
        assert sorted(changes[:2]) == [
            ("industry_leadership", None, "8.5", "sup-wang"),
            ("ratings_rationale", None, "行业龙头", "sup-wang"),
        ]
        assert sorted(changes[2:4]) == [
            ("owner_id", "am-li", "am-zhang", "sup-wang"),
            ("team_member_ids", [], ["am-li"], "sup-wang"),
        ]
        assert sorted(changes[4:]) == [("listed", False, True, "sup-wang"), ("region", "华东", "华南", "sup-wang")]
        assert all(c["changed_at"] and c["approved_by"] is None for c in page["items"])

        regions = (await client.get(f"/accounts/{account}/history", params={"field": "region"}, headers=LI)).json()
        assert [(c["old_value"], c["new_value"]) for c in regions["items"]] == [("华东", "华南")]
        one = (await client.get(f"/accounts/{account}/history", params={"limit": 1, "offset": 1}, headers=SUP)).json()
        assert one["total"] == 6 and len(one["items"]) == 1 and one["items"][0]["id"] == page["items"][1]["id"]
        assert (await client.get(f"/accounts/{account}/history", headers=ZHAO)).status_code == 404  # not in the team
        bad = await client.get(f"/accounts/{account}/history", params={"field": "score"}, headers=SUP)
        assert bad.status_code == 422


async def test_an_account_managers_score_inputs_count_only_once_another_supervisor_approves(make_database):
    app = scoring_app(await make_database("scoring"))
    async with running_with_people(app) as client:
        account = (await _register(client, "无锡电子"))["id"]
        before = (await client.get(f"/accounts/{account}", headers=SUP)).json()

        # The owner's PATCH: the region applies, cooperation since waits (202 with the request).
        held = await _patch(client, account, {"cooperation_since": "2005-03-01", "region": "华北"}, LI)
        assert held.status_code == 202, held.text
        request = held.json()
        assert request["status"] == "pending" and request["status_label"]["label_zh"] == "待审批"
        assert request["changes"] == {"cooperation_since": "2005-03-01"} and request["previous"] == {
            "cooperation_since": None
        }
        assert held.headers["Location"] == f"/accounts/{account}/change-requests/{request['id']}"
        now = (await client.get(f"/accounts/{account}", headers=SUP)).json()
        assert now["cooperation_since"] is None and now["region"] == "华北" and now["score"] == before["score"]
        assert held.headers["ETag"] == f'"{now["version"]}"'
        history = (await client.get(f"/accounts/{account}/history", headers=SUP)).json()
        assert [c["field"] for c in history["items"]] == ["region"]

        # The supervisors' queue; an account manager may not decide, the requester neither (four eyes).
        queue = (await client.get("/accounts/change-requests", headers=SUP)).json()
        assert [r["id"] for r in queue["items"]] == [request["id"]] and queue["items"][0]["account_name"] == "无锡电子"
        base = f"/accounts/{account}/change-requests/{request['id']}"
        assert (await client.post(f"{base}/approve", json={}, headers=LI)).status_code == 403
        proposal = {"industry_leadership": "9", "rationale": "自评"}
        own = await client.post(f"/accounts/{account}/change-requests", json=proposal, headers=ZHOU)
        assert own.status_code == 201, own.text
        own_path = f"/accounts/{account}/change-requests/{own.json()['id']}"
        assert (await client.post(f"{own_path}/approve", json={}, headers=ZHOU)).status_code == 403

        # Approved by a supervisor, it counts: the account, its score, the history (requester, approver), an event.
        updated_before = len(await outbox_events(app, "accounts.updated"))
        approved = await client.post(f"{base}/approve", json={"note": "合同佐证"}, headers=SUP)
        assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.text
        assert approved.json()["decided_by"] == "sup-wang"
        after = (await client.get(f"/accounts/{account}", headers=SUP)).json()
        assert after["cooperation_since"] == "2005-03-01" and after["score"] != before["score"]
        [change] = (
            await client.get(f"/accounts/{account}/history", params={"field": "cooperation_since"}, headers=SUP)
        ).json()["items"]
        assert (change["old_value"], change["new_value"], change["changed_by"], change["approved_by"]) == (
            None,
            "2005-03-01",
            "am-li",
            "sup-wang",
        )
        assert change["change_request_id"] == request["id"]
        assert len(await outbox_events(app, "accounts.updated")) == updated_before + 1
        again = await client.post(f"{base}/approve", json={}, headers=ZHOU)
        assert again.status_code == 409, again.text
        assert [a for _, a, _ in await _audited(app, "account.change_approved")] == [account]

        # A rejected proposal leaves the account and its score as they were.
        proposal = {"product_fit": "10", "expected_growth_pct": "50", "rationale": "自评", "note": "新项目"}
        asked = await client.post(f"/accounts/{account}/change-requests", json=proposal, headers=LI)
        assert asked.status_code == 201, asked.text
        path = f"/accounts/{account}/change-requests/{asked.json()['id']}"
        assert (await client.post(f"{path}/reject", json={}, headers=SUP)).status_code == 422  # a reason is needed
        rejected = await client.post(f"{path}/reject", json={"reason": "缺少依据"}, headers=SUP)
        assert rejected.status_code == 200 and rejected.json()["status"] == "rejected", rejected.text
        assert rejected.json()["decision_reason"] == "缺少依据"
        final = (await client.get(f"/accounts/{account}", headers=SUP)).json()
        assert final["product_fit"] is None and final["expected_growth_pct"] is None
        assert final["score"] == after["score"]
        assert len(await _audited(app, "account.change_rejected")) == 1
        listed = (await client.get("/accounts/change-requests", params={"status": "rejected"}, headers=SUP)).json()
        assert [r["id"] for r in listed["items"]] == [asked.json()["id"]]
        # Another account manager sees neither the requests nor the account.
        assert (await client.get("/accounts/change-requests", headers=ZHAO)).json()["total"] == 0
        assert (await client.get(path, headers=ZHAO)).status_code == 404

        # A supervisor's own change applies at once.
        direct = await _patch(client, account, {"cooperation_since": "2001-01-01"}, SUP)
        assert direct.status_code == 200 and direct.json()["cooperation_since"] == "2001-01-01", direct.text


async def test_cooperation_since_an_account_manager_registers_waits_for_approval_too(make_database):
    app = scoring_app(await make_database("scoring"))
    async with running_with_people(app) as client:
        mine = await _register(client, "南通纺织", LI, cooperation_since="2008-06-01")
        assert mine["cooperation_since"] is None and len(mine["pending_change_request_ids"]) == 1
        [request] = mine["pending_change_request_ids"]
        path = f"/accounts/{mine['id']}/change-requests/{request}"
        assert (await client.get(path, headers=LI)).json()["changes"] == {"cooperation_since": "2008-06-01"}
        assert (await client.post(f"{path}/approve", json={}, headers=SUP)).status_code == 200
        approved = (await client.get(f"/accounts/{mine['id']}", headers=LI)).json()
        assert approved["cooperation_since"] == "2008-06-01" and approved["pending_change_request_ids"] == []
        theirs = await _register(client, "常州纺织", SUP, cooperation_since="2008-06-01")  # a supervisor's counts
        assert theirs["cooperation_since"] == "2008-06-01" and theirs["pending_change_request_ids"] == []


def test_the_history_filter_names_exactly_the_fields_the_history_keeps():
    """``?field=`` of ``GET /accounts/{id}/history`` is a Literal for the OpenAPI; it must follow TRACKED_FIELDS."""
    from typing import get_args

    from services.scoring.registry.field_history import TRACKED_FIELDS
    from services.scoring.registry.schemas import HistoryField

    assert sorted(get_args(HistoryField)) == sorted(TRACKED_FIELDS)
