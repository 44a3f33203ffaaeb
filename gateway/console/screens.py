"""What each console page shows: the reads it needs (made concurrently) and the charts built from them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from gateway.console import charts
from gateway.console.client import ApiResult, Console
from gateway.console.formatting import to_decimal
from shared.views import AccountOverview
from shared.views.goals import GoalsTierAttainment
from shared.views.scoring import TierCount

Translate = Callable[[str], str]
Label = Callable[[str, object], str]
# Complaint states whose complaint still needs work (the queue lists them; closed ones are history).
WORKING_STATES = frozenset(
    {"new", "acknowledged", "investigating", "solution_proposed", "reopened", "resolved", "revisited"}
)


async def inbox(console: Console, limit: int = 8) -> dict[str, Any]:
    """The user's latest notifications and unread count (``deployed`` False without a notifications service)."""
    if not console.has_service("notifications"):
        return {"deployed": False, "items": [], "unread": 0}
    items, count = await asyncio.gather(
        console.get("/notifications/inbox", limit=limit), console.get("/notifications/inbox/unread-count")
    )
    unread = count.body.get("unread", 0) if count.ok and isinstance(count.body, dict) else 0
    return {"deployed": True, "items": items.items(), "unread": unread, "detail": None if items.ok else items.detail}


def console_link(item: dict[str, Any]) -> str:
    """Where a notification leads in the console: the console page of its link (every link the notifications
    service builds has one), else its complaint or the part of its account's 360 it is about."""
    path = urlsplit(str(item.get("link") or "")).path
    if path.startswith("/console/") and "//" not in path:
        return path
    kind, account = str(item.get("object_type", "")), item.get("account_id")
    if kind == "complaint":
        return f"/console/complaints/{item.get('object_id')}"
    if not account:
        return "/console/inbox"
    anchor = {"engagement": "engagement", "target": "targets", "goal_action": "targets"}.get(kind, "risk")
    return f"/console/accounts/{account}#{anchor}"


async def dashboard(console: Console, t: Translate, label: Label) -> dict[str, Any]:
    """The portfolio board, the inbox and overdue action items, with the dashboard's charts."""
    board, messages, overdue = await asyncio.gather(
        console.portfolio(), inbox(console), console.get("/goals/actions", overdue="true", limit=10)
    )
    sections = board.sections
    scoring, complaints, risk, goals = (
        sections.scoring.data,
        sections.complaints.data,
        sections.risk.data,
        sections.goals.data,
    )
    options: dict[str, Any] = {}
    tier_rows: list[dict[str, Any]] = []
    revenue = goals.revenue_attainment_by_tier if goals else []
    if scoring is not None:
        options["tiers"] = charts.tier_mix(scoring.distribution.tiers, revenue, t, label)
        tier_rows = _tier_rows(scoring.distribution.tiers, revenue)
    if complaints is not None:
        on_track = max(0, complaints.open_total - complaints.breached_count - complaints.warning_count)
        options["sla"] = charts.sla_board(complaints.breached_count, complaints.warning_count, on_track, t)
    if risk is not None:
        options["heatmap"] = charts.heatmap(risk.heatmap, risk.levels, label)
    if goals is not None:
        tiers = goals.revenue_attainment_by_tier
        options["att_tier"] = charts.attainment(tiers, [label("tier", x.tier) for x in tiers], t)
        managers = goals.revenue_attainment_by_account_manager
        options["att_manager"] = charts.attainment(managers, [x.owner_id for x in managers], t)
    for item in messages["items"]:
        item["console_link"] = console_link(item)
    return {
        "board": board,
        "scoring": scoring,
        "complaints": complaints,
        "risk": risk,
        "goals": goals,
        "charts": options,
        "tier_rows": tier_rows,
        "inbox": messages,
        "overdue_actions": overdue.items(),
    }


def _tier_rows(tiers: Sequence[TierCount], revenue: Sequence[GoalsTierAttainment]) -> list[dict[str, Any]]:
    """Each tier's accounts, average score, revenue this year and share of it (one currency: the board's)."""
    by_tier = {line.tier: to_decimal(line.actual) or Decimal(0) for line in revenue}
    total = sum(by_tier.values(), Decimal(0))
    rows = []
    for tier in tiers:
        amount = by_tier.get(tier.code or "unassigned")
        share = amount * 100 / total if amount is not None and total else None
        rows.append({"tier": tier, "revenue": amount, "share": share})
    return rows


