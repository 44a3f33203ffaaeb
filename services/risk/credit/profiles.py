"""Credit profiles: the account's limits and current grade, the limit in force on a day (in the limit's
currency: a temporary limit in another currency is converted at the rate in force that day), and the order-block
rule the credit check applies (grades, open red alerts)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.credit.exposure import CreditCheckResult, CreditPolicy
from services.risk.credit.models import CreditProfile
from services.risk.credit.policy import CasePolicy
from services.risk.fx.conversion import Conversion, Converter
from services.risk.fx.service import converter_for
from services.risk.warnings.early_warning import OPEN_ALERT_STATUSES
from services.risk.warnings.models import Alert
from shared.money import DEFAULT_CURRENCY


async def get_profile(session: AsyncSession, *, account_id: str) -> CreditProfile | None:
    """The account's credit profile, if it has one."""
    return await session.get(CreditProfile, account_id)


async def ensure_profile(session: AsyncSession, *, account_id: str, now: datetime) -> CreditProfile:
    """The account's credit profile, created empty (no limit, not assessed) when missing."""
    profile = await session.get(CreditProfile, account_id)
    if profile is None:
        profile = CreditProfile(account_id=account_id, currency=DEFAULT_CURRENCY, version=1, updated_at=now)
        session.add(profile)
        await session.flush()
    return profile


def limit_currency(profile: CreditProfile | None) -> str:
    """The currency the account's limit, exposure and utilisation are counted in."""
    return profile.currency if profile is not None else DEFAULT_CURRENCY


@dataclass(frozen=True)
class LimitInForce:
    """The limit in force on a day in its own currency (a temporary limit may be in another one)."""

    amount: Decimal
    currency: str
    temporary: bool


def limit_in_force(profile: CreditProfile | None, today: date) -> LimitInForce | None:
    """An unexpired temporary limit (up to and including its expiry date) overrides the permanent one."""
    if profile is None:
        return None
    if (
        profile.temporary_limit is not None
        and profile.temporary_limit_expires_on is not None
        and today <= profile.temporary_limit_expires_on
    ):
        return LimitInForce(profile.temporary_limit, profile.temporary_limit_currency or profile.currency, True)
    if profile.credit_limit is None:
        return None
    return LimitInForce(profile.credit_limit, profile.currency, False)


def effective_limit(profile: CreditProfile | None, today: date, converter: Converter | None = None) -> Decimal | None:
    """The limit in force in the limit's currency; a temporary limit in another currency needs ``converter``."""
    found = limit_in_force(profile, today)
    if found is None:
        return None
    if found.currency == limit_currency(profile):
        return found.amount
    if converter is None:
        raise ValueError("a temporary limit in another currency needs a converter")
    return converter.to_target(found.amount, found.currency, figure="temporary_limit")


def limit_currencies(profile: CreditProfile | None, today: date) -> set[str]:
    """The currencies the limit in force is in (to load their rates)."""
    found = limit_in_force(profile, today)
    return {found.currency} if found is not None else set()


async def effective_limit_of(
    session: AsyncSession, *, profile: CreditProfile | None, today: date
) -> tuple[Decimal | None, list[Conversion]]:
    """The limit in force in the limit's currency and the conversion it took (422 when its rate is missing)."""
    converter = await converter_for(
        session, target=limit_currency(profile), currencies=limit_currencies(profile, today), day=today
    )
    return effective_limit(profile, today, converter), converter.conversions()


# ---------------------------------------------------------------- the order-block rule of the credit check


def check_policy(policy: CasePolicy) -> CreditPolicy:
    """The credit check's thresholds with the grades the case policy blocks or warns on."""
    return CreditPolicy(block_grades=policy.order_block_grades, warn_grades=policy.order_warn_grades)


async def with_order_block_rule(
    session: AsyncSession, *, account_id: str, result: CreditCheckResult, policy: CasePolicy
) -> CreditCheckResult:
    """Block the order while the account has an open red alert, when the rule says so (reason ``red_alert``)."""
    if not policy.order_block_on_red_alert:
        return result
    titles = list(
        (
            await session.execute(
                select(Alert.title)
                .where(Alert.account_id == account_id, Alert.level == "red", Alert.status.in_(OPEN_ALERT_STATUSES))
                .order_by(Alert.raised_at, Alert.id)
            )
        ).scalars()
    )
    if not titles:
        return result
    reason = {"code": "red_alert", "message": f"An open red alert blocks new orders: {'; '.join(titles)}"}
    return replace(result, decision="block", reasons=[*result.reasons, reason])
