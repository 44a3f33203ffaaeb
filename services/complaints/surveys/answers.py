"""Answering a survey: by the customer through the link or entered by the owner (marked so), checked against the
template's questions; a complaint's revisit recorded from it; a low score raising a follow-up for the account's
owner; ``complaints.survey_answered`` published; and the follow-ups' own state machine."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints.intake.lifecycle import record_revisit
from services.complaints.intake.models import Complaint
from services.complaints.intake.revisits import AWAITING_REVISIT
from services.complaints.intake.schemas import RevisitBody
from services.complaints.models import platform
from services.complaints.people import fitness_problem
from services.complaints.rules import Rules
from services.complaints.surveys import links
from services.complaints.surveys.asking import move_request
from services.complaints.surveys.models import SurveyAnswer, SurveyFollowUp, SurveyRequest, SurveyTemplate
from services.complaints.surveys.policy import SurveyRules
from services.complaints.surveys.results import is_low_score
from services.complaints.surveys.schemas import AnswerBody, FollowUpDone
from shared.auth import Principal
from shared.bus import Publisher
from shared.errors import DomainError, InvalidTransition, Unprocessable
from shared.events import SurveyAnswered, SurveyAnsweredData

# A follow-up's life: open until its owner has talked to the customer and says what was done.
FOLLOW_UP_TRANSITIONS: dict[str, frozenset[str]] = {"open": frozenset({"done"}), "done": frozenset()}
SCORE_RANGES = {"nps": (0, 10), "csat": (1, 5)}
CUSTOMER_REVISIT_COMMENT = "客户通过回访链接评分（未留言）"


class LinkGone(DomainError):
    """A survey link already used, withdrawn or expired (410); ``state`` says which, ``language`` the contact's."""

    status, code = 410, "gone"


def read_answers(template: SurveyTemplate, body: AnswerBody) -> tuple[int | None, int | None, dict[str, Any]]:
    """(NPS, CSAT, answers by key) of a body checked against the template (422 naming ``answers.<key>``)."""
    questions = {q["key"]: q for q in template.questions}
    for key in body.answers:
        if key not in questions:
            raise Unprocessable(f"answers.{key}: the survey has no such question", field=f"answers.{key}")
    scores: dict[str, int | None] = {"nps": None, "csat": None}
    answers: dict[str, Any] = {}
    for key, question in questions.items():
        value = body.answers.get(key)
        if isinstance(value, str) and not value.strip():
            value = None
        if value is None:
            if question["required"]:
                raise Unprocessable(f"answers.{key}: this question needs an answer", field=f"answers.{key}")
            continue
        kind = question["kind"]
        if kind in SCORE_RANGES:
            low, high = SCORE_RANGES[kind]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise Unprocessable(f"answers.{key}: a whole number {low}–{high}", field=f"answers.{key}")
            scores[kind] = value
        elif not isinstance(value, str):
            raise Unprocessable(f"answers.{key}: a text answer", field=f"answers.{key}")
        answers[key] = value
    return scores["nps"], scores["csat"], answers


async def request_by_token(session: AsyncSession, *, token: str, for_update: bool = False) -> SurveyRequest | None:
    """The request a link's token opens (None for a malformed, unknown or tampered token: the same answer)."""
    if not links.well_formed(token):
        return None
    query = select(SurveyRequest).where(SurveyRequest.token_hash == links.token_hash(token))
    if for_update and session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    return await session.scalar(query)


async def _revisit_open(session: AsyncSession, request: SurveyRequest) -> bool:
    if request.kind != "revisit" or request.complaint_id is None:
        return True
    complaint = await session.get(Complaint, request.complaint_id)
    return complaint is not None and complaint.state == AWAITING_REVISIT


async def ensure_open(session: AsyncSession, *, request: SurveyRequest, now: datetime) -> None:
    """Refuse (410) a request whose link was used, withdrawn or lapsed, or whose complaint no longer awaits it."""
    state = links.link_state(request_state=request.state, expires_at=request.expires_at, now=now)
    if state == "open" and not await _revisit_open(session, request):
        state = "answered"
    if state != "open":
        raise LinkGone(f"This survey link is {state}", state=state, language=request.language)


async def _follow_up_owner(session: AsyncSession, *, account_id: str, rules: Rules) -> str | None:
    """Who follows a low score up: the account's owner if fit for it, else the KA supervisor (else no one)."""
    accounts = platform.accounts
    owner = await session.scalar(select(accounts.c.owner_id).where(accounts.c.account_id == account_id))
    for candidate in (owner, rules.ladder[0] if rules.ladder else None):
        if candidate and await fitness_problem(session, user_id=candidate, account_id=account_id) is None:
            return str(candidate)
    return None


