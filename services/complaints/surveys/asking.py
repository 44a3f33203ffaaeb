"""Survey requests: asked by a schedule (one per contact per schedule per period), after a delivery, after a
complaint closed, for a complaint's revisit, or by hand; their single-use expiring links; their state machine."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints.intake.models import Complaint
from services.complaints.models import platform
from services.complaints.surveys import links
from services.complaints.surveys.contacts import active_contacts
from services.complaints.surveys.models import SurveyContact, SurveyRequest, SurveySchedule, SurveyTemplate
from services.complaints.surveys.policy import SurveyRules
from services.complaints.surveys.results import PERIODIC_CADENCES, cadence_period, period_label
from services.complaints.surveys.schemas import GenerationResult, LinkIssued, RequestCreate
from services.complaints.surveys.service import published_template
from shared.auth import Principal
from shared.clock import business_date
from shared.errors import InvalidTransition, Unprocessable

# A request's life: pending until answered (once), expired (its link lapsed) or cancelled (withdrawn).
REQUEST_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"answered", "expired", "cancelled"}),
    "answered": frozenset(),
    "expired": frozenset(),
    "cancelled": frozenset(),
}
SYSTEM = "system"


def move_request(request: SurveyRequest, target: str) -> None:
    """Apply one transition of the request's state machine (409 otherwise)."""
    if target not in REQUEST_TRANSITIONS[request.state]:
        raise InvalidTransition(
            f"A survey request that is {request.state} cannot become {target}",
            current=request.state,
            allowed=sorted(REQUEST_TRANSITIONS[request.state]),
        )
    request.state = target


def _new_request(
    *,
    account_id: str,
    kind: str,
    template: SurveyTemplate,
    period: str,
    now: datetime,
    created_by: str,
    contact: SurveyContact | None = None,
    schedule_id: str | None = None,
    complaint_id: str | None = None,
    dedupe_key: str | None = None,
    language: str | None = None,
    contact_name: str | None = None,
) -> SurveyRequest:
    return SurveyRequest(
        id=str(uuid.uuid4()),
        account_id=account_id,
        kind=kind,
        template_id=template.id,
        schedule_id=schedule_id,
        complaint_id=complaint_id,
        contact_id=contact.contact_id if contact else None,
        contact_name=contact.name if contact else contact_name,
        contact_level=contact.level if contact else None,
        language=language or (contact.language if contact else "zh-CN"),
        period=period,
        dedupe_key=dedupe_key,
        state="pending",
        created_by=created_by,
        created_at=now,
    )


