"""The console's pages: login, the dashboard, the account 360, the inbox, and the links notifications point to."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from gateway.console import screens
from gateway.console.client import Console
from gateway.console.deps import ConsoleUser, CsrfChecked, ObjectId
from gateway.console.i18n import label, translate
from gateway.console.pages import CONSOLE, language_of, redirect, render
from gateway.console.session import log_in, log_out
from shared.errors import DomainError, NotFound

router = APIRouter(include_in_schema=False)


def frame(console: Console) -> dict[str, Any]:
    """What the frame of every page needs: who is logged in and which actions their roles allow."""
    principal = console.caller.principal
    return {
        "user": {
            "id": principal.user_id,
            "name": principal.name or principal.user_id,
            "roles": sorted(principal.roles),
        },
        "can": {
            "complaints": console.may("POST", "/complaints/x/acknowledge"),
            "risk": console.may("POST", "/risk/alerts/x/transitions"),
            "limits": console.may("POST", "/risk/limit-requests/x/approve"),
            "goals": console.may("PATCH", "/goals/actions/x"),
            "imports": console.may("POST", "/goals/imports"),
            "inbox": console.has_service("notifications"),
            "parts": console.may("PATCH", "/goals/projects/x/parts/y"),
            "plans": console.may("POST", "/goals/plans/x/transitions"),
            "approve_plans": console.may("POST", "/goals/plans/x/approve"),
            "projects": console.may("POST", "/goals/projects"),
            "surveys": console.may("POST", "/complaints/surveys/requests"),
        },
    }


def translators(request: Request) -> tuple[Any, Any, str]:
    """``t`` and ``label`` bound to the request's language, and the language."""
    lang = language_of(request)
    return (lambda key: translate(key, lang)), (lambda group, value: label(group, value, lang)), lang


def safe_next(target: str | None) -> str:
    """Only a path of the console itself may follow a login (no open redirect)."""
    if target and target.startswith(CONSOLE + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return CONSOLE + "/"


@router.get("/")
async def root() -> Response:
    """The console is the gateway's front page."""
    return Response(status_code=303, headers={"Location": CONSOLE + "/"})


@router.get(CONSOLE)
async def console_root() -> Response:
    """``/console`` → the dashboard."""
    return Response(status_code=303, headers={"Location": CONSOLE + "/"})


@router.get(CONSOLE + "/login")
async def login_form(request: Request, next: str | None = None, expired: bool = False) -> Response:
    """The login form (a fresh CSRF token comes with it)."""
    error = "login.expired" if expired else None
    return render(request, "login.html", {"next": safe_next(next), "error": error, "username": ""})


@router.post(CONSOLE + "/login")
async def login(
    request: Request,
    _: CsrfChecked,
    username: Annotated[str, Form(min_length=1, max_length=100)],
    password: Annotated[str, Form(min_length=1, max_length=200)],
    next: Annotated[str, Form(max_length=500)] = CONSOLE + "/",
) -> Response:
    """Check the password (as the API's token endpoint does) and start a cookie session."""
    try:
        await log_in(request, username=username, password=password)
    except DomainError as refused:
        error = "login.too_many" if refused.status == 429 else "login.failed"
        status = 429 if refused.status == 429 else 401
        return render(
            request, "login.html", {"next": safe_next(next), "error": error, "username": username}, status=status
        )
    return redirect(request, safe_next(next))


@router.post(CONSOLE + "/logout")
async def logout(request: Request, _: CsrfChecked) -> Response:
    """End the session: its refresh token is revoked and the cookies cleared."""
    await log_out(request)
    return redirect(request, CONSOLE + "/login")


@router.get(CONSOLE + "/")
async def dashboard(request: Request, console: ConsoleUser) -> Response:
    """The portfolio dashboard (an account manager's own book)."""
    t, lbl, _ = translators(request)
    context = await screens.dashboard(console, t, lbl)
    return render(request, "dashboard.html", {**frame(console), **context})


@router.get(CONSOLE + "/accounts/{account_id}")
async def account(request: Request, account_id: ObjectId, console: ConsoleUser) -> Response:
    """The account 360; another manager's account is a not-found page."""
    t, lbl, lang = translators(request)
    try:
        context = await screens.account(console, account_id, t, lbl, lang)
    except NotFound:
        return render(request, "not_found.html", frame(console), status=404)
    return render(request, "account.html", {**frame(console), **context})


@router.get(CONSOLE + "/accounts/{account_id}/{part}")
async def account_part(account_id: ObjectId, part: ObjectId, console: ConsoleUser) -> Response:
    """A notification's link to part of an account (credit, engagement …): that part of the account 360."""
    anchor = {"credit": "risk", "engagement": "engagement", "targets": "targets"}.get(part, "profile")
    return Response(status_code=303, headers={"Location": f"{CONSOLE}/accounts/{account_id}#{anchor}"})


@router.get(CONSOLE + "/inbox")
async def inbox(request: Request, console: ConsoleUser) -> Response:
    """The user's notifications, each linked to its object."""
    messages = await screens.inbox(console, limit=50)
    for item in messages["items"]:
        item["console_link"] = screens.console_link(item)
    return render(request, "inbox.html", {**frame(console), "inbox": messages})


@router.post(CONSOLE + "/inbox/{notification_id}/read")
async def mark_read(request: Request, notification_id: ObjectId, console: ConsoleUser, _: CsrfChecked) -> Response:
    """Mark one notification read; the row is swapped in place."""
    result = await console.call("POST", f"/notifications/inbox/{notification_id}/read")
    item = result.body if result.ok and isinstance(result.body, dict) else None
    if item is None:
        raise NotFound(result.detail)
    item["console_link"] = screens.console_link(item)
    return render(request, "_inbox_item.html", {**frame(console), "item": item})
