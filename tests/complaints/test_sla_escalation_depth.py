"""SLA and escalation in depth (issue 13 item 8): policies narrowed by category and channel (the most specific
wins), policy history, the customer-update warning, per-tier ladders of real people, the 409 at the top, and the
queues with honoured filters."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.complaints.jobs import run_sla_check
from shared.clock import FrozenClock
from tests.complaints.helpers import (
    LI,
    MONDAY_9AM_BEIJING,
    SUPERVISOR,
    make_app,
    open_complaint,
    outbox_events,
    register_account,
)
from tests.support import auth, register_users, running

DIRECTOR = auth("supervisor", user_id="director")


def _policy(first_response_minutes: int) -> dict[str, int]:
    return {
        "first_response_minutes": first_response_minutes,
        "update_interval_minutes": 600,
        "resolution_minutes": 6000,
    }


# (tier, category, channel) policies of severity high, by their first-response minutes.
POLICIES = {
    ("key", "*", "*"): 500,
    ("default", "product_quality", "*"): 400,
    ("default", "*", "wecom"): 300,
    ("key", "product_quality", "*"): 200,
    ("default", "battery_cells", "*"): 150,
    ("key", "product_quality", "wecom"): 100,
}
CASES = [
    # (tier, category, channel) of the complaint → the policy that governs it
    (("default", "other", "phone"), ("default", "*", "*")),
    (("key", "other", "phone"), ("key", "*", "*")),
    (("default", "product_quality", "phone"), ("default", "product_quality", "*")),
    (("default", "other", "wecom"), ("default", "*", "wecom")),
    # two conditions beat one: a key product-quality complaint over the default tier's wecom policy
    (("key", "product_quality", "phone"), ("key", "product_quality", "*")),
    # equal counts: category beats channel
    (("default", "product_quality", "wecom"), ("default", "product_quality", "*")),
    (("key", "product_quality", "wecom"), ("key", "product_quality", "wecom")),
    # the sub-category's own policy over its parent's; without one its parent's
    (("default", "battery_cells", "phone"), ("default", "battery_cells", "*")),
    (("default", "cell_leakage", "phone"), ("default", "product_quality", "*")),
]


async def test_the_most_specific_matching_policy_governs_intake_and_the_preview(make_database):
    app = make_app(await make_database("complaints"), FrozenClock(MONDAY_9AM_BEIJING))
    async with running(app, headers=SUPERVISOR) as client:
        for code in ("battery_cells", "cell_leakage"):
            sub = {"label_zh": code, "label_en": code, "parent_code": "product_quality"}
            assert (await client.put(f"/complaints/categories/{code}", json=sub)).status_code == 200
        for (tier, category, channel), minutes in POLICIES.items():
            saved = await client.put(
                f"/complaints/sla-policies/{tier}/high",
                params={"category": category, "channel": channel},
                json=_policy(minutes),
            )
            assert saved.status_code == 200, saved.text
        unknown = await client.put("/complaints/sla-policies/key/high", params={"category": "nope"}, json=_policy(9))
        previews = {}
        for (tier, category, channel), _ in CASES:
            params = {"tier": tier, "severity": "high", "category": category, "channel": channel}
            previews[(tier, category, channel)] = (
                await client.get("/complaints/sla-preview", params={**params, "received_at": "2026-03-02T09:00:00Z"})
            ).json()
        account_id = await register_account(app, tier="key")
        opened = await open_complaint(client, account_id, category="product_quality", channel="wecom")
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "category"
    for complaint, governing in CASES:
        got = previews[complaint]
        assert (got["policy_tier"], got["policy_category"], got["policy_channel"]) == governing, complaint
    assert (opened["policy_tier"], opened["policy_category"], opened["policy_channel"]) == (
        "key",
        "product_quality",
        "wecom",
    )
    assert opened["first_response_due_at"] == "2026-03-02T02:40:00Z"  # 100 minutes after intake


async def test_every_policy_change_is_kept_with_who_when_before_and_after(sqlite_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await sqlite_database("complaints"), clock)
    async with running(app, headers=SUPERVISOR) as client:
        await client.put("/complaints/sla-policies/key/high", json=_policy(300))
        clock.advance(timedelta(hours=1))
        await client.put("/complaints/sla-policies/key/high", json=_policy(240), headers=DIRECTOR)
        await client.put("/complaints/sla-policies/key/high", params={"channel": "email"}, json=_policy(60))
        history = (await client.get("/complaints/sla-policies/key/high/history")).json()
        narrowed = (await client.get("/complaints/sla-policies/key/high/history", params={"channel": "email"})).json()
        missing = await client.get("/complaints/sla-policies/key/high/history", params={"channel": "portal"})
    assert [(h["actor_id"], h["before"], h["after"]) for h in history] == [
        ("director", {"first_response_minutes": 300, "version": 2}, {"first_response_minutes": 240, "version": 3}),
        (
            "sup-wang",
            {"first_response_minutes": 720, "update_interval_minutes": 1440, "resolution_minutes": 4320, "version": 1},
            {"first_response_minutes": 300, "update_interval_minutes": 600, "resolution_minutes": 6000, "version": 2},
        ),
    ]
    assert history[0]["at"] > history[1]["at"]
    assert [h["after"]["first_response_minutes"] for h in narrowed] == [60] and narrowed[0]["before"] is None
    assert missing.status_code == 404


async def test_the_customer_update_timer_warns_once_before_it_is_due(sqlite_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await sqlite_database("complaints"), clock)
    async with running(app, headers=SUPERVISOR) as client:
        await client.put("/complaints/sla-policies/default/high", json=_policy(600))  # update every 600 minutes
        account_id = await register_account(app)
        complaint = await open_complaint(client, account_id)
        cid = complaint["id"]
        await client.post(f"/complaints/{cid}/acknowledge", json={"message": "收到"})
        clock.advance(timedelta(minutes=450))  # 75 % of the update interval
        counts = await run_sla_check(app)
        again = await run_sla_check(app)
        read = (await client.get(f"/complaints/{cid}")).json()
    warnings = [e["data"] for e in await outbox_events(app, cid) if e["type"] == "complaints.sla_warning"]
    assert counts.get("update_warning") == 1 and "update_warning" not in again
    assert read["update_warning_at"] == "2026-03-02T08:30:00Z"
    assert read["sla"]["customer_update"] == "warning"
    assert [w["timer"] for w in warnings] == ["update"]


LADDER_REFUSALS = [
    ({"rungs": [{"user_id": "ghost"}]}, "rungs.0.user_id"),  # unknown: no placeholders
    ({"rungs": [{"user_id": "sup-wang"}, {"user_id": "am-li"}]}, "rungs.1.user_id"),  # not a supervisor or admin
    ({"rungs": [{"role": "admin"}]}, "rungs.0.role"),  # nobody active holds it
    ({"rungs": [{"role": "viewer"}]}, "rungs.0.role"),  # not a deciding role
    ({"rungs": [{"user_id": "sup-wang", "role": "supervisor"}]}, "rungs.0"),  # one target per rung
]


@pytest.mark.parametrize(("body", "field"), LADDER_REFUSALS)
async def test_a_ladder_names_only_real_active_people_or_roles(sqlite_database, body, field):
    app = make_app(await sqlite_database("complaints"), FrozenClock(MONDAY_9AM_BEIJING))
    async with running(app, headers=SUPERVISOR) as client:
        await register_account(app)  # the staff
        refused = await client.put("/complaints/escalation-ladders/key", json=body)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"].startswith(field), refused.text


async def test_a_tier_ladder_of_any_length_is_climbed_by_hand_to_its_top_then_409(make_database):
    app = make_app(await make_database("complaints"), FrozenClock(MONDAY_9AM_BEIJING))
    async with running(app, headers=SUPERVISOR) as client:
        await register_account(app)
        await register_users(app, [("vp-chen", ["admin"])])
        rungs = [{"user_id": "sup-wang"}, {"role": "supervisor"}, {"user_id": "director"}, {"role": "admin"}]
        saved = await client.put("/complaints/escalation-ladders/key", json={"rungs": rungs})
        key_account = await register_account(app, tier="key")
        plain_account = await register_account(app)  # no tier: the settings' two rungs
        key_complaint = await open_complaint(client, key_account)
        plain = await open_complaint(client, plain_account)
        climbed = [
            await client.post(f"/complaints/{key_complaint['id']}/escalate", json={"reason": "客户投诉升级"})
            for _ in range(5)
        ]
        plain_climbed = [
            await client.post(f"/complaints/{plain['id']}/escalate", json={"reason": "升级"}) for _ in range(3)
        ]
        detail = (await client.get(f"/complaints/{key_complaint['id']}")).json()
        ladders = {lad["tier"]: lad for lad in (await client.get("/complaints/escalation-ladders")).json()}
    assert saved.status_code == 200 and saved.json()["version"] == 1
    assert [r.status_code for r in climbed] == [200, 200, 200, 200, 409]
    assert climbed[-1].json()["level"] == climbed[-1].json()["top"] == 4
    # a role rung goes to its first active holder (by id) who sees the account
    assert [e["escalated_to"] for e in detail["escalations"]] == ["sup-wang", "director", "director", "vp-chen"]
    assert [r.status_code for r in plain_climbed] == [200, 200, 409]
    assert ladders["key"]["source"] == "stored" and ladders["growth"]["source"] == "settings"


async def test_queues_and_list_filters_are_honoured_and_unknown_parameters_refused(sqlite_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await sqlite_database("complaints"), clock)
    async with running(app, headers=SUPERVISOR) as client:
        account_id = await register_account(app)
        twice = await open_complaint(client, account_id, severity="critical")  # first response due in 24 h
        once = await open_complaint(client, account_id)
        quiet = await open_complaint(client, account_id, severity="low")
        for cid, times in ((twice["id"], 2), (once["id"], 1)):
            for _ in range(times):
                await client.post(f"/complaints/{cid}/escalate", json={"reason": "升级"})
        level_two = (await client.get("/complaints", params={"escalation_level": 2})).json()
        unknown = await client.get("/complaints", params={"escalation_levle": 2})
        mine_director = (await client.get("/complaints/queues/escalated-to-me", headers=DIRECTOR)).json()
        mine_sup = (await client.get("/complaints/queues/escalated-to-me")).json()
        filtered = (
            await client.get("/complaints/queues/escalated-to-me", params={"severity": "low"}, headers=DIRECTOR)
        ).json()
        clock.advance(timedelta(hours=23))
        soon = (await client.get("/complaints/queues/breaching-soon", params={"within_minutes": 90})).json()
        soon_low = (
            await client.get("/complaints/queues/breaching-soon", params={"within_minutes": 90, "severity": "low"})
        ).json()
        li_soon = (await client.get("/complaints/queues/breaching-soon", headers=LI)).json()
        queue_unknown = await client.get("/complaints/queues/breaching-soon", params={"within": 90})
    assert [c["id"] for c in level_two["items"]] == [twice["id"]]
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "escalation_levle"
    assert [c["id"] for c in mine_director["items"]] == [twice["id"]]
    assert [c["id"] for c in mine_sup["items"]] == [once["id"]]  # the other one moved on past sup-wang
    assert filtered["total"] == 0
    # all three are due 24 h after intake (first response): one hour left
    assert {c["id"] for c in soon["items"]} == {twice["id"], once["id"], quiet["id"]}
    assert [c["id"] for c in soon_low["items"]] == [quiet["id"]]
    assert li_soon["total"] == 3
    assert queue_unknown.status_code == 422 and queue_unknown.json()["errors"][0]["field"] == "within"
