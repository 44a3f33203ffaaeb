"""HTTP routes of the scoring service: registry, scores and tiers, models, engagement, jobs and views."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, Response
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring import engagements as engagement_service
from services.scoring import model_versions, registry, rescoring, tiers
from services.scoring.features import indicator_values
from services.scoring.models import (
    Account,
    AccountFeatures,
    AccountScore,
    RescoreJob,
    ScoringModelVersion,
    TierChange,
    TierOverride,
    idempotency_keys,
    platform,
)
from services.scoring.schemas import (
    AccountBatch,
    AccountBatchRead,
    AccountCreate,
    AccountDetail,
    AccountRead,
    AccountStatus,
    AccountUpdate,
    CadencePolicy,
    ContactCreate,
    ContactRead,
    EngagementCreate,
    EngagementRead,
    EngagementStatusRead,
    JobRead,
    LevelStatusRead,
    ModelCreate,
    ModelRead,
    MoverRead,
    OverrideCreate,
    OverrideRead,
    RatingsUpdate,
    ScoreRead,
    StrategyRead,
    TeamUpdate,
    TierChangeRead,
    TierCode,
    TierDistribution,
    TierInfo,
)
from services.scoring.scoring_model import DIMENSIONS, INDICATORS, TIER_ORDER, TIERS, expand_breakdown, parse_definition
from services.scoring.strategy import recommend_strategy, white_space
from shared.api import (
    Page,
    PageParams,
    check_if_match,
    page_params,
    parse_sort,
    remember_response,
    replay_response,
    set_etag,
)
from shared.auth import (
    ACCOUNT_MANAGER,
    SERVICE,
    SUPERVISOR,
    CurrentPrincipal,
    Principal,
    ensure_account_access,
    require_roles,
    visible_accounts_clause,
)
from shared.db import Database
from shared.errors import PROBLEM_RESPONSES, NotFound
from shared.service import ClockDep, SessionDep

router = APIRouter(responses=PROBLEM_RESPONSES)
Supervisor = Annotated[Principal, Depends(require_roles(SUPERVISOR))]
Registrar = Annotated[Principal, Depends(require_roles(SUPERVISOR, ACCOUNT_MANAGER, SERVICE))]
Paging = Annotated[PageParams, Depends(page_params)]
ACCOUNTS: list[str | Enum] = ["accounts"]
SCORING: list[str | Enum] = ["scoring"]


# ---------------------------------------------------------------- helpers


async def _overridden_ids(session: AsyncSession, ids: list[str], now: datetime) -> set[str]:
    if not ids:
        return set()
    rows = await session.execute(
        select(TierOverride.account_id).where(
            TierOverride.account_id.in_(ids),
            TierOverride.ended_at.is_(None),
            or_(TierOverride.expires_at.is_(None), TierOverride.expires_at > now),
        )
    )
    return set(rows.scalars())


def _read(account: Account, overridden: bool) -> AccountRead:
    data = {k: getattr(account, k) for k in AccountRead.model_fields if hasattr(account, k)}
    label = tiers.tier_label(account.tier)
    return AccountRead(**data, overridden=overridden, tier_label=TierInfo(**label) if label else None)


async def _visible_account(
    session: AsyncSession, principal: Principal, account_id: str, *, write: bool = False
) -> Account:
    await ensure_account_access(session, platform, principal, account_id, write=write)
    return await registry.get_account(session, account_id=account_id)


async def _detail(session: AsyncSession, account: Account, now: datetime) -> AccountDetail:
    overridden = account.id in await _overridden_ids(session, [account.id], now)
    contacts = await registry.list_contacts(session, account_id=account.id)
    return AccountDetail(
        **_read(account, overridden).model_dump(), contacts=[ContactRead.model_validate(c) for c in contacts]
    )


def _job_read(job: RescoreJob) -> JobRead:
    pct = Decimal(100) if job.status == "succeeded" else Decimal(job.done * 100) / Decimal(max(job.total, 1))
    return JobRead.model_validate(
        {
            **{k: getattr(job, k) for k in JobRead.model_fields if hasattr(job, k)},
            "progress_pct": pct.quantize(Decimal("0.1")),
        }
    )


def _model_read(model: ScoringModelVersion) -> ModelRead:
    return ModelRead.model_validate({k: getattr(model, k) for k in ModelRead.model_fields})


# ---------------------------------------------------------------- registry


@router.post(
    "/accounts",
    status_code=201,
    response_model=AccountDetail,
    tags=ACCOUNTS,
    summary="Register an account (KA registry)",
)
async def create_account(
    body: AccountCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    clock: ClockDep,
    principal: Registrar,
) -> Any:
    """Register a company with its team and contacts; publishes ``accounts.registered`` and scores it."""
    payload = body.model_dump(mode="json")
    if (
        replayed := await replay_response(
            session, idempotency_keys, request=request, principal_id=principal.user_id, payload=payload
        )
    ) is not None:
        return replayed
    account = await registry.register_account(session, platform, data=body, principal=principal, now=clock.now())
    detail = await _detail(session, account, clock.now())
    await remember_response(
        session,
        idempotency_keys,
        request=request,
        principal_id=principal.user_id,
        payload=payload,
        body=detail.model_dump(mode="json"),
        status=201,
    )
    set_etag(response, account.version)
    response.headers["Location"] = f"/accounts/{account.id}"
    return detail


@router.post(
    "/accounts/batch",
    status_code=201,
    response_model=AccountBatchRead,
    tags=ACCOUNTS,
    summary="Register many accounts at once (import)",
)
async def create_accounts(
    body: AccountBatch,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    principal: Supervisor,
) -> Any:
    """Import up to 500 accounts (with contacts, ratings and engagement history) in one transaction."""
    payload = body.model_dump(mode="json")
    if (
        replayed := await replay_response(
            session, idempotency_keys, request=request, principal_id=principal.user_id, payload=payload
        )
    ) is not None:
        return replayed
    accounts = await registry.register_accounts(
        session, platform, accounts=body.accounts, principal=principal, now=clock.now()
    )
    result = AccountBatchRead(items=[await _detail(session, a, clock.now()) for a in accounts])
    await remember_response(
        session,
        idempotency_keys,
        request=request,
        principal_id=principal.user_id,
        payload=payload,
        body=result.model_dump(mode="json"),
        status=201,
    )
    return result


@router.get("/accounts", response_model=Page[AccountRead], tags=ACCOUNTS, summary="List, filter and sort accounts")
async def list_accounts(
    session: SessionDep,
    clock: ClockDep,
    principal: CurrentPrincipal,
    page: Paging,
    tier: TierCode | None = None,
    owner_id: str | None = None,
    industry: str | None = None,
    region: str | None = None,
    status: AccountStatus | None = None,
    q: Annotated[str | None, Query(description="Name contains")] = None,
    sort: Annotated[
        str | None, Query(description=f"One of {', '.join(registry.SORTABLE)}; prefix - for descending")
    ] = None,
) -> Page[AccountRead]:
    """Accounts the caller may see (account managers: only their own book, as owner or team member)."""
    accounts, total = await registry.list_accounts(
        session,
        platform,
        principal=principal,
        tier=tier,
        owner_id=owner_id,
        industry=industry,
        region=region,
        status=status,
        q=q,
        sort=parse_sort(sort, registry.SORTABLE, "name"),
        limit=page.limit,
        offset=page.offset,
    )
    overridden = await _overridden_ids(session, [a.id for a in accounts], clock.now())
    return Page(
        items=[_read(a, a.id in overridden) for a in accounts], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/accounts/{account_id}", response_model=AccountDetail, tags=ACCOUNTS, summary="One account with contacts")
async def get_account(
    account_id: str, response: Response, session: SessionDep, clock: ClockDep, principal: CurrentPrincipal
) -> AccountDetail:
    """Profile, team, contacts, tier and score of one account."""
    account = await _visible_account(session, principal, account_id)
    set_etag(response, account.version)
    return await _detail(session, account, clock.now())


@router.patch("/accounts/{account_id}", response_model=AccountDetail, tags=ACCOUNTS, summary="Update an account")
async def patch_account(
    account_id: str,
    body: AccountUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    clock: ClockDep,
    principal: CurrentPrincipal,
) -> AccountDetail:
    """Change profile fields or status (``If-Match`` with the ETag refuses stale writes); publishes ``updated``."""
    account = await _visible_account(session, principal, account_id, write=True)
    check_if_match(request, account.version)
    await registry.update_account(session, platform, account=account, data=body, now=clock.now())
    set_etag(response, account.version)
    return await _detail(session, account, clock.now())


@router.put("/accounts/{account_id}/team", response_model=AccountDetail, tags=ACCOUNTS, summary="Set the account team")
async def put_team(
    account_id: str,
    body: TeamUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    clock: ClockDep,
    principal: Supervisor,
) -> AccountDetail:
    """Owner account manager and members; publishes ``accounts.owner_changed``."""
    account = await _visible_account(session, principal, account_id, write=True)
    check_if_match(request, account.version)
    await registry.set_team(
        session, platform, account=account, owner_id=body.owner_id, members=body.team_member_ids, now=clock.now()
    )
    set_etag(response, account.version)
    return await _detail(session, account, clock.now())


@router.put(
    "/accounts/{account_id}/ratings", response_model=AccountDetail, tags=ACCOUNTS, summary="Rate strategic significance"
)
async def put_ratings(
    account_id: str, body: RatingsUpdate, session: SessionDep, clock: ClockDep, principal: Supervisor
) -> AccountDetail:
    """The supervisor's ratings (industry leadership, reference and channel value, product fit, expected growth)."""
    account = await _visible_account(session, principal, account_id, write=True)
    ratings = body.model_dump(exclude={"rationale"}, exclude_unset=True)
    await registry.set_ratings(
        session,
        platform,
        account=account,
        ratings=ratings,
        rationale=body.rationale,
        user_id=principal.user_id,
        now=clock.now(),
    )
    return await _detail(session, account, clock.now())


