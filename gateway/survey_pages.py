"""The customer-facing survey page (``/s/{token}``): no login, reached by a single-use, expiring, unguessable link.

The page shows only the survey's questions and the company's name, in the contact's language (with a switch). The
gateway asks the complaints service's internal respond endpoints with a short-lived token of the one role they
accept (``survey_responder``); the link's token itself is the secret, so the plain form post needs no CSRF token.
An unknown and a tampered link give the same page (404); a used or expired one a clear page (410). Every answer
carries a strict CSP, ``no-store`` and no referrer; each client address is rate limited.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from gateway import identity
from gateway.edge import RateLimiter, TooManyRequests
from gateway.runtime import runtime_of
from shared.auth import SURVEY_RESPONDER
from shared.errors import DomainError

router = APIRouter(include_in_schema=False)
TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates" / "survey"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)
LANGUAGES = ("zh-CN", "en")
RESPONDER_TTL_SECONDS = 60
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "X-Robots-Tag": "noindex, nofollow",
}
TEXTS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "title": "满意度调研",
        "submit": "提交",
        "switch": "English",
        "required": "必填",
        "nps_low": "完全不可能",
        "nps_high": "非常可能",
        "csat_low": "非常不满意",
        "csat_high": "非常满意",
        "comment": "其他意见（可选）",
        "thanks_title": "感谢您的反馈",
        "thanks": "您的答复已收到。感谢您抽出时间。",
        "gone_title": "此链接已失效",
        "answered": "此调研已经答复过，每个链接只能使用一次。",
        "expired": "此调研链接已过期。如需反馈，请联系您的客户经理。",
        "unknown_title": "找不到此调研",
        "unknown": "此链接无效。请检查链接是否完整，或联系您的客户经理。",
        "error_title": "暂时无法打开",
        "error": "服务暂时不可用，请稍后再试。",
        "busy": "请求过于频繁，请稍后再试。",
        "invalid": "请检查标记的题目后再提交。",
    },
    "en": {
        "title": "Satisfaction survey",
        "submit": "Submit",
        "switch": "中文",
        "required": "required",
        "nps_low": "Not at all likely",
        "nps_high": "Extremely likely",
        "csat_low": "Very dissatisfied",
        "csat_high": "Very satisfied",
        "comment": "Anything else? (optional)",
        "thanks_title": "Thank you for your feedback",
        "thanks": "Your answer has been received. Thank you for your time.",
        "gone_title": "This link is no longer valid",
        "answered": "This survey has already been answered; each link can be used once.",
        "expired": "This survey link has expired. Please contact your account manager to give feedback.",
        "unknown_title": "Survey not found",
        "unknown": "This link is not valid. Check that it is complete, or contact your account manager.",
        "error_title": "Not available right now",
        "error": "The service is unavailable; please try again later.",
        "busy": "Too many requests; please try again shortly.",
        "invalid": "Please check the marked questions and submit again.",
    },
}


def _language(request: Request, fallback: str = "zh-CN") -> str:
    chosen = request.query_params.get("lang")
    return chosen if chosen in LANGUAGES else fallback


def _page(name: str, status: int, **context: Any) -> HTMLResponse:
    language = context["language"]
    html = TEMPLATES.get_template(name).render(t=TEXTS[language], **context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def _unknown(request: Request) -> HTMLResponse:
    """The one page for every link that names nothing (malformed, unknown, tampered): it depends on nothing else."""
    return _page("message.html", 404, language=_language(request), kind="unknown")


def _limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter | None = getattr(request.app.state, "survey_limiter", None)
    if limiter is None:
        settings = runtime_of(request).settings
        limiter = RateLimiter(per_minute=settings.survey_rate_limit_per_minute, burst=settings.survey_rate_limit_burst)
        request.app.state.survey_limiter = limiter
    return limiter


def _responder_headers(request: Request) -> dict[str, str]:
    """A short-lived token of the survey page's own role, reused while at least half its life remains."""
    cached: tuple[float, str] | None = getattr(request.app.state, "survey_responder_token", None)
    if cached is None or time.monotonic() - cached[0] > RESPONDER_TTL_SECONDS / 2:
        runtime = runtime_of(request)
        token = identity.mint_access_token(
            runtime.settings,
            user_id="survey-page",
            roles=[SURVEY_RESPONDER],
            name="survey page",
            kind="service",
            ttl_seconds=RESPONDER_TTL_SECONDS,
            now=datetime.now(UTC),  # a token's times are real time, as its verifier reads them
        )
        cached = request.app.state.survey_responder_token = (time.monotonic(), token)
    headers = {"authorization": f"Bearer {cached[1]}", "content-type": "application/json"}
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        headers["x-request-id"] = request_id
    return headers


