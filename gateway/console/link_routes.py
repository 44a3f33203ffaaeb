"""The console pages every notification link leads to (``services.notifications.kinds`` builds them): each finds its
object as the user — 404 (the not-found page) when the user may not see it — and goes to the page that shows it,
the object's row highlighted (its element id in the fragment; ``:target`` in the stylesheet)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.console.client import Console
from gateway.console.deps import ConsoleUser, ObjectId
from gateway.console.pages import CONSOLE, SECURITY_HEADERS, render
from gateway.console.routes import frame
from shared.api import MAX_PAGE_SIZE

router = APIRouter(include_in_schema=False)
MAX_SCANNED_PAGES = 4  # objects without a single read are found in their (visible) list, at most this many pages


async def one(console: Console, path: str) -> dict[str, Any] | None:
    """One object as the user may see it (None: absent or hidden)."""
    found = await console.get(path)
    return found.body if found.ok and isinstance(found.body, dict) else None


async def listed(console: Console, path: str, object_id: str, **filters: Any) -> dict[str, Any] | None:
    """An object found in a list the user may read (for the kinds whose service has no read of one object)."""
    for page in range(MAX_SCANNED_PAGES):
        found = await console.get(path, limit=MAX_PAGE_SIZE, offset=page * MAX_PAGE_SIZE, **filters)
        items = found.items()
        for item in items:
            if isinstance(item, dict) and str(item.get("id")) == object_id:
                return item
        if len(items) < MAX_PAGE_SIZE:
            break
    return None


def go(request: Request, console: Console, location: str | None) -> Response:
    """To ``location``, or the not-found page when the object was not found."""
    if location is None:
        return render(request, "not_found.html", frame(console), status=404)
    return Response(status_code=303, headers={"Location": location, **SECURITY_HEADERS})


def _account_part(obj: dict[str, Any] | None, anchor: str) -> str | None:
    if obj is None:
        return None
    account = obj.get("account_id")
    return f"{CONSOLE}/accounts/{account}#{anchor}" if account else f"{CONSOLE}/#{anchor}"


@router.get(CONSOLE + "/complaints/{complaint_id}/tasks/{task_id}")
async def complaint_task(request: Request, complaint_id: ObjectId, task_id: ObjectId, console: ConsoleUser) -> Response:
    """A task-force task: its complaint, the task highlighted."""
    found = await one(console, f"/complaints/{complaint_id}")
    tasks = {str(task.get("id")) for task in (found or {}).get("tasks") or [] if isinstance(task, dict)}
    location = f"{CONSOLE}/complaints/{complaint_id}#task-{task_id}" if task_id in tasks else None
    return go(request, console, location)


@router.get(CONSOLE + "/complaints/surveys/follow-ups/{follow_up_id}")
async def survey_follow_up(request: Request, follow_up_id: ObjectId, console: ConsoleUser) -> Response:
    """A low score's follow-up: its account's surveys, the follow-up highlighted."""
    found = await listed(console, "/complaints/surveys/follow-ups", follow_up_id)
    location = _account_part(found, f"follow-up-{follow_up_id}")
    return go(request, console, location)


@router.get(CONSOLE + "/risk/action-items/{item_id}")
async def risk_plan_step(request: Request, item_id: ObjectId, console: ConsoleUser) -> Response:
    """A contingency plan step: open ones in the risk queue, done ones on their account's alerts."""
    found = await listed(console, "/risk/action-items", item_id)
    if found is not None and found.get("status") == "open":
        return go(request, console, f"{CONSOLE}/risk#step-{item_id}")
    return go(request, console, _account_part(found, "alerts"))


@router.get(CONSOLE + "/risk/limit-requests/{request_id}")
async def limit_request(request: Request, request_id: ObjectId, console: ConsoleUser) -> Response:
    """A limit request: pending ones in the checker's queue, decided ones on their account's credit."""
    found = await listed(console, "/risk/limit-requests", request_id)
    if found is not None and found.get("status") == "pending":
        return go(request, console, f"{CONSOLE}/limits#limit-{request_id}")
    return go(request, console, _account_part(found, "risk"))


@router.get(CONSOLE + "/risk/contracts/{contract_id}")
async def contract(request: Request, contract_id: ObjectId, console: ConsoleUser) -> Response:
    """A contract nearing expiry: its account's risk part (contracts needing attention)."""
    return go(request, console, _account_part(await one(console, f"/risk/contracts/{contract_id}"), "risk"))


@router.get(CONSOLE + "/goals/actions/{action_id}")
async def goal_action(request: Request, action_id: ObjectId, console: ConsoleUser) -> Response:
    """A goal action item: the action items queue, the item highlighted."""
    found = await listed(console, "/goals/actions", action_id)
    return go(request, console, None if found is None else f"{CONSOLE}/actions#action-{action_id}")


@router.get(CONSOLE + "/goals/projects/{project_id}")
async def project(request: Request, project_id: ObjectId, console: ConsoleUser) -> Response:
    """A cross-department project: its account's projects, the project highlighted."""
    found = await one(console, f"/goals/projects/{project_id}")
    return go(request, console, _account_part(found, f"project-{project_id}"))


@router.get(CONSOLE + "/goals/targets/{target_id}")
async def goal_target(request: Request, target_id: ObjectId, console: ConsoleUser) -> Response:
    """A target: the goals page with its variance."""
    found = await one(console, f"/goals/targets/{target_id}")
    location = None if found is None else f"{CONSOLE}/goals?target={target_id}#variance"
    return go(request, console, location)


@router.get(CONSOLE + "/risk/alerts/{alert_id}")
async def alert(request: Request, alert_id: ObjectId, console: ConsoleUser) -> Response:
    """An alert: its account's alerts, the alert highlighted."""
    return go(request, console, _account_part(await one(console, f"/risk/alerts/{alert_id}"), f"alert-{alert_id}"))
