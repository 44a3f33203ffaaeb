"""The KA registry over HTTP: registration, events and projection, visibility, problem+json errors."""

from __future__ import annotations

from sqlalchemy import select

from services.scoring.models import platform
from tests.scoring.support import account_payload, credit_code, outbox_events, running_with_people, scoring_app
from tests.support import auth

SUP = auth("supervisor", user_id="sup-wang")
LI = auth("account_manager", user_id="am-li")
ZHANG = auth("account_manager", user_id="am-zhang")


async def test_registering_an_account_projects_it_publishes_registered_and_scores_it(make_database):
    app = scoring_app(await make_database("scoring"))
    async with running_with_people(app) as client:
        body = account_payload(
            credit_code=credit_code(1),
            name_en="SAIC Motor",
            team_member_ids=["am-zhang"],
            contacts=[{"name": "王总", "title": "总经理", "level": "executive"}],
        )
        r = await client.post("/accounts", json=body, headers=SUP)
        assert r.status_code == 201, r.text
        account = r.json()
        assert account["name"] == "上海汽车集团股份有限公司"
        assert account["tier"] == "maintain" and account["tier_label"]["label_zh"] == "维护客户"
        assert account["contacts"][0]["level"] == "executive"
        events = await outbox_events(app)
        assert [e["type"] for e in events] == [
            "accounts.registered",
            "accounts.contact_changed",
            "accounts.tier_changed",
        ]
        assert events[0]["data"]["owner_id"] == "am-li" and events[0]["data"]["team_member_ids"] == ["am-zhang"]
        async with app.state.db.transaction() as session:
            projected = (
                (
                    await session.execute(
                        select(platform.accounts).where(platform.accounts.c.account_id == account["id"])
                    )
                )
                .mappings()
                .one()
            )
        assert projected["name"] == account["name"] and projected["tier"] == "maintain"
        # The team member sees it; the other manager is also on the team here, so both see it.
        assert (await client.get(f"/accounts/{account['id']}", headers=ZHANG)).status_code == 200


async def test_account_managers_list_only_their_own_book(sqlite_database):
    app = scoring_app(await sqlite_database("scoring"))
    async with running_with_people(app) as client:
        for i, (owner, team) in enumerate([("am-li", []), ("am-li", []), ("am-zhang", []), ("am-zhang", ["am-li"])]):
            r = await client.post(
                "/accounts", json=account_payload(f"客户{i}", owner_id=owner, team_member_ids=team), headers=SUP
            )
            assert r.status_code == 201
        li = (await client.get("/accounts", headers=LI)).json()
        zhang = (await client.get("/accounts", headers=ZHANG)).json()
        everyone = (await client.get("/accounts", params={"sort": "-name", "limit": 2}, headers=SUP)).json()
        other = next(a for a in zhang["items"] if a["owner_id"] == "am-zhang" and not a["team_member_ids"])
        hidden = await client.get(f"/accounts/{other['id']}", headers=LI)
    assert li["total"] == 3 and {a["name"] for a in li["items"]} == {"客户0", "客户1", "客户3"}
    assert zhang["total"] == 2
    assert everyone["total"] == 4 and [a["name"] for a in everyone["items"]] == ["客户3", "客户2"]
    assert hidden.status_code == 404


async def test_list_filters_by_owner_industry_region_status(sqlite_database):
    app = scoring_app(await sqlite_database("scoring"))
    async with running_with_people(app) as client:
        await client.post("/accounts", json=account_payload("甲", industry="医药", region="华南"), headers=SUP)
        await client.post("/accounts", json=account_payload("乙", industry="医药", region="华北"), headers=SUP)
        await client.post(
            "/accounts", json=account_payload("丙", owner_id="am-zhang", status="key_account"), headers=SUP
        )
        by_industry = (await client.get("/accounts", params={"industry": "医药"}, headers=SUP)).json()
        by_region = (await client.get("/accounts", params={"region": "华北"}, headers=SUP)).json()
        by_owner = (await client.get("/accounts", params={"owner_id": "am-zhang"}, headers=SUP)).json()
        by_status = (await client.get("/accounts", params={"status": "key_account"}, headers=SUP)).json()
        by_tier = (await client.get("/accounts", params={"tier": "maintain"}, headers=SUP)).json()
        bad_sort = await client.get("/accounts", params={"sort": "secret"}, headers=SUP)
    assert {a["name"] for a in by_industry["items"]} == {"甲", "乙"}
    assert [a["name"] for a in by_region["items"]] == ["乙"]
    assert [a["name"] for a in by_owner["items"]] == ["丙"]
    assert [a["name"] for a in by_status["items"]] == ["丙"]
    assert by_tier["total"] == 3
    assert bad_sort.status_code == 422 and bad_sort.json()["errors"][0]["field"] == "sort"