@router.get("/accounts/{account_id}/contacts", response_model=list[ContactRead], tags=ACCOUNTS, summary="Contacts")
async def get_contacts(account_id: str, session: SessionDep, principal: CurrentPrincipal) -> list[ContactRead]:
    """The account's contacts, executive level first."""
    await _visible_account(session, principal, account_id)
    return [ContactRead.model_validate(c) for c in await registry.list_contacts(session, account_id=account_id)]


@router.post(
    "/accounts/{account_id}/contacts",
    status_code=201,
    response_model=ContactRead,
    tags=ACCOUNTS,
    summary="Add a contact",
)
async def post_contact(
    account_id: str, body: ContactCreate, session: SessionDep, clock: ClockDep, principal: CurrentPrincipal
) -> ContactRead:
    """Add a contact at executive, decision or execution level."""
    account = await _visible_account(session, principal, account_id, write=True)
    contact = await registry.add_contact(session, platform, account=account, data=body, now=clock.now())
    return ContactRead.model_validate(contact)


# ---------------------------------------------------------------- score, tier, strategy


async def _score_read(session: AsyncSession, account: Account, now: datetime) -> ScoreRead:
    stored = await session.get(AccountScore, account.id)
    if stored is None:
        raise NotFound(f"Account {account.id} has not been scored yet")
    model = await session.get(ScoringModelVersion, stored.model_version)
    policy = parse_definition(model.definition).tiers if model else None
    thresholds = dict(policy.thresholds) if policy else {}
    dimensions, indicators = expand_breakdown(stored.breakdown)
    override = await tiers.active_override(session, account_id=account.id, now=now)
    top = sorted(indicators, key=lambda i: Decimal(i["contribution"]), reverse=True)[:3]
    why = [f"Score {stored.total} under model v{stored.model_version} gives {stored.computed_tier}"]
    if thresholds:
        why.append(
            "thresholds: "
            + ", ".join(f"{t} ≥ {thresholds[t]}" for t in ("strategic", "key", "growth"))
            + ", else maintain"
        )
    if policy and policy.top_percent is not None:
        why.append(
            f"top-{policy.top_percent.percent}% rule by {policy.top_percent.by}: key accounts are exactly the top "
            f"{policy.top_percent.percent}% of the portfolio"
        )
    why.append("largest contributions: " + ", ".join(f"{i['label_en']} {i['contribution']}" for i in top))
    if override is not None:
        why.append(f"tier overridden to {override.tier} by {override.approved_by}: {override.reason}")
    return ScoreRead(
        account_id=account.id,
        model_version=stored.model_version,
        total=stored.total,
        computed_tier=stored.computed_tier,
        tier=account.tier,
        overridden=override is not None,
        thresholds=thresholds,
        top_percent=policy.top_percent.model_dump(mode="json") if policy and policy.top_percent else None,
        explanation="; ".join(why) + ".",
        dimensions=dimensions,
        indicators=indicators,
        scored_at=stored.scored_at,
    )


