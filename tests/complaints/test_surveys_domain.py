"""Surveys in the domain tier: template versions, schedule generation by tier and level, the NPS/CSAT/response-rate
arithmetic by hand, single-use expiring links, low-score follow-ups, and another manager's 404."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from services.complaints.deps import survey_request_for_read
from services.complaints.surveys import answers, asking, links, queries, results, service
from services.complaints.surveys.answers import FOLLOW_UP_TRANSITIONS, LinkGone
from services.complaints.surveys.asking import REQUEST_TRANSITIONS
from services.complaints.surveys.contacts import apply_contact_change
from services.complaints.surveys.models import SurveyFollowUp, SurveyRequest
from services.complaints.surveys.policy import SurveyRules
from services.complaints.surveys.schemas import (
    AnswerBody,
    FollowUpDone,
    RequestCreate,
    ResultsQuery,
    ScheduleCreate,
    TemplateCreate,
    TemplateUpdate,
)
from services.complaints.surveys.service import TEMPLATE_TRANSITIONS, seed_templates
from shared.api import PageParams
from shared.errors import InvalidTransition, NotFound, Unprocessable
from shared.events.catalogue import ContactData
from tests.complaints.domain import LI, SUPERVISOR, ZHANG, World

RULES = SurveyRules()
QUESTIONS = [
    {"key": "nps", "kind": "nps", "text_zh": "推荐意愿？", "text_en": "Recommend us?"},
    {"key": "csat", "kind": "csat", "text_zh": "满意吗？", "text_en": "Satisfied?"},
    {"key": "note", "kind": "text", "text_zh": "建议", "text_en": "Ideas", "required": False},
]


def test_the_state_machines_are_these_tables():
    assert TEMPLATE_TRANSITIONS == {
        "draft": frozenset({"published"}),
        "published": frozenset({"retired"}),
        "retired": frozenset(),
    }
    assert REQUEST_TRANSITIONS == {
        "pending": frozenset({"answered", "expired", "cancelled"}),
        "answered": frozenset(),
        "expired": frozenset(),
        "cancelled": frozenset(),
    }
    assert FOLLOW_UP_TRANSITIONS == {"open": frozenset({"done"}), "done": frozenset()}


def test_nps_csat_and_response_rate_by_hand():
    # 10 answers: promoters 9,9,10 (3), passives 7,8 (2), detractors 0,3,5,6,6 (5) → 30 % − 50 % = −20
    assert results.nps([9, 9, 10, 7, 8, 0, 3, 5, 6, 6]) == Decimal("-20.00")
    assert results.nps([10, 9]) == Decimal("100.00") and results.nps([]) is None
    assert results.nps([9, 7, 6]) == Decimal("0.00")  # 1/3 − 1/3
    assert results.csat([5, 4, 4]) == Decimal("4.33") and results.csat([]) is None
    assert results.response_rate(2, 3) == Decimal("66.67") and results.response_rate(0, 0) is None
    periods = results.summarise_periods(
        [("2026-Q1", True, 10, 5), ("2026-Q1", False, None, None), ("2026-Q2", True, 3, 2), ("2026-Q2", True, 9, 4)]
    )
    q1, q2 = periods
    assert (q1.period, q1.asked, q1.answered, q1.nps, q1.csat, q1.response_rate) == (
        "2026-Q1", 2, 1, Decimal("100.00"), Decimal("5.00"), Decimal("50.00"),
    )  # fmt: skip
    assert (q2.nps, q2.csat, q2.response_rate) == (Decimal("0.00"), Decimal("3.00"), Decimal("100.00"))
    assert (q2.nps_change, q2.csat_change) == (Decimal("-100.00"), Decimal("-2.00"))
    assert results.period_label(date(2026, 5, 31), "quarter") == "2026-Q2"
    assert results.cadence_period("yearly", date(2026, 5, 31)) == "2026"
    assert results.cadence_period("after_delivery", date(2026, 5, 31)) is None
    assert results.is_low_score(nps_score=6, csat_score=None, low_nps=6, low_csat=2)
    assert not results.is_low_score(nps_score=7, csat_score=3, low_nps=6, low_csat=2)
    assert results.is_low_score(nps_score=None, csat_score=2, low_nps=6, low_csat=2)


def test_a_link_is_unguessable_kept_only_as_its_hash_and_judged_by_state_and_expiry():
    token = links.new_token()
    assert links.well_formed(token) and len(token) == 43 and token != links.new_token()
    assert links.token_hash(token) != token and len(links.token_hash(token)) == 64
    assert not links.well_formed(token[:-1] + "!") and not links.well_formed("x" * 44)
    now = datetime(2026, 3, 2, tzinfo=UTC)
    assert links.link_state(request_state="pending", expires_at=now + timedelta(days=1), now=now) == "open"
    assert links.link_state(request_state="pending", expires_at=now, now=now) == "expired"
    assert links.link_state(request_state="answered", expires_at=now + timedelta(days=1), now=now) == "answered"
    assert links.link_state(request_state=None, expires_at=None, now=now) == "unknown"


async def _template(world: World, session, code: str = "kam-survey") -> str:
    body = TemplateCreate.model_validate(
        {"code": code, "name_zh": "关系调研", "name_en": "Relationship", "questions": QUESTIONS}
    )
    template = await service.create_template(session, body=body, actor=SUPERVISOR, now=world.now)
    await service.publish_template(session, template=template, now=world.now)
    return template.id


async def _contact(world: World, session, account_id: str, level: str, language: str = "zh-CN") -> str:
    contact_id = str(uuid.uuid4())
    data = ContactData(contact_id=contact_id, name=f"{level}联系人", level=level, language=language)
    await apply_contact_change(session, account_id=account_id, data=data, changed_at=world.now)
    return contact_id


async def test_editing_a_published_template_makes_a_new_version_and_publishing_it_retires_the_old(world: World):
    async with world.transaction() as session:
        first = await service.get_template(session, template_id=await _template(world, session))
        change = TemplateUpdate.model_validate({"name_zh": "客户关系调研（第二版）"})
        second = await service.update_template(session, template=first, body=change, actor=SUPERVISOR, now=world.now)
        assert (second.version, second.state, second.code) == (2, "draft", first.code) and second.id != first.id
        assert first.name_zh == "关系调研" and first.state == "published"  # what was asked stays as it was
        again = await service.update_template(session, template=second, body=change, actor=SUPERVISOR, now=world.now)
        assert again.id == second.id  # a draft changes in place
        await service.publish_template(session, template=second, now=world.now)
        assert (first.state, second.state) == ("retired", "published")
        with pytest.raises(InvalidTransition):
            await service.publish_template(session, template=first, now=world.now)
        assert (await service.published_template(session, code=first.code)).id == second.id


async def test_a_schedule_asks_only_its_tier_and_level_once_per_period(world: World):
    async with world.transaction() as session:
        await _template(world, session)
        strategic = await world.account(session, tier="strategic")
        key = await world.account(session, tier="key")
        executive = await _contact(world, session, strategic, "executive")
        await _contact(world, session, strategic, "decision")
        await _contact(world, session, key, "executive")
        for level, cadence in (("executive", "yearly"), ("decision", "quarterly")):
            body = ScheduleCreate.model_validate(
                {"name": f"战略{level}", "tier": "strategic", "contact_level": level, "cadence": cadence,
                 "template_code": "kam-survey"}
            )  # fmt: skip
            await service.create_schedule(session, body=body, actor=SUPERVISOR, now=world.now)
        made = await asking.generate_due_requests(session, now=world.now, rules=RULES)
        again = await asking.generate_due_requests(session, now=world.now, rules=RULES)
    assert made.created == 2 and made.by_level == {"decision": 1, "executive": 1} and again.created == 0
    async with world.transaction() as session:
        rows = (await session.execute(select(SurveyRequest))).scalars().all()
        assert {(r.account_id, r.contact_level, r.period) for r in rows} == {
            (strategic, "executive", "2026"), (strategic, "decision", "2026-Q1"),
        }  # fmt: skip
        assert next(r for r in rows if r.contact_level == "executive").contact_id == executive
    world.advance(days=31 * 3)  # the next quarter: the decision level is asked again, the executives are not
    async with world.transaction() as session:
        later = await asking.generate_due_requests(session, now=world.now, rules=RULES)
    assert later.by_level == {"decision": 1}


async def _asked(world: World, session, account_id: str) -> tuple[SurveyRequest, str]:
    contact = await _contact(world, session, account_id, "decision", "en")
    body = RequestCreate.model_validate(
        {"account_id": account_id, "template_code": "kam-survey", "contact_id": contact}
    )
    request = await asking.create_request(session, body=body, actor=LI, now=world.now, rules=RULES)
    token = asking.issue_link(request, now=world.now, rules=RULES).token
    return request, token


async def _answer(world: World, session, request: SurveyRequest, nps: int, csat: int):
    body = AnswerBody.model_validate({"answers": {"nps": nps, "csat": csat}})
    return await answers.record_answer(
        session, request=request, body=body, answered_by="customer", entered_by=None, now=world.now,
        rules=world.rules, survey_rules=RULES, publisher=world.publisher,
    )  # fmt: skip


async def test_a_link_is_used_once_refused_after_expiry_and_a_tampered_one_opens_nothing(world: World):
    async with world.transaction() as session:
        await _template(world, session)
        account = await world.account(session, tier="strategic")
        request, token = await _asked(world, session, account)
        assert request.language == "en" and request.token_hash == links.token_hash(token)
        assert (await answers.request_by_token(session, token=token)) is request
        assert await answers.request_by_token(session, token=token[:-1] + ("A" if token[-1] != "A" else "B")) is None
        await _answer(world, session, request, 9, 5)
        with pytest.raises(LinkGone) as used:
            await _answer(world, session, request, 9, 5)
        assert used.value.status == 410 and used.value.extra["state"] == "answered"
        late, _ = await _asked(world, session, account)
    world.advance(days=15)
    async with world.transaction() as session:
        late = await session.get(SurveyRequest, late.id)
        with pytest.raises(LinkGone) as expired:
            await answers.ensure_open(session, request=late, now=world.now)
    assert expired.value.extra["state"] == "expired"


async def test_answers_are_checked_against_the_template(world: World):
    async with world.transaction() as session:
        await _template(world, session)
        request, _ = await _asked(world, session, await world.account(session, tier="key"))
        bad_answers = (
            ({"nps": 11, "csat": 3}, "answers.nps"),
            ({"csat": 3}, "answers.nps"),
            ({"nps": 5, "csat": 3, "extra": "x"}, "answers.extra"),
            ({"nps": "9", "csat": 3}, "answers.nps"),
        )
        for bad, field in bad_answers:
            with pytest.raises(Unprocessable) as refused:
                await answers.record_answer(
                    session, request=request, body=AnswerBody.model_validate({"answers": bad}), answered_by="owner",
                    entered_by="am-li", now=world.now, rules=world.rules, survey_rules=RULES, publisher=world.publisher,
                )  # fmt: skip
            assert refused.value.extra["field"] == field
        assert request.state == "pending"


async def test_a_low_score_raises_a_follow_up_for_the_owner_and_is_flagged_in_the_event(world: World):
    async with world.transaction() as session:
        await _template(world, session)
        account = await world.account(session, tier="strategic", owner_id="am-li")
        request, _ = await _asked(world, session, account)
        answer, follow_up = await _answer(world, session, request, 4, 2)
        good, _ = await _asked(world, session, account)
        _, none = await _answer(world, session, good, 10, 5)
        events = [e for e in await world.events(session) if e["type"] == "complaints.survey_answered"]
    assert answer.low_score and follow_up is not None and none is None
    assert (follow_up.owner_id, follow_up.state) == ("am-li", "open")
    low, fine = events
    assert low["data"]["low_score"] is True and low["data"]["follow_up_id"] == follow_up.id
    assert low["data"]["owner_id"] == "am-li" and low["data"]["nps"] == 4 and low["data"]["answered_by"] == "customer"
    assert fine["data"]["low_score"] is False and fine["data"]["follow_up_id"] is None
    async with world.transaction() as session:
        stored = await session.get(SurveyFollowUp, follow_up.id)
        done = await answers.complete_follow_up(
            session, follow_up=stored, body=FollowUpDone(note="已电话回访，安排整改"), actor=LI, now=world.now
        )
        assert (done.state, done.done_by) == ("done", "am-li")
        with pytest.raises(InvalidTransition):
            await answers.complete_follow_up(
                session, follow_up=stored, body=FollowUpDone(note="再次"), actor=LI, now=world.now
            )


async def test_another_account_manager_gets_404_and_sees_nothing(world: World):
    async with world.transaction() as session:
        await _template(world, session)
        account = await world.account(session, tier="strategic", owner_id="am-li")
        request, _ = await _asked(world, session, account)
        await _answer(world, session, request, 9, 4)
    async with world.transaction() as session:
        assert (await survey_request_for_read(request.id, session, LI)).id == request.id
        with pytest.raises(NotFound):
            await survey_request_for_read(request.id, session, ZHANG)
        page = PageParams()
        assert (await queries.list_requests(session, actor=ZHANG, page=page, filters={}))[1] == 0
        assert (await queries.list_requests(session, actor=LI, page=page, filters={}))[1] == 1
        theirs = await queries.survey_results(session, actor=ZHANG, query=ResultsQuery(), page=page, zone=RULES.zone)
        mine = await queries.survey_results(session, actor=LI, query=ResultsQuery(), page=page, zone=RULES.zone)
    assert theirs.overall.asked == 0 and mine.overall.asked == 1 and mine.overall.nps == Decimal("100.00")


async def test_the_shipped_templates_are_seeded_once(world: World):
    async with world.transaction() as session:
        assert await seed_templates(session, now=world.now) == 2
        assert await seed_templates(session, now=world.now) == 0
        revisit = await service.published_template(session, code="complaint-revisit")
    assert [q["kind"] for q in revisit.questions] == ["csat", "text"]