async def test_invalid_credit_code_unknown_account_and_bad_model_are_problem_json(sqlite_database):
    app = scoring_app(await sqlite_database("scoring"))
    async with running_with_people(app) as client:
        wrong_digit = credit_code(7)[:-1] + ("0" if credit_code(7)[-1] != "0" else "1")
        bad_code = await client.post("/accounts", json=account_payload(credit_code=wrong_digit), headers=SUP)
        unknown = await client.get("/accounts/00000000-0000-0000-0000-000000000000/score", headers=SUP)
        bad_model = await client.post(
            "/scoring/models",
            json={
                "name": "bad",
                "definition": {
                    "indicators": [
                        {"code": "annual_purchases", "weight": "70", "normalisation": {"method": "percentile"}},
                        {"code": "channel_value", "weight": "20", "normalisation": {"method": "percentile"}},
                    ]
                },
            },
            headers=SUP,
        )
        unknown_indicator = await client.post(
            "/scoring/models",
            json={
                "name": "bad",
                "definition": {
                    "indicators": [{"code": "horoscope", "weight": "100", "normalisation": {"method": "percentile"}}]
                },
            },
            headers=SUP,
        )
    for response in (bad_code, unknown, bad_model, unknown_indicator):
        assert response.headers["content-type"] == "application/problem+json"
    assert bad_code.status_code == 422 and bad_code.json()["field"] == "credit_code"
    assert "check digit" in bad_code.json()["detail"]
    assert unknown.status_code == 404
    assert bad_model.status_code == 422 and "sum to 90" in bad_model.json()["detail"]
    assert unknown_indicator.status_code == 422 and unknown_indicator.json()["field"] == "indicators.0.code"


async def test_duplicate_credit_code_is_a_conflict_and_idempotency_key_replays(sqlite_database):
    app = scoring_app(await sqlite_database("scoring"))
    async with running_with_people(app) as client:
        body = account_payload(credit_code=credit_code(3))
        key = {**SUP, "Idempotency-Key": "reg-1"}
        first = await client.post("/accounts", json=body, headers=key)
        replay = await client.post("/accounts", json=body, headers=key)
        duplicate = await client.post("/accounts", json=body, headers=SUP)
        listed = (await client.get("/accounts", headers=SUP)).json()
    assert first.status_code == 201 and replay.status_code == 201
    assert replay.json()["id"] == first.json()["id"]
    assert duplicate.status_code == 409
    assert listed["total"] == 1


async def test_update_with_stale_etag_is_refused_and_team_change_publishes_owner_changed(sqlite_database):
    app = scoring_app(await sqlite_database("scoring"))
    async with running_with_people(app) as client:
        created = await client.post("/accounts", json=account_payload(), headers=SUP)
        account_id, etag = created.json()["id"], created.headers["etag"]
        ok = await client.patch(f"/accounts/{account_id}", json={"region": "华南"}, headers={**SUP, "If-Match": etag})
        stale = await client.patch(
            f"/accounts/{account_id}", json={"region": "西南"}, headers={**SUP, "If-Match": etag}
        )
        team = await client.put(
            f"/accounts/{account_id}/team", json={"owner_id": "am-zhang", "team_member_ids": []}, headers=SUP
        )
        li_after = await client.get(f"/accounts/{account_id}", headers=LI)
        by_manager = await client.put(f"/accounts/{account_id}/team", json={"owner_id": "am-li"}, headers=ZHANG)
    assert ok.status_code == 200 and ok.json()["region"] == "华南"
    assert stale.status_code == 412
    assert team.status_code == 200 and team.json()["owner_id"] == "am-zhang"
    assert li_after.status_code == 404
    assert by_manager.status_code == 403
    owner_changed = await outbox_events(app, "accounts.owner_changed")
    assert [(e["data"]["old_owner_id"], e["data"]["new_owner_id"]) for e in owner_changed] == [("am-li", "am-zhang")]
    assert len(await outbox_events(app, "accounts.updated")) == 1