@router.get("/accounts/{account_id}/score", response_model=ScoreRead, tags=ACCOUNTS, summary="Explained score")
async def get_score(account_id: str, session: SessionDep, clock: ClockDep, principal: CurrentPrincipal) -> ScoreRead:
    """Total, each dimension, each indicator's raw, normalised and weighted value, and why this tier."""
    account = await _visible_account(session, principal, account_id)
    return await _score_read(session, account, clock.now())


@router.post("/accounts/{account_id}/rescore", response_model=ScoreRead, tags=ACCOUNTS, summary="Re-score one account")
async def post_rescore_account(
    account_id: str, session: SessionDep, clock: ClockDep, principal: CurrentPrincipal
) -> ScoreRead:
    """Score the account now with the published model."""
    account = await _visible_account(session, principal, account_id, write=True)
    await rescoring.rescore_account(
        session, platform, account_id=account.id, now=clock.now(), reason="manual re-score", actor=principal.user_id
    )
    return await _score_read(session, account, clock.now())


@router.get(
    "/accounts/{account_id}/tier-history", response_model=list[TierChangeRead], tags=ACCOUNTS, summary="Tier history"
)
async def get_tier_history(account_id: str, session: SessionDep, principal: CurrentPrincipal) -> list[TierChangeRead]:
    """Every tier change with its reason, newest first."""
    await _visible_account(session, principal, account_id)
    return [TierChangeRead.model_validate(c) for c in await tiers.tier_history(session, account_id=account_id)]


