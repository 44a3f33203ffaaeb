"""The channels, the delivery states and their machine, a delivery claimed for an attempt, and what its sender
reports back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from services.notifications.templates.schemas import Rendered

if TYPE_CHECKING:
    from services.notifications.robots.models import RobotChannel
    from services.notifications.webhooks.models import WebhookSubscription

Channel = Literal["in_app", "email", "webhook", "wecom", "dingtalk", "feishu"]
DeliveryStatus = Literal["pending", "sending", "retrying", "delivered", "held", "digested", "dead", "skipped"]
ROBOT_CHANNELS: tuple[Channel, ...] = ("wecom", "dingtalk", "feishu")

# The delivery state machine: a claim moves a due delivery to sending; the send's outcome moves it on; quiet hours
# hold an email for the digest; an admin's replay puts a dead one back in the queue.
DELIVERY_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"sending"}),
    "retrying": frozenset({"sending"}),
    "sending": frozenset({"delivered", "retrying", "dead", "sending"}),  # sending again: an expired claim
    "held": frozenset({"digested"}),
    "dead": frozenset({"pending"}),
    "delivered": frozenset(),
    "digested": frozenset(),
    "skipped": frozenset(),
}


@dataclass(frozen=True)
class SendOutcome:
    """What one attempt on a channel came to."""

    ok: bool
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None  # the receiver asked us to wait (seconds)
    permanent: bool = False  # retrying cannot help (a refused address): dead at once


@dataclass(frozen=True)
class Claimed:
    """A delivery taken for one attempt, with everything its sender needs (no session while sending)."""

    delivery_id: str
    attempt: int
    channel: str
    target: str
    kind: str
    message: Rendered
    to_name: str = ""
    mentions: list[str] = field(default_factory=list)
    payload: dict[str, Any] = field(default_factory=dict)
    robot: RobotChannel | None = None
    subscription: WebhookSubscription | None = None
