"""The console's work queues and their actions: complaints, risk alerts and plan steps, limit requests and goal
action items. Each action swaps its row in place (htmx) and shows the problem's ``detail`` next to the field."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.console.actions import (
    ALERT_ACTIONS,
    COMPLAINT_ACTIONS,
    GOAL_ACTION_ACTIONS,
    LIMIT_ACTIONS,
    PLAN_STEP_ACTIONS,
    PROJECT_PART_ACTIONS,
    Action,
    carried_if_match,
    form_values,
    listed_if_match,
    path_of,
    read_path,
)
from gateway.console.client import ApiResult, Console
from gateway.console.deps import ConsoleUser, CsrfChecked, ObjectId
from gateway.console.pages import CONSOLE, render
from gateway.console.routes import frame
from gateway.console.screens import WORKING_STATES
from shared.errors import NotFound

router = APIRouter(include_in_schema=False)
ComplaintAction = Literal["acknowledge", "assign", "notes", "propose-solution", "resolve", "revisit", "escalate"]
AlertStatus = Literal["acknowledged", "mitigating", "cleared"]
Decision = Literal["approve", "reject"]


async def perform(
    request: Request, console: Console, action: Action, object_id: str
) -> tuple[ApiResult, dict[str, Any]]:
    """Make an action's call with the submitted form (a versioned object's with ``If-Match``); the result and what to
    show next to the fields."""
    form = form_values(await request.form())
    if_match = carried_if_match(action, form)
    if action.versioned and if_match is None and (read := read_path(action, object_id)) is not None:
        current = await console.get(read)
        if_match = current.etag or listed_if_match(current.body, object_id)
    headers = {"If-Match": if_match} if if_match is not None else None
    result = await console.call(action.method, path_of(action, object_id), json=action.body(form), headers=headers)
    feedback = {
        "error": None if result.ok else result.detail,
        "field_errors": {} if result.ok else result.field_errors(),
        "form": {} if result.ok else form,
    }
    return result, feedback


def row_after(result: ApiResult, feedback: dict[str, Any], object_id: str) -> dict[str, Any]:
    """The row to show after an action: the service's answer, or (after a refusal) the row as the form carried it
    (its ``row_*`` hidden fields), so the problem can be shown next to it."""
    if result.ok and isinstance(result.body, dict):
        return result.body
    carried = {k.removeprefix("row_"): v for k, v in feedback["form"].items() if k.startswith("row_")}
    return {**carried, "id": object_id}


def _status(result: ApiResult) -> int:
    return 200 if result.ok else (result.status if 400 <= result.status < 500 else 422)


async def _one(console: Console, path: str) -> dict[str, Any]:
    found = await console.get(path)
    if not found.ok or not isinstance(found.body, dict):
        raise NotFound(found.detail)
    return found.body


# ---------------------------------------------------------------- complaints


@router.get(CONSOLE + "/complaints")
async def complaints(request: Request, console: ConsoleUser) -> Response:
    """Complaints that need work, the most urgent first."""
    found = await console.get("/complaints", limit=100, sort="-opened_at")
    rows = [c for c in found.items() if c.get("state") in WORKING_STATES]
    rows.sort(key=lambda c: (not (c.get("sla") or {}).get("breached"), str((c.get("sla") or {}).get("next_due_at"))))
    return render(
        request,
        "complaints.html",
        {**frame(console), "complaints": rows, "error": None if found.ok else found.detail},
    )


@router.get(CONSOLE + "/complaints/{complaint_id}")
async def complaint(request: Request, complaint_id: ObjectId, console: ConsoleUser) -> Response:
    """One complaint with its timeline."""
    try:
        found, timeline = await asyncio.gather(
            _one(console, f"/complaints/{complaint_id}"), console.get(f"/complaints/{complaint_id}/timeline")
        )
    except NotFound:
        return render(request, "not_found.html", frame(console), status=404)
    return render(request, "complaint.html", {**frame(console), "c": found, "timeline": timeline.items()})


@router.post(CONSOLE + "/complaints/{complaint_id}/{action}")
async def complaint_action(
    request: Request, complaint_id: ObjectId, action: ComplaintAction, console: ConsoleUser, _: CsrfChecked
) -> Response:
    """Acknowledge, assign, add an update, propose, resolve, revisit or escalate; the row is swapped."""
    result, feedback = await perform(request, console, COMPLAINT_ACTIONS[action], complaint_id)
    current = await _one(console, f"/complaints/{complaint_id}")
    context = {**frame(console), "c": current, "open_action": None if result.ok else action, **feedback}
    return render(request, "_complaint_row.html", context, status=_status(result))


# ---------------------------------------------------------------- risk alerts and plan steps


@router.get(CONSOLE + "/risk")
async def risk(request: Request, console: ConsoleUser) -> Response:
    """Open alerts (most severe first) and open contingency plan steps."""
    alerts, steps = await asyncio.gather(
        console.get("/risk/alerts", limit=100), console.get("/risk/action-items", status="open", limit=100)
    )
    open_alerts = [a for a in alerts.items() if a.get("status") != "cleared"]
    order = {"red": 0, "orange": 1, "yellow": 2, "green": 3}
    open_alerts.sort(key=lambda a: (order.get(str(a.get("level")), 9), str(a.get("raised_at"))))
    return render(
        request,
        "risk.html",
        {
            **frame(console),
            "alerts": open_alerts,
            "steps": steps.items(),
            "error": None if alerts.ok else alerts.detail,
        },
    )


@router.post(CONSOLE + "/risk/alerts/{alert_id}/{status}")
async def alert_action(
    request: Request, alert_id: ObjectId, status: AlertStatus, console: ConsoleUser, _: CsrfChecked
) -> Response:
    """Acknowledge, mitigate or clear an alert; the row is swapped."""
    result, feedback = await perform(request, console, ALERT_ACTIONS[status], alert_id)
    current = await _one(console, f"/risk/alerts/{alert_id}")
    return render(request, "_alert_row.html", {**frame(console), "a": current, **feedback}, status=_status(result))


@router.post(CONSOLE + "/risk/action-items/{item_id}/complete")
async def plan_step_done(request: Request, item_id: ObjectId, console: ConsoleUser, _: CsrfChecked) -> Response:
    """Complete a contingency plan step; the row is swapped."""
    result, feedback = await perform(request, console, PLAN_STEP_ACTIONS["complete"], item_id)
    step = row_after(result, feedback, item_id)
    context = {**frame(console), "s": step, "step_error": feedback["error"]}
    return render(request, "_step_row.html", context, status=_status(result))


# ---------------------------------------------------------------- limit requests (checker)


@router.get(CONSOLE + "/limits")
async def limits(request: Request, console: ConsoleUser) -> Response:
    """Pending credit limit requests, for a second risk officer to approve or reject."""
    found = await console.get("/risk/limit-requests", status="pending", limit=100)
    return render(
        request,
        "limits.html",
        {**frame(console), "requests": found.items(), "error": None if found.ok else found.detail},
    )


@router.post(CONSOLE + "/limits/{request_id}/{decision}")
async def limit_decision(
    request: Request, request_id: ObjectId, decision: Decision, console: ConsoleUser, _: CsrfChecked
) -> Response:
    """Approve or reject (never one's own request: the service refuses it, and the row says why)."""
    result, feedback = await perform(request, console, LIMIT_ACTIONS[decision], request_id)
    current = row_after(result, feedback, request_id)
    return render(request, "_limit_row.html", {**frame(console), "r": current, **feedback}, status=_status(result))


# ---------------------------------------------------------------- goal action items


@router.get(CONSOLE + "/actions")
async def goal_actions(request: Request, console: ConsoleUser) -> Response:
    """Open and in-progress goal action items (overdue first), and overdue ones across the book."""
    open_items, in_progress = await asyncio.gather(
        console.get("/goals/actions", status="open", limit=100),
        console.get("/goals/actions", status="in_progress", limit=100),
    )
    items = sorted(
        [*open_items.items(), *in_progress.items()], key=lambda i: (not i.get("overdue"), str(i.get("due_date")))
    )
    return render(request, "actions.html", {**frame(console), "items": items})


@router.post(CONSOLE + "/goals/actions/{action_id}")
async def goal_action_status(request: Request, action_id: ObjectId, console: ConsoleUser, _: CsrfChecked) -> Response:
    """Move a goal action item (open → in progress → done, or cancelled); the row is swapped."""
    result, feedback = await perform(request, console, GOAL_ACTION_ACTIONS["status"], action_id)
    current = row_after(result, feedback, action_id)
    return render(
        request, "_goal_action_row.html", {**frame(console), "i": current, **feedback}, status=_status(result)
    )


# ---------------------------------------------------------------- cross-department project parts


@router.get(CONSOLE + "/projects")
async def project_parts(request: Request, console: ConsoleUser) -> Response:
    """The user's parts of cross-department projects (a department owner's queue), overdue first."""
    found = await console.get("/goals/projects/parts/mine", limit=100)
    parts = sorted(found.items(), key=lambda p: (not p.get("overdue"), str(p.get("due_on"))))
    return render(
        request, "projects.html", {**frame(console), "parts": parts, "error": None if found.ok else found.detail}
    )


@router.post(CONSOLE + "/projects/{project_id}/parts/{part_id}")
async def project_part_status(
    request: Request, project_id: ObjectId, part_id: ObjectId, console: ConsoleUser, _: CsrfChecked
) -> Response:
    """Move one's project part (in progress, delivered); the row is swapped."""
    result, feedback = await perform(request, console, PROJECT_PART_ACTIONS["status"], f"{project_id}/parts/{part_id}")
    part = {**row_after(result, feedback, part_id), "project_id": project_id}
    return render(request, "_part_row.html", {**frame(console), "p": part, **feedback}, status=_status(result))