@router.get(
    "/accounts/{account_id}/tier-overrides", response_model=list[OverrideRead], tags=ACCOUNTS, summary="Override audit"
)
async def get_overrides(account_id: str, session: SessionDep, principal: CurrentPrincipal) -> list[OverrideRead]:
    """Every manual tier decision of the account (active, expired, revoked, replaced)."""
    await _visible_account(session, principal, account_id)
    return [OverrideRead.model_validate(o) for o in await tiers.list_overrides(session, account_id=account_id)]


@router.post(
    "/accounts/{account_id}/tier-override",
    status_code=201,
    response_model=OverrideRead,
    tags=ACCOUNTS,
    summary="Override the tier (supervisor)",
)
async def post_override(
    account_id: str, body: OverrideCreate, session: SessionDep, clock: ClockDep, principal: Supervisor
) -> OverrideRead:
    """Set the tier by hand with a reason and optional expiry; the caller is the approver."""
    account = await _visible_account(session, principal, account_id, write=True)
    override = await tiers.set_override(
        session,
        platform,
        account=account,
        tier=body.tier,
        reason=body.reason,
        expires_at=body.expires_at,
        user_id=principal.user_id,
        now=clock.now(),
    )
    return OverrideRead.model_validate(override)


@router.delete(
    "/accounts/{account_id}/tier-override", status_code=204, tags=ACCOUNTS, summary="Revoke the tier override"
)
async def delete_override(account_id: str, session: SessionDep, clock: ClockDep, principal: Supervisor) -> Response:
    """End the active override; the computed tier applies again."""
    account = await _visible_account(session, principal, account_id, write=True)
    await tiers.revoke_override(session, platform, account=account, user_id=principal.user_id, now=clock.now())
    return Response(status_code=204)


async def _strategy(session: AsyncSession, request: Request, account: Account, now: datetime) -> StrategyRead:
    features = await session.get(AccountFeatures, account.id)
    bought = list(features.product_lines) if features else []
    values = indicator_values(
        account={"expected_growth_pct": account.expected_growth_pct},
        features={
            "annual_purchases": features.annual_purchases if features else 0,
            "previous_year_purchases": features.previous_year_purchases if features else 0,
        },
        today=now.date(),
        portfolio_profit=Decimal(0),
    )
    missing = white_space(request.app.state.settings.product_lines, bought)
    strategy = recommend_strategy(
        tier=account.tier,
        industry_leadership=account.industry_leadership,
        revenue_growth=values["revenue_growth"],
        expected_growth=account.expected_growth_pct,
        missing_lines=missing,
    )
    return StrategyRead(
        account_id=account.id,
        tier=account.tier,
        product_lines_bought=bought,
        white_space=missing,
        **strategy.__dict__,
    )


@router.get("/accounts/{account_id}/strategy", response_model=StrategyRead, tags=ACCOUNTS, summary="Strategy")
async def get_strategy(
    account_id: str, request: Request, session: SessionDep, clock: ClockDep, principal: CurrentPrincipal
) -> StrategyRead:
    """Recommended approach from tier and position, plus white space (offered lines not bought yet)."""
    account = await _visible_account(session, principal, account_id)
    return await _strategy(session, request, account, clock.now())