async def _existing_keys(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    if not keys:
        return set()
    found = await session.execute(select(SurveyRequest.dedupe_key).where(SurveyRequest.dedupe_key.in_(list(keys))))
    return {k for k in found.scalars() if k}


async def _ask_contacts(
    session: AsyncSession,
    *,
    schedule: SurveySchedule,
    template: SurveyTemplate,
    account_ids: Sequence[str],
    period: str,
    now: datetime,
    actor_id: str,
) -> list[SurveyRequest]:
    """One request per active contact of the schedule's level at the accounts, unless already asked this period."""
    contacts = await active_contacts(session, account_ids=account_ids, level=schedule.contact_level)
    keyed = {f"schedule:{schedule.id}:{c.contact_id}:{period}": c for c in contacts}
    taken = await _existing_keys(session, list(keyed))
    made = [
        _new_request(
            account_id=contact.account_id,
            kind="survey",
            template=template,
            period=period,
            now=now,
            created_by=actor_id,
            contact=contact,
            schedule_id=schedule.id,
            dedupe_key=key,
        )
        for key, contact in keyed.items()
        if key not in taken
    ]
    session.add_all(made)
    return made


async def _accounts_of_tier(session: AsyncSession, tier: str, account_id: str | None = None) -> list[str]:
    accounts = platform.accounts
    query = select(accounts.c.account_id).where(accounts.c.tier == tier, accounts.c.active.is_(True))
    if account_id is not None:
        query = query.where(accounts.c.account_id == account_id)
    return list((await session.execute(query)).scalars())


async def _closed_complaints(session: AsyncSession, schedule: SurveySchedule) -> list[tuple[str, str]]:
    """(complaint, account) of the tier's complaints closed since the schedule exists."""
    accounts = platform.accounts
    rows = await session.execute(
        select(Complaint.id, Complaint.account_id)
        .join(accounts, accounts.c.account_id == Complaint.account_id)
        .where(
            Complaint.state == "closed", Complaint.closed_at >= schedule.created_at, accounts.c.tier == schedule.tier
        )
    )
    return [(r[0], r[1]) for r in rows]


async def generate_due_requests(
    session: AsyncSession, *, now: datetime, rules: SurveyRules, actor_id: str = SYSTEM
) -> GenerationResult:
    """Every request the active schedules make due at ``now`` (periodic cadences: this business period; after a
    complaint closed: once per closed complaint), each made once whatever how often this runs; revisit requests of
    complaints whose revisit came due; and pending links that lapsed marked expired."""
    today = business_date(now, rules.zone)
    made: list[SurveyRequest] = []
    schedules = (await session.execute(select(SurveySchedule).where(SurveySchedule.active.is_(True)))).scalars()
    for schedule in schedules.all():
        template = await _template_or_none(session, schedule.template_code)
        if template is None:
            continue
        if schedule.cadence in PERIODIC_CADENCES:
            period = cadence_period(schedule.cadence, today)
            assert period is not None
            account_ids = await _accounts_of_tier(session, schedule.tier)
            made += await _ask_contacts(
                session, schedule=schedule, template=template, account_ids=account_ids, period=period, now=now,
                actor_id=actor_id,
            )  # fmt: skip
        elif schedule.cadence == "after_complaint_close":
            for complaint_id, account_id in await _closed_complaints(session, schedule):
                made += await _ask_contacts(
                    session, schedule=schedule, template=template, account_ids=[account_id],
                    period=f"complaint:{complaint_id}", now=now, actor_id=actor_id,
                )  # fmt: skip
    made += await _revisit_requests(session, now=now, rules=rules)
    await _expire_lapsed(session, now=now)
    await session.flush()
    return _result(made)


def _result(made: Sequence[SurveyRequest]) -> GenerationResult:
    levels = Counter(r.contact_level or r.kind for r in made)
    return GenerationResult(created=len(made), by_level=dict(sorted(levels.items())), request_ids=[r.id for r in made])


async def _template_or_none(session: AsyncSession, code: str) -> SurveyTemplate | None:
    return await session.scalar(
        select(SurveyTemplate).where(SurveyTemplate.code == code, SurveyTemplate.state == "published")
    )


async def ask_after_delivery(
    session: AsyncSession, *, account: dict[str, object], delivery_ref: str, actor: Principal, now: datetime
) -> GenerationResult:
    """A delivery to the account: each active ``after_delivery`` schedule of its tier asks its contacts once."""
    tier = str(account.get("tier") or "")
    query = select(SurveySchedule).where(
        SurveySchedule.active.is_(True), SurveySchedule.cadence == "after_delivery", SurveySchedule.tier == tier
    )
    made: list[SurveyRequest] = []
    for schedule in (await session.execute(query)).scalars().all():
        template = await _template_or_none(session, schedule.template_code)
        if template is not None:
            made += await _ask_contacts(
                session, schedule=schedule, template=template, account_ids=[str(account["account_id"])],
                period=f"delivery:{delivery_ref}", now=now, actor_id=actor.user_id,
            )  # fmt: skip
    await session.flush()
    return _result(made)


async def _revisit_requests(session: AsyncSession, *, now: datetime, rules: SurveyRules) -> list[SurveyRequest]:
    """A revisit request for each resolved complaint whose revisit came due (once per resolution)."""
    template = await _template_or_none(session, rules.revisit_template_code)
    if template is None:
        return []
    due = await session.execute(
        select(Complaint).where(Complaint.state == "resolved", Complaint.revisit_notified_at.is_not(None))
    )
    complaints = {
        f"revisit:{c.id}:{c.revisit_due_at.isoformat() if c.revisit_due_at else ''}": c for c in due.scalars()
    }
    taken = await _existing_keys(session, list(complaints))
    made = [
        _new_request(
            account_id=c.account_id,
            kind="revisit",
            template=template,
            period=period_label(business_date(now, rules.zone), "month"),
            now=now,
            created_by=SYSTEM,
            complaint_id=c.id,
            dedupe_key=key,
            contact_name=c.reporter_name,
        )
        for key, c in complaints.items()
        if key not in taken
    ]
    session.add_all(made)
    return made


async def _expire_lapsed(session: AsyncSession, *, now: datetime) -> None:
    await session.execute(
        update(SurveyRequest)
        .where(SurveyRequest.state == "pending", SurveyRequest.expires_at.is_not(None), SurveyRequest.expires_at <= now)
        .values(state="expired")
    )


async def create_request(
    session: AsyncSession, *, body: RequestCreate, actor: Principal, now: datetime, rules: SurveyRules
) -> SurveyRequest:
    """A request asked by hand of one of the account's contacts, or for one of its complaints' revisit."""
    template = await published_template(session, code=body.template_code)
    contact: SurveyContact | None = None
    if body.contact_id is not None:
        contact = await session.get(SurveyContact, body.contact_id)
        if contact is None or contact.account_id != body.account_id or not contact.active:
            raise Unprocessable(f"contact_id: no active contact {body.contact_id} at this account", field="contact_id")
    name = None
    if body.complaint_id is not None:
        complaint = await session.get(Complaint, body.complaint_id)
        if complaint is None or complaint.account_id != body.account_id:
            raise Unprocessable(f"complaint_id: no complaint {body.complaint_id} of this account", field="complaint_id")
        if body.kind == "revisit" and complaint.state != "resolved":
            raise Unprocessable("complaint_id: the complaint does not wait for its revisit", field="complaint_id")
        name = complaint.reporter_name
    request = _new_request(
        account_id=body.account_id,
        kind=body.kind,
        template=template,
        period=period_label(business_date(now, rules.zone), "month"),
        now=now,
        created_by=actor.user_id,
        contact=contact,
        complaint_id=body.complaint_id,
        language=body.language,
        contact_name=name,
    )
    session.add(request)
    await session.flush()
    return request


def issue_link(request: SurveyRequest, *, now: datetime, rules: SurveyRules) -> LinkIssued:
    """A fresh single-use link for a pending request (any earlier link stops working); the token is returned once."""
    if request.state != "pending":
        raise InvalidTransition(
            f"A survey request that is {request.state} gets no link", current=request.state, allowed=[]
        )
    token = links.new_token()
    request.token_hash = links.token_hash(token)
    request.expires_at = now + rules.link_lifetime
    return LinkIssued(request_id=request.id, token=token, path=f"/s/{token}", expires_at=request.expires_at)