async def test_account_managers_register_only_for_themselves_and_viewers_change_nothing(sqlite_database):
    app = scoring_app(await sqlite_database("scoring"))
    viewer = auth("viewer", user_id="viewer-zhao")
    async with running_with_people(app) as client:
        own = await client.post("/accounts", json=account_payload(owner_id=None), headers=LI)
        for_other = await client.post("/accounts", json=account_payload("乙", owner_id="am-zhang"), headers=LI)
        self_rated = await client.post(
            "/accounts", json=account_payload("丙", ratings={"industry_leadership": "10", "rationale": "x"}), headers=LI
        )
        by_viewer = await client.post("/accounts", json=account_payload("丁"), headers=viewer)
        viewer_patch = await client.patch(f"/accounts/{own.json()['id']}", json={"region": "华北"}, headers=viewer)
        viewer_read = await client.get(f"/accounts/{own.json()['id']}", headers=viewer)
    assert own.status_code == 201 and own.json()["owner_id"] == "am-li"
    assert for_other.status_code == 403 and self_rated.status_code == 403
    assert by_viewer.status_code == 403 and viewer_patch.status_code == 403
    assert viewer_read.status_code == 200


async def test_a_batch_import_scores_everyone_in_one_pass_and_is_all_or_none(make_database):
    app = scoring_app(await make_database("scoring"))
    async with running_with_people(app) as client:
        bodies = [
            account_payload(
                f"导入客户{i}",
                credit_code=credit_code(100 + i),
                ratings={"industry_leadership": str(3 * i), "rationale": "导入"},
                contacts=[{"name": "赵总", "level": "executive"}] if i == 2 else [],
                engagements=[{"kind": "visit", "level": "execution", "occurred_on": "2026-11-01"}],
            )
            for i in range(3)
        ]
        bad = [*bodies[:1], account_payload("坏的", credit_code="914403001922038217")]
        refused = await client.post("/accounts/batch", json={"accounts": bad}, headers=SUP)
        after_refusal = (await client.get("/accounts", headers=SUP)).json()["total"]
        by_manager = await client.post("/accounts/batch", json={"accounts": bodies}, headers=LI)
        imported = await client.post("/accounts/batch", json={"accounts": bodies}, headers=SUP)
        one_by_one = []
        for body in bodies:  # the same accounts registered singly score exactly the same
            single = {**body, "credit_code": None, "name": body["name"] + "（单独）"}
            one_by_one.append((await client.post("/accounts", json=single, headers=SUP)).json())
        engagements = (
            await client.get(f"/accounts/{imported.json()['items'][0]['id']}/engagements", headers=SUP)
        ).json()
        last = imported.json()["items"][2]
        history = (await client.get(f"/accounts/{last['id']}/tier-history", headers=SUP)).json()
    assert refused.status_code == 422 and refused.json()["field"] == "accounts.1.credit_code"
    assert after_refusal == 0
    assert by_manager.status_code == 403
    assert imported.status_code == 201
    items = imported.json()["items"]
    assert [a["name"] for a in items] == ["导入客户0", "导入客户1", "导入客户2"]
    assert all(a["tier"] == "maintain" and a["score"] is not None for a in items)
    assert [a["score"] for a in items] == [a["score"] for a in one_by_one]
    assert engagements[0]["occurred_on"] == "2026-11-01"
    assert [h["reason"] for h in history] == [f"registered: score {last['score']} under model v1 → maintain"]
    registered = await outbox_events(app, "accounts.registered")
    changed = await outbox_events(app, "accounts.tier_changed")
    assert len(registered) == 6 and len(changed) == 6
    assert {e["account_id"] for e in changed[:3]} == {a["id"] for a in items}
