"""The facts of one notifiable event, as routing and the templates read them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class Facts:
    """What happened, to which object of which account, who is named, how urgent, and when it is due.

    ``level`` is what a routing rule's ``levels`` match: the complaint's severity for SLA, assignment and task
    kinds, the escalation level ("1", "2") for escalations, the alert colour for alerts, the reminder stage
    ("90", "60", "30") for contracts and the contact level for engagement; None where a kind has none.
    """

    kind: str
    event_id: str
    occurred_at: datetime
    account_id: str | None
    object_type: str
    object_id: str
    link_path: str
    title: str = ""
    critical: bool = False
    level: str | None = None
    tier: str | None = None
    due_at: datetime | None = None
    due_on: date | None = None
    owner_id: str | None = None  # the person responsible for the object (None: the account's owner)
    assignee_id: str | None = None
    escalated_to: str | None = None
    previous_owner_id: str | None = None
    queue_role: str | None = None  # a role queue the event names (the checker of a limit request)
    excluded: frozenset[str] = frozenset()  # never told: the maker of a request, the actor of an assignment
    values: Mapping[str, str] = field(default_factory=dict)  # template values (codes; the templates localise)
    data: Mapping[str, Any] = field(default_factory=dict)  # the event's payload, for webhook subscribers

    @property
    def named_people(self) -> dict[str, str]:
        """The people the event names, by the template value they appear as."""
        named = {
            "owner": self.owner_id,
            "assignee": self.assignee_id,
            "escalated_to": self.escalated_to,
            "previous_owner": self.previous_owner_id,
            "requester": self.values.get("requester"),
        }
        return {key: value for key, value in named.items() if value}
