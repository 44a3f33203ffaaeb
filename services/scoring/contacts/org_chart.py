"""The org chart of an account's contacts (who reports to whom): cycle checks and the tree, with no session."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from services.scoring.engagement.cadence import LEVEL_ORDER


def reporting_line(contact_id: str, manager_of: Mapping[str, str | None]) -> list[str]:
    """The contacts above ``contact_id``, nearest first (stops at a repeat, so a stored cycle cannot loop)."""
    line: list[str] = []
    current = manager_of.get(contact_id)
    while current is not None and current not in line and current != contact_id:
        line.append(current)
        current = manager_of.get(current)
    return line


def makes_cycle(contact_id: str, reports_to_id: str | None, manager_of: Mapping[str, str | None]) -> bool:
    """Whether ``contact_id`` reporting to ``reports_to_id`` closes a loop (itself, or someone below it)."""
    if reports_to_id is None:
        return False
    return reports_to_id == contact_id or contact_id in reporting_line(reports_to_id, manager_of)


@dataclass(frozen=True)
class Branch:
    """A contact in the org chart and the branches of those reporting to them."""

    contact_id: str
    reports: list[Branch]


@dataclass(frozen=True)
class Person:
    """What the org chart needs of a contact."""

    contact_id: str
    reports_to_id: str | None
    level: str
    name: str


def _order(person: Person) -> tuple[int, str, str]:
    order: tuple[str, ...] = LEVEL_ORDER
    return (order.index(person.level) if person.level in order else len(order), person.name, person.contact_id)


def build_tree(people: Sequence[Person]) -> list[Branch]:
    """The org chart: each contact under the one it reports to, the rest at the top; siblings by level (executive
    first), then name. A contact whose manager is not among ``people`` (retired) is placed at the top."""
    ids = {p.contact_id for p in people}
    children: dict[str | None, list[Person]] = {}
    for person in people:
        parent = person.reports_to_id if person.reports_to_id in ids else None
        children.setdefault(parent, []).append(person)

    def grow(parent: str | None, seen: frozenset[str]) -> list[Branch]:
        below = sorted(children.get(parent, []), key=_order)
        return [
            Branch(p.contact_id, grow(p.contact_id, seen | {p.contact_id})) for p in below if p.contact_id not in seen
        ]

    return grow(None, frozenset())
