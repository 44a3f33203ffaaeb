"""Layered engagement cadence: how often each tier needs a contact at each level, and what is overdue."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal, get_args

from shared.vocabulary import tier_rank

# The levels of dialogue (高层 executive, 决策层 decision, 执行层 execution), highest first.
ContactLevel = Literal["executive", "decision", "execution"]
LEVEL_ORDER: tuple[ContactLevel, ...] = get_args(ContactLevel)

# Days between contacts per tier and level (the seed: regular dialogue with executive, decision and execution level).
DEFAULT_CADENCE: dict[str, dict[str, int]] = {
    "strategic": {"executive": 90, "decision": 30, "execution": 14},
    "key": {"executive": 180, "decision": 60, "execution": 30},
    "growth": {"decision": 90, "execution": 45},
    "maintain": {"execution": 90},
}


@dataclass(frozen=True)
class LevelStatus:
    """One required level of one account: last contact, when the next is due, whether it is overdue."""

    level: str
    every_days: int
    last_contact_on: date | None
    due_on: date | None
    overdue: bool
    days_overdue: int | None  # None: never contacted at this level


def cadence_status(
    tier: str | None, rules: Mapping[str, Mapping[str, int]], last_contact: Mapping[str, date | None], today: date
) -> list[LevelStatus]:
    """Each level the tier's policy requires; a level with no contact within its period is overdue."""
    statuses = []
    for level, every_days in (rules.get(tier or "", {}) or {}).items():
        last = last_contact.get(level)
        if last is None:
            statuses.append(LevelStatus(level, every_days, None, None, True, None))
            continue
        due = last + timedelta(days=every_days)
        overdue = today > due
        statuses.append(LevelStatus(level, every_days, last, due, overdue, (today - due).days if overdue else 0))
    order: tuple[str, ...] = LEVEL_ORDER
    return sorted(statuses, key=lambda s: order.index(s.level) if s.level in order else len(order))


def overdue_before(every_days: int, today: date) -> date:
    """A level with a contact every ``every_days`` is overdue on ``today`` when its last contact is before this date
    (or there is none): the rule of ``cadence_status``, as a cut-off a query can compare with."""
    return today - timedelta(days=every_days)


@dataclass(frozen=True)
class OverdueNotice:
    """An overdue level as announced: the period since ``last_contact_on`` (None: never contacted at the level)."""

    level: str
    last_contact_on: date | None
    due_on: date  # when the level fell due; never contacted: the day the account was registered
    days_overdue: int


def overdue_notice(
    level: str, every_days: int, last_contact_on: date | None, *, registered_on: date, today: date
) -> OverdueNotice:
    """How an overdue level is announced: when it fell due and by how many days. A level never contacted counts as
    due since the account was registered (its days overdue are counted from then)."""
    due = registered_on if last_contact_on is None else last_contact_on + timedelta(days=every_days)
    return OverdueNotice(level, last_contact_on, due, max((today - due).days, 0))


# Never contacted at a level ranks before any number of days overdue (at the same tier and level).
NEVER_CONTACTED_DAYS = 10**6


def level_rank(level: str) -> int:
    """Executive 0, decision 1, execution 2; anything else after them."""
    order: tuple[str, ...] = LEVEL_ORDER
    return order.index(level) if level in order else len(order)


def overdue_rank(tier: str | None, level: str, days_overdue: int | None) -> tuple[int, int, int]:
    """Where an overdue item stands in every overdue list, first first: by tier (strategic, key, growth, maintain,
    none), then by contact level (executive, decision, execution), then by days overdue (most first; never
    contacted before any). A strategic account 3 days late at execution level comes before a maintain account a
    year late; within a tier, a decision-level gap before an execution-level one."""
    days = NEVER_CONTACTED_DAYS if days_overdue is None else days_overdue
    return (tier_rank(tier), level_rank(level), -days)


def account_rank(tier: str | None, levels: Sequence[LevelStatus]) -> tuple[int, int, int]:
    """An account's place in the cadence overdue list: the rank of its most urgent overdue level."""
    return min(overdue_rank(tier, s.level, s.days_overdue) for s in levels if s.overdue)


def planned_days_overdue(status: str, planned_on: date | None, today: date) -> int | None:
    """Days a planned engagement is past its due date without being held (None: not overdue — held, or due today
    or later)."""
    if status != "planned" or planned_on is None or planned_on >= today:
        return None
    return (today - planned_on).days
