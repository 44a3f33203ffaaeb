"""Intake and SLA on a real session, without HTTP: due times at intake, the state machine, breaches, revisits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from services.complaints.intake import lifecycle, service, timers
from services.complaints.intake.escalation import escalations_of
from services.complaints.intake.schemas import AcknowledgeBody, MessageBody, ReasonBody, RevisitBody
from services.complaints.intake.states import STATES, TRANSITIONS
from services.complaints.intake.timeline import timeline
from shared.errors import InvalidTransition, NotFound, Unprocessable
from tests.complaints.domain import LI, SUPERVISOR, ZHANG
from tests.complaints.helpers import MONDAY_9AM_BEIJING

# The closed loop, restated here on purpose: a change to the production table must fail this test.
ALLOWED: dict[str, tuple[str, ...]] = {
    "new": ("acknowledged",),
    "acknowledged": ("investigating", "solution_proposed", "resolved"),
    "investigating": ("solution_proposed", "resolved"),
    "solution_proposed": ("investigating", "resolved"),
    "resolved": ("revisited", "reopened"),
    "revisited": ("closed", "reopened"),
    "closed": ("reopened",),
    "reopened": ("investigating", "solution_proposed", "resolved"),
}
# The shortest path from new to each state.
PATHS: dict[str, list[str]] = {
    "new": [],
    "acknowledged": ["acknowledged"],
    "investigating": ["acknowledged", "investigating"],
    "solution_proposed": ["acknowledged", "solution_proposed"],
    "resolved": ["acknowledged", "resolved"],
    "revisited": ["acknowledged", "resolved", "revisited"],
    "closed": ["acknowledged", "resolved", "revisited", "closed"],
    "reopened": ["acknowledged", "resolved", "reopened"],
}


async def move(world, session, complaint, target: str) -> None:
    """Ask the domain for ``target`` the way its route does."""
    common: dict[str, Any] = {"complaint": complaint, "actor": SUPERVISOR, "now": world.now}
    loop = {"rules": world.rules, "publisher": world.publisher}
    if target == "acknowledged":
        await lifecycle.acknowledge(session, body=AcknowledgeBody(message="已收到"), **common, **loop)
    elif target == "investigating":
        await lifecycle.start_investigation(
            session, body=MessageBody(message="质量部介入"), **common, rules=world.rules
        )
    elif target == "solution_proposed":
        await lifecycle.propose_solution(session, body=AcknowledgeBody(message="更换整批"), **common, rules=world.rules)
    elif target == "resolved":
        await lifecycle.resolve(session, body=AcknowledgeBody(message="已更换"), **common, **loop)
    elif target == "revisited":
        await lifecycle.record_revisit(session, body=RevisitBody(satisfaction=4, comment="满意"), **common, **loop)
    elif target == "closed":
        await lifecycle.close(session, body=MessageBody(message=""), **common, publisher=world.publisher)
    elif target == "reopened":
        await lifecycle.reopen(session, body=ReasonBody(reason="问题复发"), **common, **loop)
    else:
        raise AssertionError(f"no move to {target}")


async def test_the_transition_table_is_the_documented_closed_loop():
    assert TRANSITIONS == ALLOWED
    assert set(ALLOWED) == set(STATES)


async def test_every_listed_move_is_accepted_and_every_other_refused(world):
    async with world.transaction() as session:
        account_id = await world.account(session)
        for state in STATES:
            for target in [s for s in STATES if s != "new"]:
                complaint = await world.open(session, account_id)
                for step in PATHS[state]:
                    await move(world, session, complaint, step)
                assert complaint.state == state
                if target in ALLOWED[state]:
                    await move(world, session, complaint, target)
                    assert complaint.state == target, (state, target)
                else:
                    version = complaint.version
                    with pytest.raises(InvalidTransition) as refused:
                        await move(world, session, complaint, target)
                    assert refused.value.extra == {"current": state, "allowed": list(ALLOWED[state])}
                    assert (complaint.state, complaint.version) == (state, version), (state, target)


async def test_opening_a_complaint_stores_its_due_times_from_the_tier_policy(world):
    async with world.transaction() as session:
        account_id = await world.account(session, tier="strategic")
        complaint = await world.open(session, account_id, severity="critical")
        events = await world.events(session)
    # strategic × critical: first response 4 h, customer update 8 h, resolution 24 h; warning at 75 %.
    assert complaint.state == "new" and complaint.policy_tier == "strategic"
    assert complaint.owner_id == "am-li"  # the account's owner, not the supervisor who logged it
    assert complaint.first_response_due_at == MONDAY_9AM_BEIJING + timedelta(hours=4)
    assert complaint.first_response_warning_at == MONDAY_9AM_BEIJING + timedelta(hours=3)
    assert complaint.resolution_due_at == MONDAY_9AM_BEIJING + timedelta(hours=24)
    assert complaint.resolution_warning_at == MONDAY_9AM_BEIJING + timedelta(hours=18)
    assert complaint.update_due_at is None  # the update clock starts with the first response
    assert [e["type"] for e in events] == ["complaints.opened", "complaints.assigned"]  # its owner at intake
    assert events[0]["source"] == "complaints"
    assert events[0]["data"]["first_response_due_at"] == "2026-03-02T05:00:00Z"


async def test_a_complaint_for_an_account_the_actor_cannot_see_is_not_found(world):
    async with world.transaction() as session:
        account_id = await world.account(session, owner_id="am-li")
        with pytest.raises(NotFound):
            await world.open(session, account_id, actor=ZHANG)
        mine = await world.open(session, account_id, actor=LI)
    assert mine.opened_by == "am-li"


async def test_a_complaint_received_earlier_is_breached_and_escalated_at_intake(world):
    async with world.transaction() as session:
        account_id = await world.account(session)
        late = await world.open(session, account_id, received_at=world.now - timedelta(hours=25))
        with pytest.raises(Unprocessable) as future:
            await world.open(session, account_id, received_at=world.now + timedelta(hours=1))
        levels = [e.level for e in await escalations_of(session, complaint_id=late.id)]
    assert late.first_response_breached_at == world.now
    assert late.escalation_level == 1 and levels == [1]
    assert future.value.extra["field"] == "received_at"


async def test_an_invalid_transition_raises_and_leaves_the_complaint_as_it_was(world):
    async with world.transaction() as session:
        complaint = await world.open(session, await world.account(session))
        with pytest.raises(InvalidTransition):
            await move(world, session, complaint, "closed")
        entries = await timeline(session, complaint_id=complaint.id, visibility=None)
    assert complaint.state == "new" and complaint.version == 1
    assert [e.kind for e in entries] == ["opened"]


async def test_breaches_climb_the_ladder_once_per_level(world):
    async with world.transaction() as session:
        complaint = await world.open(session, await world.account(session), severity="critical")  # 24 h / 72 h
    world.advance(hours=25)
    async with world.transaction() as session:
        first = await timers.check_sla_timers(session, now=world.now, rules=world.rules, publisher=world.publisher)
        again = await timers.check_sla_timers(session, now=world.now, rules=world.rules, publisher=world.publisher)
    world.advance(hours=48)
    async with world.transaction() as session:
        later = await timers.check_sla_timers(session, now=world.now, rules=world.rules, publisher=world.publisher)
        rungs = [(e.level, e.escalated_to, e.reason) for e in await escalations_of(session, complaint_id=complaint.id)]
        escalated = [e for e in await world.events(session) if e["type"] == "complaints.escalated"]
    assert first == {"first_response_warning": 1, "first_response_breach": 1}  # both came due unseen
    assert again == {}
    assert later["resolution_breach"] == 1
    assert rungs == [(1, "sup-wang", "first_response_breach"), (2, "director", "resolution_breach")]
    assert [e["data"]["level"] for e in escalated] == [1, 2]


async def test_a_pause_moves_the_resolution_due_time_by_the_paused_time(world):
    async with world.transaction() as session:
        complaint = await world.open(session, await world.account(session), severity="medium")  # resolution 168 h
        for step in ("acknowledged", "solution_proposed"):
            await move(world, session, complaint, step)
        due = complaint.resolution_due_at
        await lifecycle.pause(
            session,
            complaint=complaint,
            body=ReasonBody(reason="等客户确认方案"),
            actor=LI,
            now=world.now,
            rules=world.rules,
        )
        assert complaint.paused and complaint.resolution_due_at is None
    world.advance(hours=5)
    async with world.transaction() as session:
        complaint = await session.merge(complaint)
        await lifecycle.resume(session, complaint=complaint, actor=LI, now=world.now, rules=world.rules)
    assert due is not None
    assert complaint.resolution_due_at == due + timedelta(hours=5)


async def test_a_low_satisfaction_revisit_reopens_and_restarts_the_resolution_clock(world):
    async with world.transaction() as session:
        complaint = await world.open(session, await world.account(session))
        for step in ("acknowledged", "resolved"):
            await move(world, session, complaint, step)
        world.advance(hours=2)
        await lifecycle.record_revisit(
            session,
            complaint=complaint,
            body=RevisitBody(satisfaction=2, comment="问题没有根本解决"),
            actor=SUPERVISOR,
            now=world.now,
            rules=world.rules,
            publisher=world.publisher,
        )
        types = [e["type"] for e in await world.events(session)]
    assert complaint.state == "reopened" and complaint.reopen_count == 1
    assert complaint.resolution_started_at == world.now and complaint.resolved_at is None
    assert complaint.satisfaction == 2
    assert types[-1] == "complaints.reopened"


async def test_a_revisit_needs_a_score_with_a_comment_or_a_waiver(world):
    async with world.transaction() as session:
        complaint = await world.open(session, await world.account(session))
        for step in ("acknowledged", "resolved"):
            await move(world, session, complaint, step)
        for body, field in ((RevisitBody(), "satisfaction"), (RevisitBody(satisfaction=5), "comment")):
            with pytest.raises(Unprocessable) as refused:
                await lifecycle.record_revisit(
                    session,
                    complaint=complaint,
                    body=body,
                    actor=SUPERVISOR,
                    now=world.now,
                    rules=world.rules,
                    publisher=world.publisher,
                )
            assert refused.value.extra["field"] == field
    assert complaint.state == "resolved"


async def test_open_complaints_of_the_former_owner_follow_the_account_to_the_new_owner(world):
    async with world.transaction() as session:
        account_id = await world.account(session, owner_id="am-li")
        theirs = await world.open(session, account_id)
        someone_elses = await world.open(session, account_id, owner_id="am-wu")
        await world.change_owner(session, account_id, "am-zhang")
        moved = await service.follow_account_owner(
            session,
            account_id=account_id,
            old_owner_id="am-li",
            new_owner_id="am-zhang",
            now=world.now,
            publisher=world.publisher,
        )
        entries = await timeline(session, complaint_id=theirs.id, visibility=None)
    assert moved == 1
    assert (theirs.owner_id, someone_elses.owner_id) == ("am-zhang", "am-wu")
    assert entries[-1].kind == "owner_changed" and entries[-1].actor_id == "system"
    assert entries[-1].data == {"from": "am-li", "to": "am-zhang"}