# ---------------------------------------------------------------- engagement


@router.post(
    "/accounts/{account_id}/engagements",
    status_code=201,
    response_model=EngagementRead,
    tags=ACCOUNTS,
    summary="Log an engagement",
)
async def post_engagement(
    account_id: str, body: EngagementCreate, session: SessionDep, clock: ClockDep, principal: CurrentPrincipal
) -> EngagementRead:
    """Log a visit, executive meeting or business review with level, date, participants and notes."""
    account = await _visible_account(session, principal, account_id, write=True)
    engagement = await engagement_service.log_engagement(
        session, platform, account=account, data=body, user_id=principal.user_id, now=clock.now()
    )
    return EngagementRead.model_validate(engagement)


@router.get(
    "/accounts/{account_id}/engagements", response_model=list[EngagementRead], tags=ACCOUNTS, summary="Engagements"
)
async def get_engagements(
    account_id: str, session: SessionDep, principal: CurrentPrincipal, page: Paging
) -> list[EngagementRead]:
    """The account's engagement log, latest first."""
    await _visible_account(session, principal, account_id)
    rows = await engagement_service.list_engagements(
        session, account_id=account_id, limit=page.limit, offset=page.offset
    )
    return [EngagementRead.model_validate(e) for e in rows]


async def _engagement_status(session: AsyncSession, account: Account, now: datetime) -> EngagementStatusRead:
    levels = await engagement_service.account_cadence(session, account=account, today=now.date())
    return EngagementStatusRead(
        account_id=account.id,
        account_name=account.name,
        tier=account.tier,
        owner_id=account.owner_id,
        overdue=any(s.overdue for s in levels),
        levels=[LevelStatusRead(**s.__dict__) for s in levels],
    )


@router.get(
    "/accounts/{account_id}/engagement-status",
    response_model=EngagementStatusRead,
    tags=ACCOUNTS,
    summary="Cadence status of an account",
)
async def get_engagement_status(
    account_id: str, session: SessionDep, clock: ClockDep, principal: CurrentPrincipal
) -> EngagementStatusRead:
    """Last contact per level, when the next is due and whether it is overdue for the tier's cadence."""
    account = await _visible_account(session, principal, account_id)
    return await _engagement_status(session, account, clock.now())


@router.get(
    "/scoring/engagements/overdue",
    response_model=list[EngagementStatusRead],
    tags=SCORING,
    summary="Accounts overdue on their cadence",
)
async def get_overdue(
    session: SessionDep,
    clock: ClockDep,
    principal: CurrentPrincipal,
    owner_id: str | None = None,
    tier: TierCode | None = None,
) -> list[EngagementStatusRead]:
    """Every visible account that missed its tier's cadence at some level, most overdue first."""
    items = await engagement_service.overdue_accounts(
        session, platform, principal=principal, today=clock.now().date(), owner_id=owner_id, tier=tier
    )
    return [EngagementStatusRead.model_validate(i) for i in items]


@router.get("/scoring/cadence", response_model=CadencePolicy, tags=SCORING, summary="Cadence policy per tier")
async def get_cadence(session: SessionDep, principal: CurrentPrincipal) -> CadencePolicy:
    """Days between contacts per tier and level."""
    rules = await engagement_service.cadence_rules(session)
    return CadencePolicy.model_validate(
        {"rules": [{"tier": t, "level": lv, "every_days": d} for t in TIER_ORDER for lv, d in rules.get(t, {}).items()]}
    )


@router.put("/scoring/cadence", response_model=CadencePolicy, tags=SCORING, summary="Replace the cadence policy")
async def put_cadence(body: CadencePolicy, session: SessionDep, principal: Supervisor) -> CadencePolicy:
    """Replace the whole cadence policy (supervisor)."""
    await engagement_service.replace_cadence_rules(session, rules=[(r.tier, r.level, r.every_days) for r in body.rules])
    return body


# ---------------------------------------------------------------- models and jobs


