"""Request and response models of preferences, and the effective preferences the delivery planner reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from services.notifications.config import Language
from services.notifications.kinds.service import NOTIFIABLE_KINDS
from shared.api import RequestBody

# The channels a person chooses per kind: the inbox, email now, or email in the daily digest.
PersonalChannel = Literal["in_app", "email", "digest"]
ANY_KIND = "*"


def _naive(value: time | None, name: str) -> time | None:
    if value is not None and value.tzinfo is not None:
        raise ValueError(f"{name} is a local time in the company's zone; give it without an offset")
    return value


class QuietHours(BaseModel):
    """Local times in the company's zone; ``22:00``–``08:00`` spans midnight."""

    start: time
    end: time

    @model_validator(mode="after")
    def _a_real_span(self) -> QuietHours:
        _naive(self.start, "start")
        _naive(self.end, "end")
        if self.start == self.end:
            raise ValueError("start and end are the same time; leave quiet_hours empty for none")
        return self


class PreferencesUpdate(RequestBody):
    """The whole of a user's preferences (what is left out returns to its default)."""

    language: Language | None = Field(default=None, description="zh-CN or en; empty: the service's default")
    channels: dict[str, list[PersonalChannel]] = Field(
        default_factory=dict,
        max_length=100,
        description='Per event kind (or "*" for the rest): in_app, email, digest (email bundled in the daily '
        "digest). The inbox always receives every notification; critical ones are emailed at once.",
    )
    quiet_hours: QuietHours | None = None
    digest_time: time | None = Field(default=None, description="local time of the daily digest (company zone)")

    @field_validator("channels")
    @classmethod
    def _known_kinds(cls, value: dict[str, list[PersonalChannel]]) -> dict[str, list[PersonalChannel]]:
        unknown = sorted(set(value) - {ANY_KIND, *NOTIFIABLE_KINDS})
        if unknown:
            raise ValueError(f"unknown event kinds {unknown}; known: * and {', '.join(NOTIFIABLE_KINDS)}")
        return {kind: sorted(set(channels)) for kind, channels in value.items()}

    @field_validator("digest_time")
    @classmethod
    def _local_digest_time(cls, value: time | None) -> time | None:
        return _naive(value, "digest_time")


class PreferencesRead(BaseModel):
    """A user's preferences as they apply (defaults filled in)."""

    user_id: str
    language: Language
    channels: dict[str, list[PersonalChannel]]
    quiet_hours: QuietHours | None
    digest_time: time
    timezone: str = Field(description="the company's zone: quiet hours and the digest time are local times in it")
    version: int


@dataclass(frozen=True)
class Effective:
    """The preferences one delivery is planned with."""

    language: str
    digest_time: time
    channels: dict[str, list[str]] = field(default_factory=dict)
    quiet_start: time | None = None
    quiet_end: time | None = None

    def choice_for(self, kind: str) -> list[str] | None:
        """The channels chosen for ``kind`` (or for every kind), None when the user chose nothing."""
        return self.channels.get(kind, self.channels.get(ANY_KIND))
