"""Reference data on a real session, without HTTP: the seeded taxonomy and policies, and a policy change."""

from __future__ import annotations

from datetime import timedelta

from services.complaints.intake import timers
from services.complaints.reference import service
from services.complaints.reference.schemas import CategoryBody, PolicyBody
from tests.complaints.domain import SUPERVISOR
from tests.complaints.helpers import MONDAY_9AM_BEIJING


async def test_seeding_again_keeps_edits_and_adds_nothing_twice(world):
    async with world.transaction() as session:
        await service.upsert_category(
            session, code="product_quality", body=CategoryBody(label_zh="产品质量问题", label_en="Quality", active=True)
        )
        await service.seed_reference_data(session, now=world.now)
        categories = await service.list_categories(session)
        policies = await service.list_policies(session)
    assert [c.code for c in categories][:2] == ["product_quality", "delivery_timeliness"]
    assert categories[0].label_zh == "产品质量问题"
    assert len(policies) == 5 * 4  # default + four tiers, four severities


async def test_a_tier_without_its_own_policy_falls_back_to_the_default(world):
    async with world.transaction() as session:
        strategic = await service.policy_for(session, tier="strategic", severity="critical")
        untiered = await service.policy_for(session, tier=None, severity="critical")
        unknown = await service.policy_for(session, tier="prospect", severity="critical")
    assert (strategic.tier, strategic.first_response_minutes) == ("strategic", 4 * 60)
    assert (untiered.tier, unknown.tier) == ("default", "default")


async def test_changing_a_policy_recomputes_the_open_complaints_it_governs(world):
    async with world.transaction() as session:
        governed = await world.open(session, await world.account(session, tier="key"), severity="low")
        other = await world.open(session, await world.account(session, tier="strategic"), severity="low")
        before = other.first_response_due_at
        body = PolicyBody(first_response_minutes=60, update_interval_minutes=120, resolution_minutes=600)
        policy, recomputed = await timers.update_policy(
            session,
            tier="key",
            severity="low",
            body=body,
            actor=SUPERVISOR,
            now=world.now,
            rules=world.rules,
            publisher=world.publisher,
        )
    assert (policy.version, policy.updated_by, recomputed) == (2, "sup-wang", 1)
    assert governed.first_response_due_at == MONDAY_9AM_BEIJING + timedelta(hours=1)
    assert other.first_response_due_at == before