@router.get("/scoring/indicators", tags=SCORING, summary="Known indicators and dimensions")
async def get_indicators(principal: CurrentPrincipal) -> dict[str, Any]:
    """What a model may use: the four dimensions of FAQ 1, their indicators, and the tiers."""
    return {
        "dimensions": [{"code": c, "label_zh": z, "label_en": e} for c, (z, e) in DIMENSIONS.items()],
        "indicators": [i.__dict__ for i in INDICATORS.values()],
        "tiers": [{"code": c, "label_zh": z, "label_en": e} for c, (z, e) in TIERS.items()],
    }


@router.get("/scoring/models", response_model=list[ModelRead], tags=SCORING, summary="Scoring model versions")
async def list_models(session: SessionDep, principal: CurrentPrincipal) -> list[ModelRead]:
    """Every version, newest first (drafts, the published one, retired history)."""
    rows = await session.execute(select(ScoringModelVersion).order_by(ScoringModelVersion.version.desc()))
    return [_model_read(m) for m in rows.scalars()]


@router.post(
    "/scoring/models", status_code=201, response_model=ModelRead, tags=SCORING, summary="Create a draft scoring model"
)
async def post_model(body: ModelCreate, session: SessionDep, clock: ClockDep, principal: Supervisor) -> ModelRead:
    """Indicators, normalisation, weights (summing to 100) and tier policy; invalid models get a 422."""
    model = await model_versions.create_model(
        session,
        name=body.name,
        notes=body.notes,
        definition=body.definition,
        user_id=principal.user_id,
        now=clock.now(),
    )
    return _model_read(model)


@router.get("/scoring/models/{version}", response_model=ModelRead, tags=SCORING, summary="One scoring model version")
async def get_model(version: int, session: SessionDep, principal: CurrentPrincipal) -> ModelRead:
    """A model version."""
    return _model_read(await model_versions.get_model(session, version=version))


def _start_job(request: Request, background: BackgroundTasks, job_id: str) -> None:
    app = request.app
    db: Database = app.state.db
    background.add_task(
        rescoring.run_rescore_job,
        db,
        platform,
        job_id=job_id,
        now=app.state.clock.now,
        chunk_size=app.state.settings.rescore_chunk_size,
    )


@router.post(
    "/scoring/models/{version}/publish", response_model=ModelRead, tags=SCORING, summary="Publish a draft model"
)
async def post_publish_model(
    version: int,
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    clock: ClockDep,
    principal: Supervisor,
) -> ModelRead:
    """Draft → published (the previous version is retired); starts a full re-score under the new model."""
    model = await model_versions.publish_model(session, version=version, user_id=principal.user_id, now=clock.now())
    job, new = await rescoring.request_rescore(
        session, trigger="model_published", user_id=principal.user_id, now=clock.now()
    )
    if new:
        _start_job(request, background, job.id)
    return _model_read(model)


@router.post(
    "/scoring/jobs/rescore", status_code=202, response_model=JobRead, tags=SCORING, summary="Start a full re-score"
)
async def post_rescore_job(
    request: Request, background: BackgroundTasks, session: SessionDep, clock: ClockDep, principal: Supervisor
) -> JobRead:
    """Queue a re-score of every account (or return the one already running); poll its progress."""
    job, new = await rescoring.request_rescore(session, trigger="manual", user_id=principal.user_id, now=clock.now())
    if new:
        _start_job(request, background, job.id)
    return _job_read(job)


@router.get("/scoring/jobs/{job_id}", response_model=JobRead, tags=SCORING, summary="Progress of a re-score job")
async def get_rescore_job(job_id: str, session: SessionDep, principal: CurrentPrincipal) -> JobRead:
    """Status, accounts done of total, tier changes."""
    return _job_read(await rescoring.get_job(session, job_id=job_id))


# ---------------------------------------------------------------- portfolio queries


async def _distribution(session: AsyncSession, principal: Principal) -> TierDistribution:
    rows = (
        await session.execute(
            select(Account.tier, func.count(), func.avg(Account.score))
            .where(visible_accounts_clause(platform, principal, Account.id), Account.status != "former")
            .group_by(Account.tier)
        )
    ).all()
    counts = {tier: (int(n), avg) for tier, n, avg in rows}
    items: list[dict[str, Any]] = []
    for code in (*TIER_ORDER, None):
        n, avg = counts.get(code, (0, None))
        if code is None and not n:
            continue
        label: dict[str, Any] = tiers.tier_label(code) or {
            "code": None,
            "label_zh": "未分级",
            "label_en": "Unscored",
        }
        items.append(
            {
                **label,
                "count": n,
                "average_score": None if avg is None else str(Decimal(str(avg)).quantize(Decimal("0.01"))),
            }
        )
    return TierDistribution(total=sum(n for n, _ in counts.values()), tiers=items)