async def _call(request: Request, method: str, token: str, body: bytes | None = None) -> tuple[int, dict[str, Any]]:
    """(status, JSON body) of the complaints service's respond endpoint for this token."""
    upstream = runtime_of(request).upstreams["complaints"]
    path = f"/complaints/surveys/respond/{token}"
    response = await upstream.request(method, path, headers=_responder_headers(request), content=body)
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    return response.status_code, payload if isinstance(payload, dict) else {}


def _refusal(request: Request, status: int, payload: dict[str, Any]) -> HTMLResponse:
    """The page for an answer that is not the survey: unknown (404), used or expired (410), else unavailable."""
    if status == 404:
        return _unknown(request)
    if status == 410:
        fallback = payload.get("language") if payload.get("language") in LANGUAGES else "zh-CN"
        kind = "expired" if payload.get("state") == "expired" else "answered"
        return _page("message.html", 410, language=_language(request, str(fallback)), kind=kind)
    return _page("message.html", 503, language=_language(request), kind="error")


async def _guarded(request: Request, token: str) -> HTMLResponse | None:
    """A refusal before any upstream call: rate limit (429) or a token that cannot be one (the unknown page)."""
    client = request.client.host if request.client else "unknown"
    try:
        _limiter(request).check(f"survey:{client}")
    except TooManyRequests as busy:
        page = _page("message.html", 429, language=_language(request), kind="busy")
        page.headers.update(busy.headers)
        return page
    return None if TOKEN.match(token) else _unknown(request)


def _form(request: Request, token: str, survey: dict[str, Any], **extra: Any) -> dict[str, Any]:
    language = _language(request, survey.get("language", "zh-CN"))
    other = "en" if language == "zh-CN" else "zh-CN"
    return {
        "language": language,
        "survey": survey,
        "action": f"/s/{token}?lang={language}",
        "switch": f"/s/{token}?lang={other}",
        "errors": {},
        "values": {},
        **extra,
    }


@router.get("/s/{token}")
async def survey_form(token: str, request: Request) -> HTMLResponse:
    """The survey's questions in the contact's language (``?lang=en|zh-CN`` switches)."""
    if (refused := await _guarded(request, token)) is not None:
        return refused
    try:
        status, payload = await _call(request, "GET", token)
    except DomainError:
        return _page("message.html", 503, language=_language(request), kind="error")
    if status != 200:
        return _refusal(request, status, payload)
    return _page("form.html", 200, **_form(request, token, payload))


def _answers(survey: dict[str, Any], form: dict[str, str]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for question in survey.get("questions", []):
        raw = form.get(question["key"], "").strip()
        if not raw:
            continue
        answers[question["key"]] = int(raw) if question["kind"] != "text" and raw.isdigit() else raw[:5000]
    return answers


@router.post("/s/{token}")
async def survey_answer(token: str, request: Request) -> HTMLResponse:
    """The customer's answer (a plain form post): recorded once; a second use or a lapsed link is refused."""
    if (refused := await _guarded(request, token)) is not None:
        return refused
    try:
        status, survey = await _call(request, "GET", token)
        if status != 200:
            return _refusal(request, status, survey)
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        answers = _answers(survey, form)
        body = {"answers": answers}
        status, payload = await _call(request, "POST", token, json.dumps(body).encode())
    except DomainError:
        return _page("message.html", 503, language=_language(request), kind="error")
    if status == 200:
        return _page("message.html", 200, language=_language(request, survey.get("language", "zh-CN")), kind="thanks")
    if status == 422:
        errors = {str(payload.get("field", "")).removeprefix("answers."): True}
        return _page("form.html", 422, **_form(request, token, survey, errors=errors, values=answers))
    return _refusal(request, status, payload)
