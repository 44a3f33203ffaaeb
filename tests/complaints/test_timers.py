"""Stored SLA timers: breach and escalation after a restart, warnings, policy changes, tier changes."""

from __future__ import annotations

from datetime import timedelta

from services.complaints.jobs import run_sla_check
from shared.clock import FrozenClock
from tests.complaints.helpers import (
    LI,
    MONDAY_9AM_BEIJING,
    SUPERVISOR,
    change_tier,
    make_app,
    open_complaint,
    outbox_events,
    parse_time,
    register_account,
)
from tests.support import running, wait_until


async def test_unanswered_complaint_is_breached_and_escalated_by_the_stored_timer_after_a_restart(make_database):
    url = await make_database("complaints")
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    first = make_app(url, clock)
    async with running(first) as client:
        account_id = await register_account(first)
        complaint = await open_complaint(client, account_id, severity="high")
    assert parse_time(complaint["first_response_due_at"]) == MONDAY_9AM_BEIJING + timedelta(hours=24)

    clock.advance(timedelta(hours=24, minutes=1))
    second = make_app(url, clock)
    async with running(second) as client:
        counts = await run_sla_check(second)
        assert counts["first_response_breach"] == 1
        again = await run_sla_check(second)  # a second pass finds nothing new
        assert "first_response_breach" not in again
        body = (await client.get(f"/complaints/{complaint['id']}", headers=SUPERVISOR)).json()
    assert body["state"] == "new"
    assert body["sla"]["breached"] is True
    assert parse_time(body["first_response_breached_at"]) == clock.now()
    assert body["escalation_level"] == 1
    assert body["escalations"] == [
        {"level": 1, "escalated_to": "sup-wang", "reason": "first_response_breach", "at": body["escalations"][0]["at"]}
    ]
    escalated = [e for e in await outbox_events(second, complaint["id"]) if e["type"] == "complaints.escalated"]
    assert len(escalated) == 1
    assert escalated[0]["data"]["level"] == 1
    assert escalated[0]["data"]["reason"] == "first_response_breach"
    assert escalated[0]["account_id"] == account_id


async def test_further_breaches_climb_to_the_director_and_stop_at_the_top(sqlite_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await sqlite_database("complaints"), clock)
    async with running(app) as client:
        account_id = await register_account(app)
        complaint = await open_complaint(client, account_id, severity="critical")  # default: 24 h / 72 h
        clock.advance(timedelta(hours=25))
        await run_sla_check(app)
        clock.advance(timedelta(hours=48))
        counts = await run_sla_check(app)
        assert counts["resolution_breach"] == 1
        clock.advance(timedelta(days=30))
        await client.post(f"/complaints/{complaint['id']}/escalate", json={"reason": "再次升级"}, headers=SUPERVISOR)
        body = (await client.get(f"/complaints/{complaint['id']}", headers=SUPERVISOR)).json()
    assert [(e["level"], e["escalated_to"], e["reason"]) for e in body["escalations"]] == [
        (1, "sup-wang", "first_response_breach"),
        (2, "director", "resolution_breach"),
    ]
    levels = [e["data"]["level"] for e in await outbox_events(app) if e["type"] == "complaints.escalated"]
    assert levels == [1, 2]  # once per level, nothing above the director


async def test_warning_is_raised_before_the_breach(sqlite_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await sqlite_database("complaints"), clock)
    async with running(app) as client:
        account_id = await register_account(app)
        complaint = await open_complaint(client, account_id, severity="medium")
        clock.advance(timedelta(hours=18))  # 75 % of 24 h
        counts = await run_sla_check(app)
        body = (await client.get(f"/complaints/{complaint['id']}", headers=SUPERVISOR)).json()
        board = (await client.get("/complaints/views/portfolio", headers=SUPERVISOR)).json()
    assert counts == {"first_response_warning": 1}
    assert body["sla"]["state"] == "warning"
    assert body["escalation_level"] == 0
    assert board["warning_count"] == 1
    assert board["at_warning"][0]["complaint_id"] == complaint["id"]
    assert not [e for e in await outbox_events(app) if e["type"] == "complaints.escalated"]