@router.get("/scoring/tiers/distribution", response_model=TierDistribution, tags=SCORING, summary="Tier distribution")
async def get_distribution(session: SessionDep, principal: CurrentPrincipal) -> TierDistribution:
    """How many active accounts each tier holds (the caller's visible portfolio)."""
    return await _distribution(session, principal)


async def _movers(session: AsyncSession, principal: Principal, since: datetime, limit: int) -> list[MoverRead]:
    rows = (
        await session.execute(
            select(TierChange, Account.name)
            .join(Account, Account.id == TierChange.account_id)
            .where(TierChange.changed_at >= since, visible_accounts_clause(platform, principal, TierChange.account_id))
            .order_by(TierChange.changed_at.desc(), TierChange.id.desc())
            .limit(limit)
        )
    ).all()
    rank = {t: i for i, t in enumerate(TIER_ORDER)}
    movers = []
    for change, name in rows:
        if change.old_tier is None:
            direction = "new"
        else:
            direction = "up" if rank.get(change.new_tier, 9) < rank.get(change.old_tier, 9) else "down"
        movers.append(
            MoverRead.model_validate(
                {**TierChangeRead.model_validate(change).model_dump(), "account_name": name, "direction": direction}
            )
        )
    return movers


@router.get("/scoring/tiers/movers", response_model=list[MoverRead], tags=SCORING, summary="Tier movers since a date")
async def get_movers(
    session: SessionDep,
    clock: ClockDep,
    principal: CurrentPrincipal,
    since: Annotated[datetime | None, Query(description="Default: 30 days ago")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[MoverRead]:
    """Tier changes since a moment, newest first (new = first tier of an account)."""
    return await _movers(session, principal, since or clock.now() - timedelta(days=30), limit)


# ---------------------------------------------------------------- views composed by the gateway


@router.get(
    "/scoring/views/accounts/{account_id}", tags=SCORING, summary="This service's section of the account overview"
)
async def account_view(
    account_id: str, request: Request, session: SessionDep, clock: ClockDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """The scoring section of the account 360: profile, team, contacts, tier, score, strategy, engagement."""
    account = await _visible_account(session, principal, account_id)
    now = clock.now()
    detail = await _detail(session, account, now)
    override = await tiers.active_override(session, account_id=account.id, now=now)
    try:
        score: dict[str, Any] | None = (await _score_read(session, account, now)).model_dump(mode="json")
    except NotFound:
        score = None
    strategy = await _strategy(session, request, account, now)
    engagement = await _engagement_status(session, account, now)
    profile = detail.model_dump(mode="json", exclude={"contacts"})
    return {
        "account_id": account.id,
        "name": account.name,
        "profile": profile,
        "team": {"owner_id": account.owner_id, "team_member_ids": list(account.team_member_ids or [])},
        "contacts": [c.model_dump(mode="json") for c in detail.contacts],
        "tier": {
            **(tiers.tier_label(account.tier) or {"code": None}),
            "computed": account.computed_tier,
            "overridden": override is not None,
            "override": OverrideRead.model_validate(override).model_dump(mode="json") if override else None,
        },
        "score": score,
        "strategy": strategy.model_dump(mode="json", exclude={"white_space", "product_lines_bought"}),
        "white_space": strategy.white_space,
        "product_lines_bought": strategy.product_lines_bought,
        "engagement": engagement.model_dump(mode="json"),
    }


@router.get("/scoring/views/portfolio", tags=SCORING, summary="This service's section of the portfolio board")
async def portfolio_view(session: SessionDep, clock: ClockDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """Tier distribution, overdue engagements and recent movers (account managers: their own accounts)."""
    now = clock.now()
    overdue = await engagement_service.overdue_accounts(session, platform, principal=principal, today=now.date())
    since = now - timedelta(days=30)
    return {
        "distribution": (await _distribution(session, principal)).model_dump(mode="json"),
        "overdue_engagements": {
            "count": len(overdue),
            "items": [EngagementStatusRead.model_validate(i).model_dump(mode="json") for i in overdue[:20]],
        },
        "recent_movers": {
            "since": since.isoformat(),
            "items": [m.model_dump(mode="json") for m in await _movers(session, principal, since, 20)],
        },
    }
