"""The internal respond endpoints behind the gateway's customer page (``/s/{token}``): only the survey page's
short-lived ``survey_responder`` token is accepted. They show a request's questions and take its one answer;
an unknown or tampered token is a 404, a used, withdrawn or lapsed one a 410 — and nothing of the account leaks."""

from __future__ import annotations

from fastapi import APIRouter

from services.complaints.deps import LinkToken, Responder, RulesDep, SurveyRulesDep
from services.complaints.surveys import answers
from services.complaints.surveys.models import SurveyTemplate
from services.complaints.surveys.schemas import AnswerBody, QuestionRead, RespondPage, RespondResult
from shared.errors import PROBLEM_RESPONSES, NotFound
from shared.service import ClockDep, PublisherDep, SessionDep

router = APIRouter(tags=["surveys"], responses=PROBLEM_RESPONSES, include_in_schema=False)
UNKNOWN = "This survey link is not known"


@router.get("/complaints/surveys/respond/{token}", summary="The survey behind a link (survey page only)")
async def survey_page(
    token: LinkToken, session: SessionDep, _: Responder, clock: ClockDep, rules: SurveyRulesDep
) -> RespondPage:
    """The questions, the contact's language and the company name (404 unknown, 410 used or expired)."""
    asked = await answers.request_by_token(session, token=token)
    if asked is None:
        raise NotFound(UNKNOWN)
    await answers.ensure_open(session, request=asked, now=clock.now())
    template = await session.get(SurveyTemplate, asked.template_id)
    assert template is not None
    return RespondPage(
        state="open",
        language=asked.language,
        company_name=rules.company_name,
        title_zh=template.name_zh,
        title_en=template.name_en,
        questions=[QuestionRead.model_validate(q) for q in template.questions],
        expires_at=asked.expires_at,
    )


@router.post("/complaints/surveys/respond/{token}", summary="Answer through a link (survey page only)")
async def respond(
    token: LinkToken,
    body: AnswerBody,
    session: SessionDep,
    _: Responder,
    clock: ClockDep,
    rules: RulesDep,
    survey_rules: SurveyRulesDep,
    publisher: PublisherDep,
) -> RespondResult:
    """The customer's one answer (marked ``customer``); the link is used up."""
    asked = await answers.request_by_token(session, token=token, for_update=True)
    if asked is None:
        raise NotFound(UNKNOWN)
    await answers.record_answer(
        session, request=asked, body=body, answered_by="customer", entered_by=None, now=clock.now(), rules=rules,
        survey_rules=survey_rules, publisher=publisher,
    )  # fmt: skip
    return RespondResult(state="answered", language=asked.language, company_name=survey_rules.company_name)
