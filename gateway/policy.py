"""The route × role matrix: which roles may call which public path, in one table (first match wins).

Services check roles and object-level access again themselves; this table is the gateway's edge check and the
documentation of who may do what. ``PUBLIC`` routes need no credentials (login and refresh).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from gateway.config import KNOWN_SERVICES
from shared.auth import (
    ACCOUNT_MANAGER,
    ADMIN,
    AUDITOR,
    DEPARTMENT_OWNER,
    RISK_OFFICER,
    ROLES,
    SERVICE,
    SUPERVISOR,
    WRITER_ROLES,
)
from shared.vocabulary import SERVICE_NAMES

PUBLIC: frozenset[str] = frozenset({"*public*"})
ANYONE: frozenset[str] = frozenset(ROLES)
# Every role that works on accounts; an auditor reads the audit logs only (docs/AUDIT.md).
EVERYONE: frozenset[str] = ANYONE - {AUDITOR}
AUDITORS: frozenset[str] = frozenset({ADMIN, AUDITOR})
WRITERS: frozenset[str] = frozenset(WRITER_ROLES)
ADMINS: frozenset[str] = frozenset({ADMIN})
OVERSEERS: frozenset[str] = frozenset({ADMIN, SUPERVISOR})
FORECASTERS: frozenset[str] = frozenset({ADMIN, SUPERVISOR, ACCOUNT_MANAGER})  # who has a sales forecast
SURVEY_WRITERS: frozenset[str] = frozenset({ADMIN, SUPERVISOR, ACCOUNT_MANAGER, SERVICE})
NOBODY: frozenset[str] = frozenset()  # no role of a caller (admin passes the edge; the service refuses it)
READ = frozenset({"GET", "HEAD", "OPTIONS"})
WRITE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ANY = READ | WRITE


@dataclass(frozen=True)
class Rule:
    """Methods on a path pattern (``{name}`` one segment, ``**`` anything) → the roles allowed."""

    methods: frozenset[str]
    pattern: str
    roles: frozenset[str]
    example: str  # a concrete path the matrix test calls

    @property
    def regex(self) -> re.Pattern[str]:
        """The pattern compiled (``{x}`` matches one segment, ``/**`` any rest)."""
        return _compile(self.pattern)


@cache
def _compile(pattern: str) -> re.Pattern[str]:
    escaped = re.escape(pattern).replace(r"/\*\*", "(?:/.*)?")
    return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", escaped) + "$")


MATRIX: tuple[Rule, ...] = (
    # Gateway: authentication (public) and identity administration (admin)
    Rule(frozenset({"POST"}), "/api/v1/auth/token", PUBLIC, "/api/v1/auth/token"),
    Rule(frozenset({"POST"}), "/api/v1/auth/refresh", PUBLIC, "/api/v1/auth/refresh"),
    Rule(frozenset({"POST"}), "/api/v1/auth/logout", PUBLIC, "/api/v1/auth/logout"),
    Rule(frozenset({"GET"}), "/api/v1/me", ANYONE, "/api/v1/me"),
    Rule(frozenset({"GET"}), "/api/v1/me/accounts", ANYONE, "/api/v1/me/accounts"),
    # The audit logs of sensitive actions (read-only: no route writes them): the gateway's own (users, roles, API
    # keys) and every service's
    Rule(ANY, "/api/v1/identity/audit", AUDITORS, "/api/v1/identity/audit"),
    *(Rule(ANY, f"/api/v1/{s}/audit", AUDITORS, f"/api/v1/{s}/audit") for s in KNOWN_SERVICES),
    Rule(ANY, "/api/v1/users/**", ADMINS, "/api/v1/users"),
    Rule(ANY, "/api/v1/api-keys/**", ADMINS, "/api/v1/api-keys"),
    # Gateway: composed views (object-level checks inside)
    Rule(frozenset({"GET"}), "/api/v1/accounts/{account_id}/overview", EVERYONE, "/api/v1/accounts/{account}/overview"),
    Rule(frozenset({"GET"}), "/api/v1/portfolio", EVERYONE, "/api/v1/portfolio"),
    # Operations of every service (health, metrics, dead letters, outbox)
    Rule(ANY, "/api/v1/ops/**", ADMINS, "/api/v1/ops/scoring/healthz"),
    *(Rule(ANY, f"/api/v1/{s}/admin/**", ADMINS, f"/api/v1/{s}/admin/outbox") for s in SERVICE_NAMES),
    # Notifications: everyone has an inbox and preferences of their own; supervisors read the routing rules, teams
    # and the delivery log; admins change rules, teams, robots and webhooks and replay deliveries
    Rule(ANY, "/api/v1/notifications/admin/**", ADMINS, "/api/v1/notifications/admin/robots"),
    Rule(ANY, "/api/v1/notifications/inbox/**", EVERYONE, "/api/v1/notifications/inbox"),
    Rule(ANY, "/api/v1/notifications/preferences/**", EVERYONE, "/api/v1/notifications/preferences/me"),
    Rule(READ, "/api/v1/notifications/**", OVERSEERS, "/api/v1/notifications/deliveries"),
    Rule(WRITE, "/api/v1/notifications/**", ADMINS, "/api/v1/notifications/rules"),
    # Satisfaction surveys (complaints): supervisors keep the templates and schedules; account managers ask and
    # follow up on their own accounts (checked by the service); the respond endpoints take only the survey page's
    # own internal token (shared.auth.SURVEY_RESPONDER), never a caller's (complaints refuses every other role).
    Rule(ANY, "/api/v1/complaints/surveys/respond/**", NOBODY, "/api/v1/complaints/surveys/respond/x"),
    Rule(WRITE, "/api/v1/complaints/surveys/templates/**", OVERSEERS, "/api/v1/complaints/surveys/templates"),
    Rule(WRITE, "/api/v1/complaints/surveys/schedules/**", OVERSEERS, "/api/v1/complaints/surveys/schedules"),
    Rule(WRITE, "/api/v1/complaints/surveys/**", SURVEY_WRITERS, "/api/v1/complaints/surveys/requests"),
    # Risk work a plan gives account managers on accounts they see (the service checks the account: 404
    # otherwise): complete or reassign their action items, move and own alerts, draft and submit contracts and
    # upload their documents (the service keeps approving, amending, renewing, terminating to deciders),
    # credit-check an order, cancel an order the customer or sales withdrew and close one once invoiced (releasing
    # and rejecting a blocked order stay with credit management)
    *(
        Rule(frozenset({method}), pattern, WRITERS, example)
        for method, pattern, example in (
            ("POST", "/api/v1/risk/action-items/{item_id}/complete", "/api/v1/risk/action-items/i-1/complete"),
            ("PATCH", "/api/v1/risk/action-items/{item_id}", "/api/v1/risk/action-items/i-1"),
            ("POST", "/api/v1/risk/alerts/{alert_id}/transitions", "/api/v1/risk/alerts/a-1/transitions"),
            ("PATCH", "/api/v1/risk/alerts/{alert_id}", "/api/v1/risk/alerts/a-1"),
            ("POST", "/api/v1/risk/accounts/{account_id}/contracts", "/api/v1/risk/accounts/{account}/contracts"),
            ("PATCH", "/api/v1/risk/contracts/{contract_id}", "/api/v1/risk/contracts/c-1"),
            ("POST", "/api/v1/risk/contracts/{contract_id}/transitions", "/api/v1/risk/contracts/c-1/transitions"),
            ("POST", "/api/v1/risk/contracts/{contract_id}/documents", "/api/v1/risk/contracts/c-1/documents"),
            ("POST", "/api/v1/risk/accounts/{account_id}/credit-check", "/api/v1/risk/accounts/{account}/credit-check"),
            ("POST", "/api/v1/risk/orders/{order_id}/cancel", "/api/v1/risk/orders/o-1/cancel"),
            ("POST", "/api/v1/risk/orders/{order_id}/close", "/api/v1/risk/orders/o-1/close"),
        )
    ),
    # Risk decisions (credit limits, scorecard, rules, plans, receivables) belong to risk officers and supervisors
    Rule(WRITE, "/api/v1/risk/**", frozenset({ADMIN, SUPERVISOR, RISK_OFFICER, SERVICE}), "/api/v1/risk/x"),
    # Goals: a supervisor approves account plans; a department owner moves the project parts assigned to them (the
    # service checks it is theirs) and reads only those (object-level filtering by the service)
    Rule(frozenset({"POST"}), "/api/v1/goals/plans/{plan_id}/approve", OVERSEERS, "/api/v1/goals/plans/p-1/approve"),
    Rule(
        frozenset({"PATCH"}),
        "/api/v1/goals/projects/{project_id}/parts/{part_id}",
        WRITERS | {DEPARTMENT_OWNER},
        "/api/v1/goals/projects/p-1/parts/pp-1",
    ),
    # Goals: a forecast (commit / best case / pipeline) is submitted by the person — an account manager or a
    # supervisor, who may also submit for someone (checked by the service) — and adjusted only by a supervisor
    Rule(
        frozenset({"POST"}),
        "/api/v1/goals/forecasts/{forecast_id}/adjust",
        OVERSEERS,
        "/api/v1/goals/forecasts/f-1/adjust",
    ),
    Rule(WRITE, "/api/v1/goals/forecasts/**", FORECASTERS, "/api/v1/goals/forecasts"),
    # Goals: a supervisor sets the scorecard schemes (weights, caps, components), rates qualitative KPIs and signs
    # scorecards off
    Rule(WRITE, "/api/v1/goals/scorecard-schemes/**", OVERSEERS, "/api/v1/goals/scorecard-schemes/account_manager"),
    Rule(WRITE, "/api/v1/goals/scorecards/**", OVERSEERS, "/api/v1/goals/scorecards/am-li/2026-Q4/sign-off"),
    Rule(WRITE, "/api/v1/goals/plans/**", WRITERS, "/api/v1/goals/plans"),
    Rule(WRITE, "/api/v1/goals/projects/**", WRITERS, "/api/v1/goals/projects"),
    Rule(READ, "/api/v1/goals/projects/**", EVERYONE, "/api/v1/goals/projects/parts/mine"),
    # Supervisor decisions on an account or complaint (the services refuse everyone else): refused here for every
    # account, so that an account manager's answer never tells a hidden account from an unknown one
    *(
        Rule(frozenset({method}), pattern, OVERSEERS, example)
        for method, pattern, example in (
            ("PUT", "/api/v1/accounts/{account_id}/team", "/api/v1/accounts/{account}/team"),
            ("PUT", "/api/v1/accounts/{account_id}/ratings", "/api/v1/accounts/{account}/ratings"),
            (
                "POST",
                "/api/v1/accounts/{account_id}/change-requests/{change_request_id}/approve",
                "/api/v1/accounts/{account}/change-requests/cr-1/approve",
            ),
            (
                "POST",
                "/api/v1/accounts/{account_id}/change-requests/{change_request_id}/reject",
                "/api/v1/accounts/{account}/change-requests/cr-1/reject",
            ),
            (
                "POST",
                "/api/v1/accounts/{account_id}/contacts/{contact_id}/level-review",
                "/api/v1/accounts/{account}/contacts/ct-1/level-review",
            ),
            (
                "POST",
                "/api/v1/accounts/{account_id}/engagements/{engagement_id}/level-review",
                "/api/v1/accounts/{account}/engagements/e-1/level-review",
            ),
            ("POST", "/api/v1/accounts/{account_id}/tier-override", "/api/v1/accounts/{account}/tier-override"),
            ("DELETE", "/api/v1/accounts/{account_id}/tier-override", "/api/v1/accounts/{account}/tier-override"),
            (
                "POST",
                "/api/v1/complaints/{complaint_id}/remedies/{remedy_id}/decision",
                "/api/v1/complaints/c-1/remedies/r-1/decision",
            ),
        )
    ),
    # A scoring model's preview scores the whole portfolio (every account's tier move): supervisors only
    Rule(READ, "/api/v1/scoring/models/{version}/preview", OVERSEERS, "/api/v1/scoring/models/1/preview"),
    # Everything else: every role reads (object-level filtering by the services), writers write
    *(Rule(READ, f"/api/v1/{s}/**", EVERYONE, f"/api/v1/{s}/views/portfolio") for s in SERVICE_NAMES),
    Rule(READ, "/api/v1/accounts/**", EVERYONE, "/api/v1/accounts"),
    *(Rule(WRITE, f"/api/v1/{s}/**", WRITERS, f"/api/v1/{s}/x") for s in SERVICE_NAMES if s != "risk"),
    Rule(WRITE, "/api/v1/accounts/**", WRITERS, "/api/v1/accounts"),
)

# Account managers work on accounts; they are writers on scoring, complaints and goals, and on risk only for the
# work plans give them (above), never limits, scorecard or rules.
assert ACCOUNT_MANAGER in WRITERS


def rule_for(method: str, path: str) -> Rule | None:
    """The first rule matching a request, or None (unknown routes are refused)."""
    for rule in MATRIX:
        if method in rule.methods and rule.regex.match(path):
            return rule
    return None


def allowed(method: str, path: str, roles: frozenset[str]) -> bool:
    """Whether any of ``roles`` may call ``method path`` (admin may call every non-public route)."""
    rule = rule_for(method, path)
    if rule is None or rule.roles is PUBLIC:
        return rule is not None
    return not roles.isdisjoint(rule.roles) or ADMIN in roles
