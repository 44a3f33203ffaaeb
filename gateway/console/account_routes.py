"""The account side's actions on the account 360: account plans (submit, return, revise; approve by a supervisor),
satisfaction surveys (ask a contact — the one-time link shown to copy — and close follow-ups) and cross-department
projects (ask departments for parts; accept or reject a delivered part). Each swaps its row or form in place."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.console.actions import (
    FOLLOW_UP_DONE,
    PART_REVIEW_ACTIONS,
    PLAN_ACTIONS,
    SURVEY_REQUEST,
    form_values,
    project_body,
)
from gateway.console.client import ApiResult
from gateway.console.deps import ConsoleUser, CsrfChecked, ObjectId
from gateway.console.pages import CONSOLE, render
from gateway.console.queue_routes import perform, row_after
from gateway.console.routes import frame

router = APIRouter(include_in_schema=False)
PlanStep = Literal["submit", "return", "revise", "approve"]
PartDecision = Literal["accept", "reject"]


def status_of(result: ApiResult) -> int:
    """The fragment's status: 200, or the refusal's own 4xx."""
    return 200 if result.ok else (result.status if 400 <= result.status < 500 else 422)


def feedback_of(result: ApiResult, form: dict[str, Any]) -> dict[str, Any]:
    """The problem's ``detail`` and the fields it names, and the form as submitted (after a refusal)."""
    if result.ok:
        return {"error": None, "field_errors": {}, "form": {}}
    return {"error": result.detail, "field_errors": result.field_errors(), "form": form}


@router.post(CONSOLE + "/plans/{plan_id}/{step}")
async def plan_step(
    request: Request, plan_id: ObjectId, step: PlanStep, console: ConsoleUser, _: CsrfChecked
) -> Response:
    """Submit, return, revise or approve an account plan; the row is swapped."""
    result, feedback = await perform(request, console, PLAN_ACTIONS[step], plan_id)
    plan = row_after(result, feedback, plan_id)
    return render(request, "_plan_row.html", {**frame(console), "plan": plan, **feedback}, status=status_of(result))


@router.post(CONSOLE + "/accounts/{account_id}/projects")
async def create_project(request: Request, account_id: ObjectId, console: ConsoleUser, _: CsrfChecked) -> Response:
    """Ask departments for a project's parts; the form is swapped (the new project shown after it)."""
    form = form_values(await request.form())
    result = await console.call("POST", "/goals/projects", json=project_body(form, account_id))
    created = result.body if result.ok and isinstance(result.body, dict) else None
    context = {**frame(console), "account_id": account_id, "created": created, **feedback_of(result, form)}
    return render(request, "_project_form.html", context, status=status_of(result))


@router.post(CONSOLE + "/projects/{project_id}/parts/{part_id}/{decision}")
async def review_part(
    request: Request,
    project_id: ObjectId,
    part_id: ObjectId,
    decision: PartDecision,
    console: ConsoleUser,
    _: CsrfChecked,
) -> Response:
    """Accept or reject a delivered part (the account side); the part's row is swapped."""
    action = PART_REVIEW_ACTIONS[decision]
    result, feedback = await perform(request, console, action, f"{project_id}/parts/{part_id}")
    part = {**row_after(result, feedback, part_id), "project_id": project_id}
    context = {**frame(console), "part": part, **feedback}
    return render(request, "_project_part_row.html", context, status=status_of(result))


@router.post(CONSOLE + "/accounts/{account_id}/surveys")
async def ask_survey(request: Request, account_id: ObjectId, console: ConsoleUser, _: CsrfChecked) -> Response:
    """Ask a contact for a survey; the answer shows the one-time link to copy (it is never shown again)."""
    form = form_values(await request.form())
    result = await console.call(
        "POST", SURVEY_REQUEST.path, json={**SURVEY_REQUEST.body(form), "account_id": account_id}
    )
    created = result.body if result.ok and isinstance(result.body, dict) else None
    link = str(request.base_url).rstrip("/") + created["link"]["path"] if created else None
    context = {**frame(console), "account_id": account_id, "created": created, "link": link}
    context |= feedback_of(result, form)
    return render(request, "_survey_form.html", context, status=status_of(result))


@router.post(CONSOLE + "/surveys/follow-ups/{follow_up_id}/done")
async def follow_up_done(request: Request, follow_up_id: ObjectId, console: ConsoleUser, _: CsrfChecked) -> Response:
    """Mark a low score's follow-up done (saying what was done); the row is swapped."""
    result, feedback = await perform(request, console, FOLLOW_UP_DONE, follow_up_id)
    item = row_after(result, feedback, follow_up_id)
    return render(request, "_follow_up_row.html", {**frame(console), "f": item, **feedback}, status=status_of(result))