async def test_tier_change_switches_open_complaints_to_the_stricter_policy(sqlite_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await sqlite_database("complaints"), clock)
    async with running(app) as client:
        account_id = await register_account(app)
        complaint = await open_complaint(client, account_id, severity="critical")
        assert complaint["policy_tier"] == "default"
        assert parse_time(complaint["first_response_due_at"]) == MONDAY_9AM_BEIJING + timedelta(hours=24)
        clock.advance(timedelta(hours=5))
        await change_tier(app, account_id, None, "strategic")
        body = (await client.get(f"/complaints/{complaint['id']}", headers=SUPERVISOR)).json()
    assert body["policy_tier"] == "strategic"
    assert parse_time(body["first_response_due_at"]) == MONDAY_9AM_BEIJING + timedelta(hours=4)
    # Already five hours old: the stricter policy means it is breached at once, and escalated.
    assert body["first_response_breached_at"] is not None
    assert body["escalation_level"] == 1


async def test_policy_change_recomputes_stored_timers(sqlite_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    app = make_app(await sqlite_database("complaints"), clock)
    async with running(app) as client:
        account_id = await register_account(app, tier="key")
        complaint = await open_complaint(client, account_id, severity="low")
        assert parse_time(complaint["first_response_due_at"]) == MONDAY_9AM_BEIJING + timedelta(hours=24)
        response = await client.put(
            "/complaints/sla-policies/key/low",
            json={
                "first_response_minutes": 16 * 60,
                "update_interval_minutes": 24 * 60,
                "resolution_minutes": 40 * 60,
                "hours_mode": "business",
            },
            headers=SUPERVISOR,
        )
        assert response.status_code == 200, response.text
        assert response.json()["recomputed"] == 1
        body = (await client.get(f"/complaints/{complaint['id']}", headers=SUPERVISOR)).json()
        refused = await client.put(
            "/complaints/sla-policies/key/low",
            json={"first_response_minutes": 60, "update_interval_minutes": 60, "resolution_minutes": 60},
            headers=LI,
        )
    assert refused.status_code == 403
    assert body["hours_mode"] == "business"
    # 16 business hours from Monday 09:00 Beijing: Monday and Tuesday until 16:00 → Tuesday 16:00 = 08:00 UTC.
    assert parse_time(body["first_response_due_at"]) == MONDAY_9AM_BEIJING + timedelta(days=1, hours=7)
    # 40 business hours: Mon–Thu (36 h) + 4 h on Friday → Friday 13:00 Beijing.
    assert parse_time(body["resolution_due_at"]) == MONDAY_9AM_BEIJING + timedelta(days=4, hours=4)


async def test_the_periodic_job_breaches_overdue_complaints_on_its_own(sqlite_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    url = await sqlite_database("complaints")
    setup = make_app(url, clock)
    async with running(setup) as client:
        account_id = await register_account(setup)
        complaint = await open_complaint(client, account_id, severity="low")
    clock.advance(timedelta(days=2))
    app = make_app(url, clock, sla_check_enabled=True, periodic_jobs=True, sla_check_interval_seconds=0.05)
    async with running(app) as client:

        async def escalated() -> bool:
            body = (await client.get(f"/complaints/{complaint['id']}", headers=SUPERVISOR)).json()
            return bool(body["escalation_level"] == 1)

        await wait_until(escalated, message="the job escalated the overdue complaint")
    types = [e["type"] for e in await outbox_events(app, complaint["id"])]
    # Both first-response times came due unseen: the breach is published (not a warning already overtaken).
    assert types == ["complaints.opened", "complaints.assigned", "complaints.sla_breached", "complaints.escalated"]
