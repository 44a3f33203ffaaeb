"""The KA registry: accounts, their team and contacts; every change kept in the projection and published."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.contacts.level_review import announce_pending, counts
from services.scoring.contacts.schemas import ContactRead
from services.scoring.contacts.service import list_contacts, publish_contact, registration_contacts
from services.scoring.engagement.models import Engagement
from services.scoring.engagement.schemas import EngagementCreate
from services.scoring.engagement.service import check_engagement, new_engagement
from services.scoring.features import LEVEL_RANK, AsOf
from services.scoring.registry.credit_code import credit_code_problem
from services.scoring.registry.duplicates import PossibleDuplicate, audit_confirmation, refuse_or_confirm
from services.scoring.registry.erp_codes import account_id_by_code, erp_codes_of, set_erp_codes
from services.scoring.registry.field_history import (
    OWNERSHIP_FIELDS,
    RATING_FIELDS,
    ChangeOrigin,
    record_changes,
    values_of,
)
from services.scoring.registry.hierarchy import audit_parent_change, check_parent
from services.scoring.registry.matching import credit_family, name_key
from services.scoring.registry.models import RATING_PLACES, Account, AccountChangeRequest, Contact
from services.scoring.registry.schemas import (
    AccountCreate,
    AccountDetail,
    AccountRead,
    AccountUpdate,
    RatingsUpdate,
    TeamUpdate,
    TierInfo,
)
from services.scoring.registry.self_reported import PENDING, needs_approval, open_request
from services.scoring.scores.consistency import rescoring, settle_change
from services.scoring.scores.feature_store import features_for
from services.scoring.scores.portfolio import rescore_accounts
from services.scoring.scores.tiers import overridden_accounts, tier_label
from shared.auth import (
    ACCOUNT_MANAGER,
    ADMIN,
    SERVICE,
    SUPERVISOR,
    Principal,
    can_access_account,
    ensure_account_access,
)
from shared.bus import Publisher
from shared.db import PlatformTables
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.events import AccountOwnerChanged, AccountRegistered, AccountUpdated
from shared.events.catalogue import AccountSnapshot, OwnerChangedData
from shared.people import require_assignable
from shared.projection import upsert_account

# Who may own an account or be on its team: active account managers and supervisors (DESIGN §4, people).
TEAM_ROLES = frozenset({ACCOUNT_MANAGER, SUPERVISOR})
RATING_QUANTUM = Decimal(1).scaleb(-RATING_PLACES)


async def _snapshot(session: AsyncSession, account: Account) -> AccountSnapshot:
    """The event snapshot of an account (with its credit code and ERP codes: imports elsewhere name it by them)."""
    codes = (await erp_codes_of(session, [account.id])).get(account.id, [])
    return AccountSnapshot(
        name=account.name,
        name_en=account.name_en,
        industry=account.industry,
        region=account.region,
        status=account.status,
        tier=account.tier,
        owner_id=account.owner_id,
        team_member_ids=list(account.team_member_ids or []),
        parent_account_id=account.parent_account_id,
        credit_code=account.credit_code,
        erp_codes=codes,
    )


async def _project(session: AsyncSession, tables: PlatformTables, account: Account) -> None:
    await upsert_account(
        session,
        tables,
        account_id=account.id,
        name=account.name,
        name_en=account.name_en,
        industry=account.industry,
        region=account.region,
        status=account.status,
        tier=account.tier,
        owner_id=account.owner_id,
        team_member_ids=account.team_member_ids or [],
    )


def _check_credit_code(code: str | None) -> str | None:
    if code is None:
        return None
    normalised = code.strip().upper()
    problem = credit_code_problem(normalised)
    if problem is not None:
        raise Unprocessable(f"Invalid unified social credit code {code!r}: {problem}", field="credit_code")
    return normalised


def normalised_credit_code(code: str | None) -> str | None:
    """A credit code upper-cased and checked (422 naming ``credit_code`` when invalid), or None."""
    return _check_credit_code(code)


async def _ensure_unique_code(
    session: AsyncSession,
    code: str | None,
    account_id: str | None = None,
    *,
    tables: PlatformTables | None = None,
    actor: Principal | None = None,
) -> None:
    """409 for a credit code another account has; that account is named only to an actor who may see it."""
    if code is None:
        return
    other = await session.scalar(
        select(Account.id).where(Account.credit_code == code, Account.id != (account_id or ""))
    )
    if other is None:
        return
    if tables is not None and actor is not None and not await can_access_account(session, tables, actor, other):
        raise Conflict(f"Credit code {code} is already registered for another account", field="credit_code")
    raise Conflict(f"Credit code {code} is already registered for account {other}", account_id=other)


def _team(owner_id: str, members: Sequence[str]) -> list[str]:
    return sorted({m.strip() for m in members if m and m.strip() and m.strip() != owner_id})


async def check_team(session: AsyncSession, tables: PlatformTables, *, owner_id: str, members: Sequence[str]) -> None:
    """The owner and every member must be a known, active account manager or supervisor (422 naming the field:
    ``owner_id``, ``team_member_ids.N``). Access to the account comes with the team, so it is not asked for."""
    await require_assignable(session, tables, user_id=owner_id, field="owner_id", roles=TEAM_ROLES)
    for i, member in enumerate(members):
        if member.strip() and member.strip() != owner_id:  # blanks and the owner are dropped from the team
            await require_assignable(
                session, tables, user_id=member.strip(), field=f"team_member_ids.{i}", roles=TEAM_ROLES
            )


def _ratings_fields(ratings: RatingsUpdate | None, actor_id: str, now: datetime) -> dict[str, Any]:
    if ratings is None:
        return {}
    # At the stored scale, so the value scored now is the value read back later.
    fields = {
        k: None if v is None else v.quantize(RATING_QUANTUM)
        for k, v in ratings.model_dump(exclude={"rationale"}, exclude_unset=True).items()
    }
    return {**fields, "ratings_rationale": ratings.rationale, "rated_by": actor_id, "rated_at": now}


def _new_account(body: AccountCreate, *, owner_id: str, code: str | None, actor: Principal, now: datetime) -> Account:
    return Account(
        id=str(uuid.uuid4()),
        name=body.name,
        name_en=body.name_en,
        credit_code=code,
        industry=body.industry,
        region=body.region,
        company_size=body.company_size,
        annual_revenue=body.annual_revenue,
        currency=body.currency,
        listed=body.listed,
        parent_group=body.parent_group,
        parent_account_id=body.parent_account_id,
        status=body.status,
        owner_id=owner_id,
        team_member_ids=_team(owner_id, body.team_member_ids),
        cooperation_since=body.cooperation_since,
        name_key=name_key(body.name),
        name_en_key=name_key(body.name_en),
        credit_family=credit_family(code),
        version=1,
        **_ratings_fields(body.ratings, actor.user_id, now),
        created_at=now,
        updated_at=now,
    )


async def _import_engagements(
    session: AsyncSession,
    tables: PlatformTables,
    account: Account,
    engagements: Sequence[EngagementCreate],
    actor: Principal,
    at: AsOf,
) -> list[Engagement]:
    logged = []
    for i, engagement in enumerate(engagements):
        await check_engagement(
            session, tables, account_id=account.id, body=engagement, today=at.today, field=f"engagements.{i}."
        )
        logged.append(new_engagement(account.id, engagement, actor, at.now))
        session.add(logged[-1])
    return logged


async def register_account(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    body: AccountCreate,
    actor: Principal,
    at: AsOf,
    score: bool = True,
) -> Account:
    """Register a company: profile, team and contacts; project it, publish ``registered`` and score it."""
    owner_id = body.owner_id or actor.user_id
    if not actor.sees_whole_portfolio and actor.has_any({ACCOUNT_MANAGER}) and owner_id != actor.user_id:
        raise Forbidden("Account managers register accounts they own themselves")
    if body.ratings is not None and not actor.has_any({SUPERVISOR, ADMIN, SERVICE}):
        raise Forbidden("Only the supervisor rates strategic significance")
    await check_team(session, tables, owner_id=owner_id, members=body.team_member_ids)
    await check_parent(session, tables, account=None, parent_id=body.parent_account_id, actor=actor)
    code = _check_credit_code(body.credit_code)
    await _ensure_unique_code(session, code, tables=tables, actor=actor)
    duplicates = await refuse_or_confirm(
        session,
        tables,
        actor=actor,
        name=body.name,
        name_en=body.name_en,
        credit_code=code,
        confirmed=body.confirm_not_duplicate,
    )
    now = at.now
    account = _new_account(body, owner_id=owner_id, code=code, actor=actor, now=now)
    held = {"cooperation_since": body.cooperation_since} if needs_approval(actor) and body.cooperation_since else {}
    account.cooperation_since = None if held else account.cooperation_since  # counts once a supervisor approves
    session.add(account)
    await session.flush()
    if duplicates:
        await audit_confirmation(session, account=account, candidates=duplicates, actor=actor)
    if held:
        await open_request(
            session, publisher, account=account, changes=held, rationale=None, note=None, actor=actor, now=now
        )
    if account.parent_account_id is not None:
        await audit_parent_change(session, account=account, before=None, actor=actor, now=now)
    if body.erp_codes:
        await set_erp_codes(session, account=account, codes=body.erp_codes, actor=actor, now=now)
    contacts = registration_contacts(account.id, body.contacts, actor, now)
    session.add_all(contacts)
    await _project(session, tables, account)  # first: our participants of imported engagements must see it
    engagements = await _import_engagements(session, tables, account, body.engagements, actor, at)
    snapshot = await _snapshot(session, account)
    await publisher.publish(session, AccountRegistered, snapshot, account_id=account.id, time=now)
    for contact in contacts:
        await publish_contact(session, publisher, contact, now=now)
    features = await features_for(session, account_id=account.id, now=now)
    reported: list[Contact | Engagement] = [*contacts, *(e for e in engagements if e.occurred_on is not None)]
    # only confirmed levels count (an account manager's wait for a supervisor, who is told of them)
    features.highest_contact_level = max((LEVEL_RANK[r.level] for r in counts(reported)), default=0)
    await announce_pending(session, publisher, reported, now=now)
    if score:
        await settle_change(
            session,
            tables,
            publisher=publisher,
            account_id=account.id,
            before=None,
            at=at,
            reason="registered",
            actor_id=actor.user_id,
        )
    return account


async def register_accounts(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    bodies: Sequence[AccountCreate],
    actor: Principal,
    at: AsOf,
) -> list[Account]:
    """Register many accounts in one transaction (an import): all or none."""
    registered = []
    for i, body in enumerate(bodies):
        try:
            registered.append(
                await register_account(session, tables, publisher=publisher, body=body, actor=actor, at=at, score=False)
            )
        except (Unprocessable, Conflict) as exc:
            field = exc.extra.get("field")
            where = f"accounts.{i}.{field}" if field else f"accounts.{i}"
            if isinstance(exc, PossibleDuplicate):  # keeps its candidates
                raise PossibleDuplicate(f"accounts.{i}: {exc.detail}", **{**exc.extra, "field": where}) from exc
            error = Unprocessable if isinstance(exc, Unprocessable) else Conflict
            raise error(f"accounts.{i}: {exc.detail}", field=where) from exc
    # One pass for the whole import: the scores, tier moves and events are written in bulk.
    await session.flush()
    ids = [a.id for a in registered]
    await rescore_accounts(
        session, tables, publisher=publisher, account_ids=ids, at=at, reason="registered", changed_by=actor.user_id
    )
    return registered


async def get_account(session: AsyncSession, *, account_id: str) -> Account:
    """An account or 404 (access is checked by the caller)."""
    account = await session.get(Account, account_id)
    if account is None:
        raise NotFound(f"Account {account_id} not found")
    return account


async def account_by_code(session: AsyncSession, tables: PlatformTables, *, actor: Principal, code: str) -> Account:
    """The account an ERP code or a credit code names, if the actor may see it; 404 otherwise."""
    account_id = await account_id_by_code(session, code)
    if account_id is None:
        raise NotFound(f"No account with code {code}")
    try:
        await ensure_account_access(session, tables, actor, account_id)
    except NotFound:
        raise NotFound(f"No account with code {code}") from None
    return await get_account(session, account_id=account_id)


async def update_account(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    account: Account,
    body: AccountUpdate,
    at: AsOf,
    actor: Principal | None = None,
    origin: ChangeOrigin | None = None,
) -> Account:
    """Apply profile changes; publish ``accounts.updated`` and re-score when a scoring input changed. A new parent
    (``parent_account_id``, which needs the ``actor``) is checked and audited (registry/hierarchy.py). Each changed
    field is kept in the field history for ``origin`` (default: the actor)."""
    before_parent = account.parent_account_id
    parent_changes = "parent_account_id" in body.model_fields_set and body.parent_account_id != before_parent
    if parent_changes:
        if actor is None:
            raise Forbidden("Changing the group of an account needs an acting user")
        await check_parent(session, tables, account=account, parent_id=body.parent_account_id, actor=actor)
    if body.erp_codes is not None and actor is None:
        raise Forbidden("Changing the ERP codes of an account needs an acting user")
    async with rescoring(session, tables, publisher=publisher, account_id=account.id, at=at, reason="profile changed"):
        await _apply_profile(
            session, tables, publisher=publisher, account=account, body=body, now=at.now, actor=actor, origin=origin
        )
    if parent_changes and actor is not None:
        await audit_parent_change(session, account=account, before=before_parent, actor=actor, now=at.now)
    return account


async def _apply_profile(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    account: Account,
    body: AccountUpdate,
    now: datetime,
    actor: Principal | None = None,
    origin: ChangeOrigin | None = None,
) -> Account:
    changes = body.model_dump(exclude_unset=True)
    codes = changes.pop("erp_codes", None)
    confirmed = bool(changes.pop("confirm_not_duplicate", False))
    for required in ("name", "industry", "region", "status", "listed"):
        if required in changes and changes[required] is None:
            raise Unprocessable(f"{required} cannot be null", field=required)
    if "credit_code" in changes:
        changes["credit_code"] = _check_credit_code(changes["credit_code"])
        await _ensure_unique_code(session, changes["credit_code"], account.id, tables=tables, actor=actor)
    changed = {k: v for k, v in changes.items() if getattr(account, k) != v}
    if actor is not None and changed.keys() & {"name", "name_en", "credit_code"}:
        duplicates = await refuse_or_confirm(
            session,
            tables,
            actor=actor,
            name=changed.get("name", account.name),
            name_en=changed.get("name_en", account.name_en),
            credit_code=changed.get("credit_code", account.credit_code),
            confirmed=confirmed,
            exclude_id=account.id,
        )
        if duplicates:
            await audit_confirmation(session, account=account, candidates=duplicates, actor=actor, at=now)
    before = values_of(account, list(changed))
    codes_changed = False
    if codes is not None and actor is not None:
        before["erp_codes"] = (await erp_codes_of(session, [account.id])).get(account.id, [])
        codes_changed = await set_erp_codes(session, account=account, codes=codes, actor=actor, now=now)
    if not changed and not codes_changed:
        return account
    for key, value in changed.items():
        setattr(account, key, value)
    account.name_key, account.name_en_key = name_key(account.name), name_key(account.name_en)
    account.credit_family = credit_family(account.credit_code)
    after = {**values_of(account, list(changed)), **({"erp_codes": list(codes or [])} if codes_changed else {})}
    author = origin or ChangeOrigin(changed_by=actor.user_id if actor is not None else "system")
    record_changes(session, account_id=account.id, before=before, after=after, origin=author, at=now)
    account.version += 1
    account.updated_at = now
    await session.flush()
    await _project(session, tables, account)
    await publisher.publish(session, AccountUpdated, await _snapshot(session, account), account_id=account.id, time=now)
    return account


async def set_team(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    account: Account,
    body: TeamUpdate,
    now: datetime,
    actor: Principal | None = None,
) -> Account:
    """Change owner and members (a handover when the owner changes); publish ``accounts.owner_changed`` in the same
    transaction as the projection, so every service moves the items that need the owner. The change is kept in the
    field history (by the ``actor``)."""
    owner_id = body.owner_id
    await check_team(session, tables, owner_id=owner_id, members=body.team_member_ids)
    team = _team(owner_id, body.team_member_ids)
    if owner_id == account.owner_id and team == sorted(account.team_member_ids or []):
        return account
    old_owner = account.owner_id
    before = values_of(account, OWNERSHIP_FIELDS)
    account.owner_id, account.team_member_ids = owner_id, team
    author = ChangeOrigin(changed_by=actor.user_id if actor is not None else "system")
    after = values_of(account, OWNERSHIP_FIELDS)
    record_changes(session, account_id=account.id, before=before, after=after, origin=author, at=now)
    account.version += 1
    account.updated_at = now
    await session.flush()
    await _project(session, tables, account)
    data = OwnerChangedData(old_owner_id=old_owner, new_owner_id=owner_id, team_member_ids=team)
    await publisher.publish(session, AccountOwnerChanged, data, account_id=account.id, time=now)
    return account


async def set_ratings(
    session: AsyncSession,
    tables: PlatformTables,
    *,
    publisher: Publisher,
    account: Account,
    body: RatingsUpdate,
    actor: Principal,
    at: AsOf,
    origin: ChangeOrigin | None = None,
) -> Account:
    """Record the supervisor's qualitative ratings with the rationale and re-score; each changed rating is kept in
    the field history for ``origin`` (default: the actor)."""
    async with rescoring(
        session,
        tables,
        publisher=publisher,
        account_id=account.id,
        at=at,
        reason="ratings changed",
        actor_id=actor.user_id,
    ):
        before = values_of(account, RATING_FIELDS)
        for key, value in _ratings_fields(body, actor.user_id, at.now).items():
            setattr(account, key, value)
        author = origin or ChangeOrigin(changed_by=actor.user_id)
        after = values_of(account, RATING_FIELDS)
        record_changes(session, account_id=account.id, before=before, after=after, origin=author, at=at.now)
        account.version += 1
        account.updated_at = at.now
        await session.flush()
    return account


def _read(account: Account, overridden: bool, erp_codes: list[str]) -> AccountRead:
    data = {k: getattr(account, k) for k in AccountRead.model_fields if hasattr(account, k)}
    label = tier_label(account.tier)
    info = TierInfo(**label) if label else None
    return AccountRead(**data, overridden=overridden, tier_label=info, erp_codes=erp_codes)


async def account_reads(session: AsyncSession, *, accounts: Sequence[Account], now: datetime) -> list[AccountRead]:
    """Accounts as served, each marked when a tier override is in force."""
    overridden = await overridden_accounts(session, [a.id for a in accounts], now)
    codes = await erp_codes_of(session, [a.id for a in accounts])
    return [_read(a, a.id in overridden, codes.get(a.id, [])) for a in accounts]


async def account_detail(session: AsyncSession, *, account: Account, now: datetime) -> AccountDetail:
    """One account as served, with its contacts."""
    (read,) = await account_reads(session, accounts=[account], now=now)
    contacts = await list_contacts(session, account_id=account.id)
    pending = await session.scalars(
        select(AccountChangeRequest.id)
        .where(AccountChangeRequest.account_id == account.id, AccountChangeRequest.status == PENDING)
        .order_by(AccountChangeRequest.requested_at, AccountChangeRequest.id)
    )
    return AccountDetail(
        **read.model_dump(), contacts=[ContactRead.of(c) for c in contacts], pending_change_request_ids=list(pending)
    )