async def _record_customer_revisit(
    session: AsyncSession,
    *,
    request: SurveyRequest,
    csat: int | None,
    comment: str | None,
    actor_id: str,
    answered_by: str,
    now: datetime,
    rules: Rules,
    publisher: Publisher,
) -> None:
    if request.kind != "revisit" or request.complaint_id is None or csat is None:
        return
    complaint = await session.get(Complaint, request.complaint_id)
    if complaint is None or complaint.state != AWAITING_REVISIT:
        return
    body = RevisitBody(satisfaction=csat, comment=comment or CUSTOMER_REVISIT_COMMENT)
    await record_revisit(
        session,
        complaint=complaint,
        body=body,
        actor=Principal(user_id=actor_id, roles=frozenset()),
        now=now,
        rules=rules,
        publisher=publisher,
        answered_by=answered_by,
    )


async def record_answer(
    session: AsyncSession,
    *,
    request: SurveyRequest,
    body: AnswerBody,
    answered_by: str,
    entered_by: str | None,
    now: datetime,
    rules: Rules,
    survey_rules: SurveyRules,
    publisher: Publisher,
) -> tuple[SurveyAnswer, SurveyFollowUp | None]:
    """Record the one answer of a request (single use), raise a follow-up on a low score, record a complaint's
    revisit from it, and publish ``complaints.survey_answered``."""
    await ensure_open(session, request=request, now=now)
    template = await session.get(SurveyTemplate, request.template_id)
    assert template is not None
    nps, csat, answers = read_answers(template, body)
    move_request(request, "answered")
    request.answered_at, request.answered_by = now, answered_by
    low = is_low_score(nps_score=nps, csat_score=csat, low_nps=survey_rules.low_nps, low_csat=survey_rules.low_csat)
    answer = SurveyAnswer(
        id=str(uuid.uuid4()),
        request_id=request.id,
        account_id=request.account_id,
        template_id=request.template_id,
        contact_id=request.contact_id,
        contact_level=request.contact_level,
        nps=nps,
        csat=csat,
        answers=answers,
        comment=body.comment,
        answered_at=now,
        answered_by=answered_by,
        entered_by=entered_by,
        low_score=low,
    )
    session.add(answer)
    follow_up = await _raise_follow_up(session, request=request, answer=answer, rules=rules, now=now) if low else None
    await _record_customer_revisit(
        session, request=request, csat=csat, comment=body.comment, actor_id=entered_by or "customer",
        answered_by=answered_by, now=now, rules=rules, publisher=publisher,
    )  # fmt: skip
    await _publish_answer(session, request=request, answer=answer, follow_up=follow_up, publisher=publisher)
    await session.flush()
    return answer, follow_up


async def _raise_follow_up(
    session: AsyncSession, *, request: SurveyRequest, answer: SurveyAnswer, rules: Rules, now: datetime
) -> SurveyFollowUp | None:
    owner = await _follow_up_owner(session, account_id=request.account_id, rules=rules)
    if owner is None:
        return None
    scores = [f"NPS {answer.nps}" if answer.nps is not None else "", f"CSAT {answer.csat}" if answer.csat else ""]
    follow_up = SurveyFollowUp(
        id=str(uuid.uuid4()),
        account_id=request.account_id,
        request_id=request.id,
        answer_id=answer.id,
        owner_id=owner,
        state="open",
        reason=f"低分满意度答复 / low survey score: {', '.join(s for s in scores if s)}",
        created_at=now,
    )
    session.add(follow_up)
    return follow_up


async def _publish_answer(
    session: AsyncSession,
    *,
    request: SurveyRequest,
    answer: SurveyAnswer,
    follow_up: SurveyFollowUp | None,
    publisher: Publisher,
) -> None:
    accounts = platform.accounts
    owner = await session.scalar(select(accounts.c.owner_id).where(accounts.c.account_id == request.account_id))
    data = SurveyAnsweredData(
        survey_request_id=request.id,
        template_id=request.template_id,
        contact_id=request.contact_id,
        contact_level=request.contact_level,
        nps=answer.nps,
        csat=answer.csat,
        answered_at=answer.answered_at,
        answered_by=answer.answered_by,
        low_score=answer.low_score,
        owner_id=follow_up.owner_id if follow_up else owner,
        kind=request.kind,
        complaint_id=request.complaint_id,
        follow_up_id=follow_up.id if follow_up else None,
    )
    await publisher.publish(session, SurveyAnswered, data, account_id=request.account_id, time=answer.answered_at)


async def complete_follow_up(
    session: AsyncSession, *, follow_up: SurveyFollowUp, body: FollowUpDone, actor: Principal, now: datetime
) -> SurveyFollowUp:
    """open → done, with what was done (audited: who and when)."""
    if "done" not in FOLLOW_UP_TRANSITIONS[follow_up.state]:
        raise InvalidTransition(
            f"A follow-up that is {follow_up.state} cannot become done", current=follow_up.state, allowed=[]
        )
    follow_up.state, follow_up.done_at, follow_up.done_by, follow_up.note = "done", now, actor.user_id, body.note
    await session.flush()
    return follow_up
