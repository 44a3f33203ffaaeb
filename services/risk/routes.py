"""HTTP routes of the risk service: parse, authorise, call the domain, return."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk import alerts as alerts_service
from services.risk import contracts as contracts_service
from services.risk import service
from services.risk.compliance import missing_mandatory_clauses
from services.risk.early_warning import OPEN_ALERT_STATUSES, SIGNAL_TYPES
from services.risk.exposure import bucket_for
from services.risk.jobs import run_risk_watch
from services.risk.models import (
    ActionItem,
    Alert,
    Contract,
    IndustryPolicy,
    Invoice,
    LimitRequest,
    RiskSignal,
    SalesOrder,
    WarningRule,
    idempotency_keys,
    platform,
)
from services.risk.schemas import (
    ActionItemRead,
    AlertDetail,
    AlertRead,
    AlertTransition,
    AssessmentCreate,
    AssessmentRead,
    ContractCreate,
    ContractDetail,
    ContractRead,
    ContractReminderRead,
    ContractReviewRead,
    ContractTransition,
    ContractUpdate,
    CreditCheckCreate,
    CreditCheckRead,
    ExposureRead,
    InvoiceCreate,
    InvoiceImport,
    InvoiceImportResult,
    InvoiceRead,
    LimitDecision,
    LimitRequestCreate,
    LimitRequestRead,
    OrderRead,
    OrderRelease,
    PaymentCreate,
    PlanTemplatePut,
    PlanTemplateRead,
    PolicyCreate,
    PolicyRead,
    ProfileRead,
    Reason,
    RulePut,
    RuleRead,
    ScorecardPut,
    SignalCreate,
    SignalRead,
)
from services.risk.scorecard import scorecard_to_dict
from services.risk.views import account_risk_view, portfolio_risk_view, to_json
from shared.api import (
    Page,
    PageParams,
    check_if_match,
    idempotent_replay,
    page_params,
    remember_idempotent,
    set_etag,
)
from shared.auth import (
    RISK_OFFICER,
    SERVICE,
    SUPERVISOR,
    CurrentPrincipal,
    Principal,
    ensure_account_access,
    require_roles,
    visible_accounts_clause,
)
from shared.errors import PROBLEM_RESPONSES, NotFound, Unprocessable
from shared.service import ClockDep, SessionDep

router = APIRouter(tags=["risk"], responses=PROBLEM_RESPONSES)

# Who manages credit (limits, assessments, receivables, releases); admin always passes require_roles.
CreditManager = Annotated[Principal, Depends(require_roles(RISK_OFFICER, SUPERVISOR))]
# Who feeds receivables and financial signals: credit managers and integrations (ERP, finance).
CreditFeeder = Annotated[Principal, Depends(require_roles(RISK_OFFICER, SUPERVISOR, SERVICE))]
# The checker of a limit request and the owner of industry policies and rule configuration.
RiskOfficer = Annotated[Principal, Depends(require_roles(RISK_OFFICER))]
# Who decides a contract's legal review.
ContractReviewer = Annotated[Principal, Depends(require_roles(RISK_OFFICER, SUPERVISOR))]
Paging = Annotated[PageParams, Depends(page_params)]


async def _replay(session: AsyncSession, request: Request, principal: Principal, payload: Any) -> JSONResponse | None:
    stored = await idempotent_replay(
        session, idempotency_keys, request=request, principal_id=principal.user_id, payload=payload
    )
    return JSONResponse(stored[1], status_code=stored[0]) if stored else None


async def _remember(
    session: AsyncSession, request: Request, principal: Principal, payload: Any, body: Any, status: int = 201
) -> None:
    await remember_idempotent(
        session,
        idempotency_keys,
        request=request,
        principal_id=principal.user_id,
        payload=payload,
        status=status,
        body=jsonable_encoder(body),
    )


def _page(items: list[Any], total: int, page: PageParams) -> dict[str, Any]:
    return {"items": items, "total": total, "limit": page.limit, "offset": page.offset}


async def _count_and_rows(session: AsyncSession, stmt: Any, page: PageParams, *order_by: Any) -> tuple[list[Any], int]:
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = (await session.execute(stmt.order_by(*order_by).limit(page.limit).offset(page.offset))).scalars().all()
    return list(rows), int(total or 0)


# ---------------------------------------------------------------- credit profile and scorecard


async def _profile_read(session: AsyncSession, account: dict[str, Any], today: date) -> ProfileRead:
    profile = await service.get_profile(session, account_id=account["account_id"])
    return ProfileRead(
        account_id=account["account_id"],
        name=account["name"],
        tier=account["tier"],
        industry=account["industry"],
        currency=profile.currency if profile else "CNY",
        credit_limit=profile.credit_limit if profile else None,
        temporary_limit=profile.temporary_limit if profile else None,
        temporary_limit_expires_on=profile.temporary_limit_expires_on if profile else None,
        effective_limit=service.effective_limit(profile, today),
        score=profile.score if profile else None,
        grade=profile.grade if profile else None,
        risk_class=profile.risk_class if profile else None,
        assessed_at=profile.assessed_at if profile else None,
        version=profile.version if profile else 0,
    )


@router.get("/risk/accounts/{account_id}/credit", summary="Credit profile: limit, temporary limit, score, grade")
async def get_credit_profile(
    account_id: str, session: SessionDep, principal: CurrentPrincipal, clock: ClockDep, response: Response
) -> ProfileRead:
    """The account's credit profile (empty until assessed or given a limit)."""
    account = await ensure_account_access(session, platform, principal, account_id)
    profile = await _profile_read(session, account, clock.now().date())
    set_etag(response, profile.version)
    return profile


