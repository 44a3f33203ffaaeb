"""Preferences: reading and replacing them, and the pure rules of quiet hours, digests and email timing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.config import NotificationsSettings
from services.notifications.memo import preferences_key, remembered
from services.notifications.preferences.models import Preference
from services.notifications.preferences.schemas import Effective, PreferencesRead, PreferencesUpdate, QuietHours

# ---------------------------------------------------------------- pure rules


def in_quiet_hours(moment: datetime, zone: ZoneInfo, start: time | None, end: time | None) -> bool:
    """Whether ``moment`` falls in [start, end) local time; a span whose end is before its start crosses midnight."""
    if start is None or end is None:
        return False
    local = moment.astimezone(zone).time().replace(tzinfo=None)
    if start < end:
        return start <= local < end
    return local >= start or local < end


def next_digest_at(now: datetime, zone: ZoneInfo, prefs: Effective) -> datetime:
    """The next digest instant after ``now`` (UTC): the digest time, moved to the end of quiet hours when the
    digest time itself is quiet."""
    local_now = now.astimezone(zone)
    candidate = datetime.combine(local_now.date(), prefs.digest_time, tzinfo=zone)
    if candidate <= local_now:
        candidate = datetime.combine(local_now.date() + timedelta(days=1), prefs.digest_time, tzinfo=zone)
    if prefs.quiet_end is not None and in_quiet_hours(candidate, zone, prefs.quiet_start, prefs.quiet_end):
        end = datetime.combine(candidate.date(), prefs.quiet_end, tzinfo=zone)
        candidate = end if end > candidate else end + timedelta(days=1)
    return candidate.astimezone(UTC)


@dataclass(frozen=True)
class EmailPlan:
    """Whether a person gets an email for a notification, and if so now or held for the digest until when."""

    wanted: bool
    held_until: datetime | None = None


def plan_email(
    *, kind: str, critical: bool, rule_wants_email: bool, prefs: Effective, now: datetime, zone: ZoneInfo
) -> EmailPlan:
    """The user's choice for the kind decides (email now, digest, or none; no choice: as the rules say); quiet
    hours hold non-critical email for the digest; critical items go out at once whatever the hour or a digest
    choice."""
    choice = prefs.choice_for(kind)
    wanted = bool({"email", "digest"} & set(choice)) if choice is not None else rule_wants_email
    if not wanted:
        return EmailPlan(wanted=False)
    if critical:
        return EmailPlan(wanted=True)
    deferred = choice is not None and "digest" in choice and "email" not in choice
    if deferred or in_quiet_hours(now, zone, prefs.quiet_start, prefs.quiet_end):
        return EmailPlan(wanted=True, held_until=next_digest_at(now, zone, prefs))
    return EmailPlan(wanted=True)


# ---------------------------------------------------------------- stored preferences


def effective(row: Preference | None, settings: NotificationsSettings) -> Effective:
    """The preferences that apply: the user's row with the service's defaults filled in."""
    if row is None:
        return Effective(language=settings.default_language, digest_time=settings.digest_time)
    return Effective(
        language=row.language,
        digest_time=row.digest_time or settings.digest_time,
        channels=dict(row.channels or {}),
        quiet_start=row.quiet_start,
        quiet_end=row.quiet_end,
    )


async def preferences_of(session: AsyncSession, *, user_id: str, settings: NotificationsSettings) -> Effective:
    """A user's effective preferences (remembered in a consumer transaction: only requests change them)."""
    return await remembered(
        session, preferences_key(user_id), lambda: _effective_of(session, user_id=user_id, settings=settings)
    )


async def _effective_of(session: AsyncSession, *, user_id: str, settings: NotificationsSettings) -> Effective:
    return effective(await session.get(Preference, user_id), settings)


async def stored_preference(session: AsyncSession, *, user_id: str) -> Preference | None:
    """The user's stored row (None while they keep the defaults)."""
    return await session.get(Preference, user_id)


def read_preferences(user_id: str, row: Preference | None, settings: NotificationsSettings) -> PreferencesRead:
    """Preferences as the API shows them."""
    prefs = effective(row, settings)
    quiet = QuietHours(start=prefs.quiet_start, end=prefs.quiet_end) if prefs.quiet_start and prefs.quiet_end else None
    return PreferencesRead(
        user_id=user_id,
        language=prefs.language,
        channels=prefs.channels,
        quiet_hours=quiet,
        digest_time=prefs.digest_time,
        timezone=settings.timezone,
        version=row.version if row is not None else 0,
    )


async def replace_preferences(
    session: AsyncSession,
    *,
    user_id: str,
    row: Preference | None,
    body: PreferencesUpdate,
    settings: NotificationsSettings,
    now: datetime,
) -> Preference:
    """Store the whole of a user's preferences (version bumped)."""
    if row is None:
        row = Preference(user_id=user_id, version=0)
        session.add(row)
    row.language = body.language or settings.default_language
    row.channels = {kind: list(channels) for kind, channels in body.channels.items()}
    row.quiet_start = body.quiet_hours.start if body.quiet_hours else None
    row.quiet_end = body.quiet_hours.end if body.quiet_hours else None
    row.digest_time = body.digest_time
    row.version = (row.version or 0) + 1
    row.updated_at = now
    await session.flush()
    return row
