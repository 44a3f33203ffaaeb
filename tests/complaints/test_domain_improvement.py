"""Improvement on a real session, without HTTP: root cause, actions, remedies and their status tables, facts."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from services.complaints.improvement import service
from services.complaints.improvement.analytics import compute_analytics
from services.complaints.improvement.schemas import (
    ActionCreate,
    ActionStatusBody,
    RemedyCreate,
    RemedyDecision,
    RootCauseBody,
)
from services.complaints.improvement.service import ACTION_TRANSITIONS, REMEDY_TRANSITIONS
from services.complaints.intake.schemas import ComplaintFilters
from services.complaints.intake.timeline import timeline
from shared.errors import Conflict, InvalidTransition, Unprocessable
from tests.complaints.domain import LI, SUPERVISOR, ZHANG

# Restated on purpose: an action may be marked open or done until verified (final); a remedy is decided once
# (above the approver's limit a first approval awaits the second).
ACTION_MOVES: dict[str, tuple[str, ...]] = {"open": ("open", "done"), "done": ("open", "done"), "verified": ()}
REMEDY_MOVES: dict[str, tuple[str, ...]] = {
    "proposed": ("approved", "rejected", "awaiting_second"),
    "awaiting_second": ("approved", "rejected"),
    "approved": (),
    "rejected": (),
}


def corrective(world) -> ActionCreate:
    return ActionCreate(
        kind="corrective", description="更换焊接供应商", owner_id="qa-chen", due_at=world.now + timedelta(days=14)
    )


async def test_recording_an_improvement_action_and_tracking_it_to_done(world):
    async with world.transaction() as session:
        complaint = await world.open(session, await world.account(session))
        action = await service.add_action(session, complaint=complaint, body=corrective(world), actor=LI, now=world.now)
        world.advance(days=3)
        await service.set_action_status(
            session, complaint=complaint, action=action, body=ActionStatusBody(status="done"), actor=LI, now=world.now
        )
        listed = await service.actions_of(session, complaint_id=complaint.id)
        kinds = [e.kind for e in await timeline(session, complaint_id=complaint.id, visibility=None)]
    assert [a.id for a in listed] == [action.id]
    assert (action.kind, action.owner_id, action.status, action.done_at) == ("corrective", "qa-chen", "done", world.now)
    assert kinds[-2:] == ["corrective_action", "action_done"]


async def test_the_action_status_table_allows_open_and_done_from_either(world):
    assert ACTION_TRANSITIONS == ACTION_MOVES
    async with world.transaction() as session:
        complaint = await world.open(session, await world.account(session))
        for start, targets in ACTION_MOVES.items():
            for target in targets:
                action = await service.add_action(
                    session, complaint=complaint, body=corrective(world), actor=LI, now=world.now
                )
                for status in ([start] if start != "open" else []) + [target]:
                    await service.set_action_status(
                        session,
                        complaint=complaint,
                        action=action,
                        body=ActionStatusBody(status=status),
                        actor=LI,
                        now=world.now,
                    )
                assert action.status == target
                assert (action.done_at is not None) == (target == "done")


async def test_the_root_cause_must_be_a_taxonomy_category(world):
    async with world.transaction() as session:
        complaint = await world.open(session, await world.account(session))
        with pytest.raises(Unprocessable) as refused:
            await service.set_root_cause(
                session,
                complaint=complaint,
                body=RootCauseBody(category="weather", description="下雨"),
                actor=LI,
                now=world.now,
            )
        await service.set_root_cause(
            session,
            complaint=complaint,
            body=RootCauseBody(category="product_quality", description="焊点虚焊"),
            actor=LI,
            now=world.now,
        )
    assert refused.value.extra["field"] == "category"
    assert (complaint.root_cause_category, complaint.root_cause_description) == ("product_quality", "焊点虚焊")


async def test_a_remedy_is_decided_once_and_never_by_its_proposer(world):
    assert REMEDY_TRANSITIONS == REMEDY_MOVES
    async with world.transaction() as session:
        complaint = await world.open(session, await world.account(session))
        body = RemedyCreate(kind="discount", description="下一单九折", value=Decimal("1200.50"))
        remedy = await service.add_remedy(session, complaint=complaint, body=body, actor=LI, now=world.now)
        own = await service.add_remedy(session, complaint=complaint, body=body, actor=SUPERVISOR, now=world.now)
        with pytest.raises(Conflict):
            await service.decide_remedy(
                session,
                complaint=complaint,
                remedy=own,
                body=RemedyDecision(approve=True),
                actor=SUPERVISOR,
                now=world.now,
            )
        await service.decide_remedy(
            session,
            complaint=complaint,
            remedy=remedy,
            body=RemedyDecision(approve=True),
            actor=SUPERVISOR,
            now=world.now,
        )
        for approve in (True, False):
            with pytest.raises(InvalidTransition) as again:
                await service.decide_remedy(
                    session,
                    complaint=complaint,
                    remedy=remedy,
                    body=RemedyDecision(approve=approve),
                    actor=SUPERVISOR,
                    now=world.now,
                )
            assert again.value.extra == {"current": "approved", "allowed": []}
    assert (remedy.status, remedy.decided_by, remedy.value) == ("approved", "sup-wang", Decimal("1200.50"))
    assert own.status == "proposed"


async def test_analytics_facts_cover_only_the_complaints_the_actor_may_see(world):
    async with world.transaction() as session:
        mine = await world.open(session, await world.account(session, owner_id="am-li", name="宁德时代"))
        await world.open(session, await world.account(session, owner_id="am-zhang", name="美的集团"))
        li_facts = await service.analytics_facts(session, actor=LI, filters=ComplaintFilters())
        all_facts = await service.analytics_facts(session, actor=SUPERVISOR, filters=ComplaintFilters())
        none_yet = await service.analytics_facts(
            session, actor=ZHANG, filters=ComplaintFilters(opened_from=world.now + timedelta(days=1))
        )
    assert [(f.complaint_id, f.account_name) for f in li_facts] == [(mine.id, "宁德时代")]
    assert compute_analytics(all_facts)["total"] == 2
    assert none_yet == []