@router.post(
    "/risk/accounts/{account_id}/assessments",
    summary="Score the account's credit (publishes risk.credit_assessed)",
    status_code=201,
)
async def create_assessment(
    account_id: str, body: AssessmentCreate, session: SessionDep, principal: CreditManager, clock: ClockDep
) -> AssessmentRead:
    """Run the scorecard; payment behaviour not supplied is derived from the receivables."""
    await ensure_account_access(session, platform, principal, account_id, write=True)
    assessment = await service.assess_credit(
        session, account_id=account_id, inputs=body.model_dump(), by=principal.user_id, now=clock.now()
    )
    return AssessmentRead.model_validate(assessment)


@router.get("/risk/accounts/{account_id}/assessments", summary="Credit assessment history")
async def list_assessments(
    account_id: str, session: SessionDep, principal: CurrentPrincipal, page: Paging
) -> Page[AssessmentRead]:
    """Every scoring of the account, newest first."""
    await ensure_account_access(session, platform, principal, account_id)
    rows, total = await service.list_assessments(session, account_id=account_id, limit=page.limit, offset=page.offset)
    return Page[AssessmentRead](**_page([AssessmentRead.model_validate(r) for r in rows], total, page))


@router.get("/risk/scorecard", summary="The credit scorecard (factors, weights, bands, grade cut-offs)")
async def get_scorecard(session: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """The scorecard in force."""
    return scorecard_to_dict(await service.get_scorecard(session))


@router.put("/risk/scorecard", summary="Replace the credit scorecard")
async def put_scorecard(
    body: ScorecardPut, request: Request, session: SessionDep, principal: RiskOfficer, clock: ClockDep
) -> dict[str, Any]:
    """Replace the scorecard (If-Match with the current version refuses stale edits)."""
    current = await service.get_scorecard(session)
    check_if_match(request, current.version)
    scorecard = await service.set_scorecard(session, config=body.model_dump(), by=principal.user_id, now=clock.now())
    return scorecard_to_dict(scorecard)


# ---------------------------------------------------------------- limit requests (maker-checker)


@router.post(
    "/risk/accounts/{account_id}/limit-requests",
    summary="Request a credit limit change (applied only after a second risk officer approves)",
    status_code=201,
)
async def create_limit_request(
    account_id: str,
    body: LimitRequestCreate,
    request: Request,
    session: SessionDep,
    principal: CreditManager,
    clock: ClockDep,
) -> LimitRequestRead:
    """File a permanent or temporary limit request (accepts an Idempotency-Key)."""
    await ensure_account_access(session, platform, principal, account_id, write=True)
    payload = body.model_dump(mode="json")
    if (replayed := await _replay(session, request, principal, payload)) is not None:
        return replayed  # type: ignore[return-value]
    created = await service.request_limit_change(
        session,
        account_id=account_id,
        kind=body.kind,
        requested_limit=body.requested_limit,
        currency=body.currency,
        expires_on=body.expires_on,
        reason=body.reason,
        by=principal.user_id,
        now=clock.now(),
    )
    result = LimitRequestRead.model_validate(created)
    await _remember(session, request, principal, payload, result.model_dump(mode="json"))
    return result


@router.get("/risk/limit-requests", summary="Limit requests (filter by status or account)")
async def list_limit_requests(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: Paging,
    status: Annotated[str | None, Query(pattern="^(pending|approved|rejected)$")] = None,
    account_id: str | None = None,
) -> Page[LimitRequestRead]:
    """Limit requests the caller may see, newest first."""
    stmt = select(LimitRequest).where(visible_accounts_clause(platform, principal, LimitRequest.account_id))
    if status:
        stmt = stmt.where(LimitRequest.status == status)
    if account_id:
        stmt = stmt.where(LimitRequest.account_id == account_id)
    rows, total = await _count_and_rows(session, stmt, page, LimitRequest.requested_at.desc())
    return Page[LimitRequestRead](**_page([LimitRequestRead.model_validate(r) for r in rows], total, page))


async def _decide(
    request_id: str, body: LimitDecision, approve: bool, session: AsyncSession, principal: Principal, now: Any
) -> LimitRequestRead:
    limit_request = await service.get_limit_request(session, request_id=request_id)
    await ensure_account_access(session, platform, principal, limit_request.account_id, write=True)
    decided = await service.decide_limit_request(
        session, request=limit_request, approve=approve, note=body.note, by=principal.user_id, now=now
    )
    return LimitRequestRead.model_validate(decided)


@router.post(
    "/risk/limit-requests/{request_id}/approve",
    summary="Approve a limit request (not by its maker; publishes risk.credit_limit_changed)",
)
async def approve_limit_request(
    request_id: str, session: SessionDep, principal: RiskOfficer, clock: ClockDep, body: LimitDecision | None = None
) -> LimitRequestRead:
    """The checker applies the requested limit; the maker gets 403."""
    return await _decide(request_id, body or LimitDecision(), True, session, principal, clock.now())


@router.post("/risk/limit-requests/{request_id}/reject", summary="Reject a limit request (not by its maker)")
async def reject_limit_request(
    request_id: str, session: SessionDep, principal: RiskOfficer, clock: ClockDep, body: LimitDecision | None = None
) -> LimitRequestRead:
    """The checker turns the request down; the limit stays."""
    return await _decide(request_id, body or LimitDecision(), False, session, principal, clock.now())


# ---------------------------------------------------------------- receivables, exposure, credit check


def _invoice_read(invoice: Invoice, today: date) -> InvoiceRead:
    outstanding = invoice.amount - invoice.paid_amount
    days = (today - invoice.due_on).days
    return InvoiceRead(
        id=invoice.id,
        account_id=invoice.account_id,
        number=invoice.number,
        amount=invoice.amount,
        paid_amount=invoice.paid_amount,
        outstanding=outstanding,
        currency=invoice.currency,
        issued_on=invoice.issued_on,
        due_on=invoice.due_on,
        days_past_due=max(days, 0) if outstanding > 0 else 0,
        bucket=bucket_for(days) if outstanding > 0 else "paid",
    )


@router.post("/risk/accounts/{account_id}/invoices", summary="Record a receivable (invoice)", status_code=201)
async def create_invoice(
    account_id: str,
    body: InvoiceCreate,
    request: Request,
    session: SessionDep,
    principal: CreditFeeder,
    clock: ClockDep,
) -> InvoiceRead:
    """Record an invoice with amount, due date and what is already paid (accepts an Idempotency-Key)."""
    await ensure_account_access(session, platform, principal, account_id, write=True)
    payload = body.model_dump(mode="json")
    if (replayed := await _replay(session, request, principal, payload)) is not None:
        return replayed  # type: ignore[return-value]
    invoice = await service.add_invoice(session, account_id=account_id, now=clock.now(), **body.model_dump())
    result = _invoice_read(invoice, clock.now().date())
    await _remember(session, request, principal, payload, result.model_dump(mode="json"))
    return result


@router.post(
    "/risk/invoices/import",
    summary="Import a batch of receivables (ERP / finance feed, all or nothing)",
    status_code=201,
)
async def import_invoices(
    body: InvoiceImport, session: SessionDep, principal: CreditFeeder, clock: ClockDep
) -> InvoiceImportResult:
    """Up to 1000 invoices across accounts in one transaction; a bad row is a 422 naming it."""
    for index, row in enumerate(body.invoices):
        try:
            await ensure_account_access(session, platform, principal, row.account_id, write=True)
        except NotFound as exc:
            raise Unprocessable(f"invoices[{index}]: {exc.detail}", field=f"invoices.{index}.account_id") from exc
    accounts = await service.import_invoices(session, rows=[row.model_dump() for row in body.invoices], now=clock.now())
    return InvoiceImportResult(imported=len(body.invoices), accounts=accounts)


@router.get("/risk/accounts/{account_id}/invoices", summary="Receivables of an account")
async def list_invoices(
    account_id: str,
    session: SessionDep,
    principal: CurrentPrincipal,
    clock: ClockDep,
    page: Paging,
    open_only: bool = False,
) -> Page[InvoiceRead]:
    """Invoices by due date, with days past due and aging bucket."""
    await ensure_account_access(session, platform, principal, account_id)
    stmt = select(Invoice).where(Invoice.account_id == account_id)
    if open_only:
        stmt = stmt.where(Invoice.amount > Invoice.paid_amount)
    rows, total = await _count_and_rows(session, stmt, page, Invoice.due_on, Invoice.number)
    today = clock.now().date()
    return Page[InvoiceRead](**_page([_invoice_read(r, today) for r in rows], total, page))


@router.post("/risk/invoices/{invoice_id}/payments", summary="Record a payment against an invoice", status_code=201)
async def create_payment(
    invoice_id: str, body: PaymentCreate, session: SessionDep, principal: CreditFeeder, clock: ClockDep
) -> InvoiceRead:
    """Reduce the invoice's open balance."""
    invoice = await session.get(Invoice, invoice_id)
    if invoice is None:
        raise NotFound(f"Invoice {invoice_id} not found")
    await ensure_account_access(session, platform, principal, invoice.account_id, write=True)
    await service.record_payment(
        session, invoice=invoice, amount=body.amount, paid_on=body.paid_on, by=principal.user_id, now=clock.now()
    )
    return _invoice_read(invoice, clock.now().date())


@router.get("/risk/accounts/{account_id}/exposure", summary="Exposure, aging buckets and utilisation")
async def get_exposure(
    account_id: str, session: SessionDep, principal: CurrentPrincipal, clock: ClockDep
) -> ExposureRead:
    """Receivables by aging bucket, open orders, exposure and utilisation of the limit in force."""
    await ensure_account_access(session, platform, principal, account_id)
    return ExposureRead(**await service.exposure_summary(session, account_id=account_id, today=clock.now().date()))


@router.post(
    "/risk/accounts/{account_id}/credit-check",
    summary="Credit check of an order: pass / warn / block with reasons",
)
async def credit_check(
    account_id: str, body: CreditCheckCreate, session: SessionDep, principal: CurrentPrincipal, clock: ClockDep
) -> CreditCheckRead:
    """Static exposure (and dynamic exposure up to ``horizon``) against the limit; blocked orders wait for release."""
    await ensure_account_access(session, platform, principal, account_id, write=body.record)
    result, order = await service.check_order(
        session,
        account_id=account_id,
        amount=body.amount,
        reference=body.order_reference,
        currency=body.currency,
        expected_on=body.expected_on,
        horizon=body.horizon,
        record=body.record,
        by=principal.user_id,
        now=clock.now(),
    )
    return CreditCheckRead(
        account_id=account_id,
        decision=result.decision,
        reasons=[Reason(**r) for r in result.reasons],
        amount=body.amount,
        currency=body.currency,
        limit=result.limit,
        static_exposure=result.static_exposure,
        dynamic_exposure=result.dynamic_exposure,
        utilisation_after_pct=result.utilisation_after_pct,
        order_id=order.id if order else None,
        order_status=order.status if order else None,
    )


@router.get("/risk/orders", summary="Orders (filter by status: open, blocked, released, closed)")
async def list_orders(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: Paging,
    status: Annotated[str | None, Query(pattern="^(open|blocked|released|closed)$")] = None,
    account_id: str | None = None,
) -> Page[OrderRead]:
    """Credit-checked orders the caller may see, newest first; ``status=blocked`` is the release queue."""
    stmt = select(SalesOrder).where(visible_accounts_clause(platform, principal, SalesOrder.account_id))
    if status:
        stmt = stmt.where(SalesOrder.status == status)
    if account_id:
        stmt = stmt.where(SalesOrder.account_id == account_id)
    rows, total = await _count_and_rows(session, stmt, page, SalesOrder.checked_at.desc())
    return Page[OrderRead](**_page([OrderRead.model_validate(r) for r in rows], total, page))


@router.post("/risk/orders/{order_id}/release", summary="Release a blocked order (authorised roles, with a reason)")
async def release_order(
    order_id: str, body: OrderRelease, session: SessionDep, principal: CreditManager, clock: ClockDep
) -> OrderRead:
    """A credit manager releases a blocked order; the reason is kept."""
    order = await service.get_order(session, order_id=order_id)
    await ensure_account_access(session, platform, principal, order.account_id, write=True)
    released = await service.release_order(
        session, order=order, reason=body.reason, by=principal.user_id, now=clock.now()
    )
    return OrderRead.model_validate(released)


@router.post("/risk/orders/{order_id}/close", summary="Close an open order (invoiced or cancelled)")
async def close_order(order_id: str, session: SessionDep, principal: CurrentPrincipal) -> OrderRead:
    """The order no longer counts as an open order."""
    order = await service.get_order(session, order_id=order_id)
    await ensure_account_access(session, platform, principal, order.account_id, write=True)
    return OrderRead.model_validate(await service.close_order(session, order=order))


# ---------------------------------------------------------------- signals, policies, rules, plans


@router.post(
    "/risk/accounts/{account_id}/signals",
    summary="Enter a financial-deterioration signal (runs the early-warning rules)",
    status_code=201,
)
async def create_signal(
    account_id: str, body: SignalCreate, session: SessionDep, principal: CreditFeeder, clock: ClockDep
) -> SignalRead:
    """Record a financial signal entered or imported; the same ``reference`` twice is recorded once."""
    await ensure_account_access(session, platform, principal, account_id, write=True)
    now = clock.now()
    signal, _ = await alerts_service.record_signal(
        session,
        account_id=account_id,
        signal_type=body.signal_type,
        value=body.value,
        source="manual",
        source_ref=f"manual:{body.reference or now.isoformat()}",
        title=body.title,
        details=body.details,
        now=now,
    )
    return SignalRead.model_validate(signal)


@router.get("/risk/accounts/{account_id}/signals", summary="Risk signals of an account")
async def list_signals(
    account_id: str,
    session: SessionDep,
    principal: CurrentPrincipal,
    page: Paging,
    signal_type: str | None = None,
) -> Page[SignalRead]:
    """Signals newest first."""
    await ensure_account_access(session, platform, principal, account_id)
    stmt = select(RiskSignal).where(RiskSignal.account_id == account_id)
    if signal_type:
        stmt = stmt.where(RiskSignal.signal_type == signal_type)
    rows, total = await _count_and_rows(session, stmt, page, RiskSignal.observed_at.desc())
    return Page[SignalRead](**_page([SignalRead.model_validate(r) for r in rows], total, page))


@router.get("/risk/signal-types", summary="Signal types and what their value means")
async def signal_types(principal: CurrentPrincipal) -> dict[str, str]:
    """The known signal types."""
    return SIGNAL_TYPES


@router.post(
    "/risk/industry-policies",
    summary="Enter an industry policy change once; every account of the industry gets the signal",
    status_code=201,
)
async def create_policy(
    body: PolicyCreate, request: Request, session: SessionDep, principal: RiskOfficer, clock: ClockDep
) -> PolicyRead:
    """Apply a policy change to every account of the industry (accepts an Idempotency-Key)."""
    payload = body.model_dump(mode="json")
    if (replayed := await _replay(session, request, principal, payload)) is not None:
        return replayed  # type: ignore[return-value]
    policy, affected = await alerts_service.create_industry_policy(
        session, by=principal.user_id, now=clock.now(), **body.model_dump()
    )
    result = PolicyRead.model_validate(policy).model_copy(update={"accounts_affected": affected})
    await _remember(session, request, principal, payload, result.model_dump(mode="json"))
    return result


@router.get("/risk/industry-policies", summary="Industry policy changes")
async def list_policies(
    session: SessionDep, principal: CurrentPrincipal, page: Paging, industry: str | None = None
) -> Page[PolicyRead]:
    """Policies newest first."""
    stmt = select(IndustryPolicy)
    if industry:
        stmt = stmt.where(IndustryPolicy.industry == industry)
    rows, total = await _count_and_rows(session, stmt, page, IndustryPolicy.created_at.desc())
    return Page[PolicyRead](**_page([PolicyRead.model_validate(r) for r in rows], total, page))


@router.get("/risk/rules", summary="Early-warning rules")
async def list_rules(session: SessionDep, principal: CurrentPrincipal) -> list[RuleRead]:
    """Every rule: signal type, conditions → level."""
    return [RuleRead.model_validate(r) for r in await alerts_service.list_rules(session)]


@router.put("/risk/rules/{code}", summary="Create or replace an early-warning rule")
async def put_rule(
    code: Annotated[str, Path(min_length=1, max_length=60, pattern="^[A-Za-z0-9_]+$")],
    body: RulePut,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: RiskOfficer,
    clock: ClockDep,
) -> RuleRead:
    """Conditions are ``value <operator> threshold → level``; the most severe matching level wins."""
    code = code.upper()
    existing = await session.get(WarningRule, code)
    if existing is not None:
        check_if_match(request, existing.version)
    rule = await alerts_service.put_rule(
        session,
        code=code,
        name=body.name,
        signal_type=body.signal_type,
        conditions=[c.model_dump(mode="json") for c in body.conditions],
        enabled=body.enabled,
        now=clock.now(),
    )
    set_etag(response, rule.version)
    return RuleRead.model_validate(rule)


@router.get("/risk/plan-templates", summary="Contingency plan templates per alert type")
async def list_plan_templates(session: SessionDep, principal: CurrentPrincipal) -> list[PlanTemplateRead]:
    """Every template."""
    return [PlanTemplateRead.model_validate(t) for t in await alerts_service.list_plan_templates(session)]


@router.put("/risk/plan-templates/{signal_type}", summary="Create or replace the contingency plan of an alert type")
async def put_plan_template(
    signal_type: str, body: PlanTemplatePut, session: SessionDep, principal: RiskOfficer, clock: ClockDep
) -> PlanTemplateRead:
    """Steps become action items (owner, due date) whenever an alert of this type is raised."""
    template = await alerts_service.put_plan_template(
        session, signal_type=signal_type, steps=[s.model_dump() for s in body.steps], now=clock.now()
    )
    return PlanTemplateRead.model_validate(template)


# ---------------------------------------------------------------- alerts and action items


@router.get("/risk/alerts", summary="Early-warning alerts (filter by account, level, status, rule)")
async def list_alerts(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: Paging,
    account_id: str | None = None,
    level: Annotated[str | None, Query(pattern="^(green|yellow|orange|red)$")] = None,
    status: Annotated[str | None, Query(pattern="^(open|raised|acknowledged|mitigating|cleared)$")] = None,
    rule_code: str | None = None,
) -> Page[AlertRead]:
    """Alerts the caller may see, newest first; ``status=open`` means not cleared."""
    stmt = select(Alert).where(visible_accounts_clause(platform, principal, Alert.account_id))
    if account_id:
        stmt = stmt.where(Alert.account_id == account_id)
    if level:
        stmt = stmt.where(Alert.level == level)
    if status == "open":
        stmt = stmt.where(Alert.status.in_(OPEN_ALERT_STATUSES))
    elif status:
        stmt = stmt.where(Alert.status == status)
    if rule_code:
        stmt = stmt.where(Alert.rule_code == rule_code)
    rows, total = await _count_and_rows(session, stmt, page, Alert.raised_at.desc(), Alert.id)
    return Page[AlertRead](**_page([AlertRead.model_validate(r) for r in rows], total, page))


async def _alert_detail(session: AsyncSession, alert: Alert) -> AlertDetail:
    items = await alerts_service.action_items_of(session, alert_id=alert.id)
    return AlertDetail.model_validate(alert).model_copy(
        update={"action_items": [ActionItemRead.model_validate(i) for i in items]}
    )


@router.get("/risk/alerts/{alert_id}", summary="An alert with its contingency plan")
async def get_alert(alert_id: str, session: SessionDep, principal: CurrentPrincipal, response: Response) -> AlertDetail:
    """The alert and its action items."""
    alert = await alerts_service.get_alert(session, alert_id=alert_id)
    await ensure_account_access(session, platform, principal, alert.account_id)
    set_etag(response, alert.version)
    return await _alert_detail(session, alert)


@router.post(
    "/risk/alerts/{alert_id}/transitions",
    summary="Move an alert: acknowledged → mitigating → cleared (clearing publishes risk.alert_cleared)",
)
async def transition_alert(
    alert_id: str,
    body: AlertTransition,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: CurrentPrincipal,
    clock: ClockDep,
) -> AlertDetail:
    """Invalid moves are 409 with the allowed ones; a stale If-Match is 412."""
    alert = await alerts_service.get_alert(session, alert_id=alert_id)
    await ensure_account_access(session, platform, principal, alert.account_id, write=True)
    check_if_match(request, alert.version)
    await alerts_service.transition_alert(
        session, alert=alert, target=body.status, note=body.note, by=principal.user_id, now=clock.now()
    )
    set_etag(response, alert.version)
    return await _alert_detail(session, alert)


@router.get("/risk/action-items", summary="Contingency plan action items (mine, by status)")
async def list_action_items(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: Paging,
    owner_id: str | None = None,
    status: Annotated[str | None, Query(pattern="^(open|done)$")] = None,
) -> Page[ActionItemRead]:
    """Action items the caller may see, by due date."""
    stmt = select(ActionItem).where(visible_accounts_clause(platform, principal, ActionItem.account_id))
    if owner_id:
        stmt = stmt.where(ActionItem.owner_id == owner_id)
    if status:
        stmt = stmt.where(ActionItem.status == status)
    rows, total = await _count_and_rows(session, stmt, page, ActionItem.due_at, ActionItem.id)
    return Page[ActionItemRead](**_page([ActionItemRead.model_validate(r) for r in rows], total, page))


@router.post("/risk/action-items/{item_id}/complete", summary="Mark a contingency plan step done")
async def complete_action_item(
    item_id: str, session: SessionDep, principal: CurrentPrincipal, clock: ClockDep
) -> ActionItemRead:
    """Done by the caller, now."""
    item = await session.get(ActionItem, item_id)
    if item is None:
        raise NotFound(f"Action item {item_id} not found")
    await ensure_account_access(session, platform, principal, item.account_id, write=True)
    await alerts_service.complete_action_item(session, item=item, by=principal.user_id, now=clock.now())
    return ActionItemRead.model_validate(item)


# ---------------------------------------------------------------- contracts


def _contract_read(contract: Contract) -> ContractRead:
    return ContractRead.model_validate(
        {
            **{c: getattr(contract, c) for c in ContractRead.model_fields if hasattr(contract, c)},
            "missing_mandatory_clauses": missing_mandatory_clauses(contract.contract_type, contract.clauses),
        }
    )


async def _contract_detail(session: AsyncSession, contract: Contract) -> ContractDetail:
    reviews = await contracts_service.reviews_of(session, contract_id=contract.id)
    reminders = await contracts_service.reminders_of(session, contract_id=contract.id)
    return ContractDetail(
        **_contract_read(contract).model_dump(),
        reviews=[ContractReviewRead.model_validate(r) for r in reviews],
        reminders=[ContractReminderRead.model_validate(r) for r in reminders],
    )


@router.post(
    "/risk/accounts/{account_id}/contracts",
    summary="Register a contract (draft) with its clause checklist",
    status_code=201,
)
async def create_contract(
    account_id: str,
    body: ContractCreate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    clock: ClockDep,
) -> ContractDetail:
    """A new draft; clauses not listed count as missing (accepts an Idempotency-Key)."""
    await ensure_account_access(session, platform, principal, account_id, write=True)
    payload = body.model_dump(mode="json")
    if (replayed := await _replay(session, request, principal, payload)) is not None:
        return replayed  # type: ignore[return-value]
    contract = await contracts_service.create_contract(
        session, account_id=account_id, by=principal.user_id, now=clock.now(), **body.model_dump()
    )
    result = await _contract_detail(session, contract)
    await _remember(session, request, principal, payload, result.model_dump(mode="json"))
    return result


@router.get("/risk/contracts", summary="Contracts (filter by account, status, expiring within N days)")
async def list_contracts(
    session: SessionDep,
    principal: CurrentPrincipal,
    clock: ClockDep,
    page: Paging,
    account_id: str | None = None,
    status: Annotated[str | None, Query(pattern="^(draft|legal_review|approved|rejected)$")] = None,
    expiring_within_days: Annotated[int | None, Query(ge=0, le=3650)] = None,
) -> Page[ContractRead]:
    """Contracts the caller may see, by end date."""
    stmt = select(Contract).where(visible_accounts_clause(platform, principal, Contract.account_id))
    if account_id:
        stmt = stmt.where(Contract.account_id == account_id)
    if status:
        stmt = stmt.where(Contract.status == status)
    if expiring_within_days is not None:
        today = clock.now().date()
        stmt = stmt.where(Contract.end_on >= today, Contract.end_on <= today + timedelta(days=expiring_within_days))
    rows, total = await _count_and_rows(session, stmt, page, Contract.end_on, Contract.id)
    return Page[ContractRead](**_page([_contract_read(r) for r in rows], total, page))


@router.get("/risk/contracts/{contract_id}", summary="A contract with its checklist, review trail and reminders")
async def get_contract(
    contract_id: str, session: SessionDep, principal: CurrentPrincipal, response: Response
) -> ContractDetail:
    """The contract (ETag = version)."""
    contract = await contracts_service.get_contract(session, contract_id=contract_id)
    await ensure_account_access(session, platform, principal, contract.account_id)
    set_etag(response, contract.version)
    return await _contract_detail(session, contract)


@router.patch("/risk/contracts/{contract_id}", summary="Edit a contract that is not approved (If-Match)")
async def update_contract(
    contract_id: str,
    body: ContractUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: CurrentPrincipal,
    clock: ClockDep,
) -> ContractDetail:
    """Change fields or tick clauses of the checklist."""
    contract = await contracts_service.get_contract(session, contract_id=contract_id)
    await ensure_account_access(session, platform, principal, contract.account_id, write=True)
    check_if_match(request, contract.version)
    await contracts_service.update_contract(
        session, contract=contract, changes=body.model_dump(exclude_unset=True), now=clock.now()
    )
    set_etag(response, contract.version)
    return await _contract_detail(session, contract)


@router.post(
    "/risk/contracts/{contract_id}/transitions",
    summary="Review workflow: draft → legal_review → approved / rejected (→ draft)",
)
async def transition_contract(
    contract_id: str,
    body: ContractTransition,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: CurrentPrincipal,
    clock: ClockDep,
) -> ContractDetail:
    """Approving or rejecting needs a risk officer or supervisor; a missing mandatory clause blocks approval (409)."""
    contract = await contracts_service.get_contract(session, contract_id=contract_id)
    await ensure_account_access(session, platform, principal, contract.account_id, write=True)
    if body.status in ("approved", "rejected"):
        await require_roles(RISK_OFFICER, SUPERVISOR)(principal)
    check_if_match(request, contract.version)
    await contracts_service.transition_contract(
        session, contract=contract, target=body.status, note=body.note, by=principal.user_id, now=clock.now()
    )
    set_etag(response, contract.version)
    return await _contract_detail(session, contract)


@router.post("/risk/jobs/contract-reminders", summary="Run the contract expiry reminders now (normally periodic)")
async def run_contract_reminders(
    session: SessionDep, principal: CreditManager, clock: ClockDep
) -> list[ContractReminderRead]:
    """Send the 90/60/30-day reminders due at the service clock's now."""
    sent = await contracts_service.run_expiry_reminders(session, now=clock.now())
    return [ContractReminderRead.model_validate(r) for r in sent]


@router.post(
    "/risk/jobs/risk-watch",
    summary="Run the risk watch now: expire temporary limits, refresh overdue, utilisation and concentration signals",
)
async def run_risk_watch_now(session: SessionDep, principal: CreditManager, clock: ClockDep) -> dict[str, int]:
    """What the hourly job does, at the service clock's now."""
    return await run_risk_watch(session, now=clock.now())


# ---------------------------------------------------------------- views for the gateway


@router.get("/risk/views/accounts/{account_id}", summary="This service's section of the account overview")
async def account_view(
    account_id: str, session: SessionDep, principal: CurrentPrincipal, clock: ClockDep
) -> dict[str, Any]:
    """The risk section of the account 360 (composed by the gateway); shape in docs/risk.md."""
    account = await ensure_account_access(session, platform, principal, account_id)
    view: dict[str, Any] = to_json(await account_risk_view(session, account=account, today=clock.now().date()))
    return view


@router.get("/risk/views/portfolio", summary="This service's section of the portfolio board")
async def portfolio_view(session: SessionDep, principal: CurrentPrincipal, clock: ClockDep) -> dict[str, Any]:
    """The risk section of the supervisor's board (composed by the gateway); shape in docs/risk.md."""
    view: dict[str, Any] = to_json(await portfolio_risk_view(session, principal=principal, today=clock.now().date()))
    return view
