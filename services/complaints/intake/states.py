"""The complaint's closed-loop state machine: its states, the one transition table, and the guard (pure)."""

from __future__ import annotations

from typing import Literal, get_args

from shared.errors import InvalidTransition

ComplaintState = Literal[
    "new", "acknowledged", "investigating", "solution_proposed", "resolved", "revisited", "closed", "reopened"
]
STATES: tuple[ComplaintState, ...] = get_args(ComplaintState)
# Each state's allowed targets, in the order the API lists them (``allowed`` of a 409, ``allowed_transitions``).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("acknowledged",),
    "acknowledged": ("investigating", "solution_proposed", "resolved"),
    "investigating": ("solution_proposed", "resolved"),
    "solution_proposed": ("investigating", "resolved"),
    "resolved": ("revisited", "reopened"),
    "revisited": ("closed", "reopened"),
    "closed": ("reopened",),
    "reopened": ("investigating", "solution_proposed", "resolved"),
}
OPEN_STATES = ("new", "acknowledged", "investigating", "solution_proposed", "reopened")
# A complaint needs its owner until it is closed: while open, resolved (awaiting the revisit) and revisited.
OWNED_STATES = (*OPEN_STATES, "resolved", "revisited")
# The SLA clock may stop only while we wait on the customer (to accept the proposed solution).
PAUSABLE_STATES = ("solution_proposed",)


def ensure_transition(current: str, target: str) -> None:
    """Refuse a state change the state machine does not allow (409 with the allowed targets)."""
    allowed = TRANSITIONS[current]
    if target not in allowed:
        raise InvalidTransition(
            f"A complaint in state {current!r} cannot move to {target!r}", current=current, allowed=allowed
        )