async def account(console: Console, account_id: str, t: Translate, label: Label, lang: str) -> dict[str, Any]:
    """The account 360 (404 raised for an account the user may not see) and the lists around it."""
    # The lists around the account are read together with the overview (each is access-checked on its own); only
    # the alerts' plan steps wait for the overview, which names the open alerts.
    reads = (
        console.get(f"/accounts/{account_id}/tier-history"),
        console.get(f"/accounts/{account_id}/engagements"),
        console.get("/complaints", account_id=account_id, limit=100, sort="-opened_at"),
        console.get("/goals/plans", account_id=account_id, limit=10),
        console.get("/goals/projects", account_id=account_id, limit=20),
        console.get("/complaints/surveys/requests", account_id=account_id, limit=10),
        console.get("/complaints/surveys/follow-ups", account_id=account_id, limit=20),
        console.get("/complaints/surveys/templates", limit=100),
    )
    overview, lists, open_alerts = await asyncio.gather(
        console.overview(account_id), asyncio.gather(*reads), _open_alerts(console, account_id)
    )
    history, engagements, complaints, plans, projects, surveys, follow_ups, templates = lists
    risk = overview.sections.risk.data
    if risk is not None:  # in the order the risk view ranks them
        rank = {alert.id: n for n, alert in enumerate(risk.open_alerts)}
        open_alerts.sort(key=lambda alert: rank.get(str(alert.get("id")), len(rank)))
    return {
        "overview": overview,
        "account": overview.account,
        "scoring": overview.sections.scoring.data,
        "complaints_view": overview.sections.complaints.data,
        "risk": risk,
        "goals": overview.sections.goals.data,
        "sections": overview.sections,
        "history": sorted(history.items(), key=lambda row: str(row.get("changed_at"))),
        "engagements": engagements.items()[:20],
        "complaints": [c for c in complaints.items() if c.get("state") in WORKING_STATES],
        "alerts": open_alerts,
        "plans": plans.items() if plans.ok else None,
        "projects": projects.items() if projects.ok else None,
        "surveys": surveys.items() if surveys.ok else None,
        "follow_ups": follow_ups.items(),
        "survey_templates": sorted({str(x["code"]) for x in templates.items() if x.get("state") == "published"}),
        "charts": _account_charts(overview, history, t, label, lang),
    }


async def _open_alerts(console: Console, account_id: str) -> list[dict[str, Any]]:
    """The account's open alerts with their contingency plan steps (read alongside the overview, not after it)."""
    listed = await console.get("/risk/alerts", account_id=account_id, status="open", limit=50)
    ids = [str(alert.get("id")) for alert in listed.items() if isinstance(alert, dict)]
    details = await asyncio.gather(*(console.get(f"/risk/alerts/{alert_id}") for alert_id in ids))
    return [found.body for found in details if found.ok and isinstance(found.body, dict)]


def _account_charts(
    overview: AccountOverview, history: ApiResult, t: Translate, label: Label, lang: str
) -> dict[str, Any]:
    options: dict[str, Any] = {}
    scoring, risk, goals = (overview.sections.scoring.data, overview.sections.risk.data, overview.sections.goals.data)
    if scoring is not None and scoring.score is not None:
        options["radar"] = charts.radar(scoring.score.dimensions, lang)
    points = [
        (str(row.get("changed_at", ""))[:10], to_decimal(row.get("score")), label("tier", row.get("new_tier")))
        for row in sorted(history.items(), key=lambda row: str(row.get("changed_at")))
    ]
    if points:
        options["history"] = charts.score_history(points, t)
    if risk is not None:
        if risk.credit.utilisation_pct is not None:
            options["gauge"] = charts.utilisation_gauge(risk.credit.utilisation_pct, t)
        options["aging"] = charts.aging(risk.aging, risk.credit.currency, label)
    if goals is not None and goals.targets:
        options["forecast"] = charts.forecast(goals.targets, t, label)
    return options
