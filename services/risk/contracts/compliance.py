"""Contract compliance rules: the clause checklist, review workflow and expiry reminders (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from shared.errors import InvalidTransition

# The clause checklist (code → label).
CLAUSES: dict[str, str] = {
    "rights_obligations": "权利义务 Rights and obligations",
    "ip_ownership": "知识产权归属 IP ownership",
    "confidentiality": "保密条款 Confidentiality",
    "data_protection": "数据保护与个人信息 (PIPL) Data protection and personal information",
    "payment_terms": "付款条件 Payment terms",
    "liability_cap": "责任上限 Liability cap",
    "termination": "终止条款 Termination",
    "dispute_resolution": "争议解决 Dispute resolution",
}
# Which clauses a contract type must contain; an NDA needs neither payment terms nor a liability cap,
# a plain supply contract need not settle IP ownership.
_ALL = frozenset(CLAUSES)
MANDATORY_CLAUSES: dict[str, frozenset[str]] = {
    "framework": _ALL,
    "sales": _ALL - {"ip_ownership"},
    "service": _ALL,
    "supply": _ALL - {"ip_ownership"},
    "nda": frozenset({"rights_obligations", "confidentiality", "data_protection", "termination", "dispute_resolution"}),
    "other": _ALL,
}

CONTRACT_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("legal_review",),
    "legal_review": ("approved", "rejected"),
    "rejected": ("draft",),
    "approved": (),
}

REMINDER_DAYS: tuple[int, ...] = (90, 60, 30)


def missing_mandatory_clauses(contract_type: str, present: Mapping[str, bool] | Iterable[str]) -> list[str]:
    """The mandatory clauses of ``contract_type`` that are not marked present (checklist order)."""
    have = {k for k, v in present.items() if v} if isinstance(present, Mapping) else set(present)
    required = MANDATORY_CLAUSES.get(contract_type, _ALL)
    return [code for code in CLAUSES if code in required and code not in have]


def check_contract_transition(current: str, target: str) -> None:
    """Raise InvalidTransition (409, with the allowed targets) unless ``current → target`` is allowed."""
    allowed = CONTRACT_TRANSITIONS.get(current, ())
    if target not in allowed:
        raise InvalidTransition(
            f"A contract cannot go from {current} to {target}", current=current, allowed=list(allowed)
        )


def reminder_due(end_on: date, today: date, already_sent: Iterable[int]) -> int | None:
    """The reminder (90, 60 or 30 days before ``end_on``) due today, if not sent yet.

    Only the nearest threshold that has been reached counts, so a job that was down for a while sends
    one reminder for the current stage rather than a burst of stale ones. Nothing after expiry.
    """
    days_left = (end_on - today).days
    if days_left < 0:
        return None
    reached = [d for d in REMINDER_DAYS if days_left <= d]
    if not reached:
        return None
    stage = min(reached)
    return None if stage in set(already_sent) else stage
