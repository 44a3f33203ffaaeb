"""The vectorised scoring model (scores/batch_scoring.py) and the bulk paths built on it: equal to the per-account
model, a full re-score job equal to the per-account portfolio scoring, and a batch of registrations whose SQL does
not grow with the portfolio."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, insert, select

from services.scoring.features import indicator_values
from services.scoring.models import platform
from services.scoring.registry import service as registry
from services.scoring.registry.models import Account
from services.scoring.registry.schemas import AccountCreate
from services.scoring.scores import portfolio
from services.scoring.scores.batch_scoring import (
    ACCOUNT_FIELDS,
    FEATURE_FIELDS,
    BatchModel,
    breakdown_texts,
    exact_values,
    indicator_columns,
    measure_of,
    score_values,
    tiers_of,
)
from services.scoring.scores.models import AccountFeatures, AccountScore, PortfolioState, TierChange
from services.scoring.scores.portfolio import PortfolioInputs, portfolio_rows, portfolio_tiers, read_inputs
from services.scoring.scores.rescore_jobs import request_rescore, run_rescore_job
from services.scoring.scoring_model import (
    INDICATORS,
    IndicatorWeight,
    ModelDefinition,
    Normalisation,
    ThresholdStep,
    TierPolicy,
    TopPercentRule,
    build_populations,
    compile_model,
    default_definition,
    parse_definition,
    score_account,
)
from tests.scoring.support import NOW, ZONE, Domain, actor, domain_database

D = Decimal

# ---------------------------------------------------------------- vectorised == per account

places = st.integers(min_value=0, max_value=4)
raw_values = st.one_of(
    st.none(),
    st.builds(lambda n, p: D(n).scaleb(-p), st.integers(min_value=-2_000_000, max_value=20_000_000), places),
    st.sampled_from([D(0), D("0.0050"), D("2.5"), D("0.005"), D("100"), D(3)]),
)


@st.composite
def normalisations(draw: st.DrawFn) -> Normalisation:
    method = draw(st.sampled_from(["bounds", "thresholds", "percentile"]))
    missing = draw(st.one_of(st.none(), st.sampled_from([D(0), D("3.5"), D(5)])))
    if method == "bounds":
        low = draw(st.sampled_from([D(0), D(-20), D(1), D(4)]))
        high = draw(st.sampled_from([D(10), D(8), D(8_000_000), D("0.3"), D(0)]).filter(lambda h: h != low))
        return Normalisation(method="bounds", min=low, max=high, missing=missing)
    if method == "thresholds":
        ats = sorted(draw(st.sets(st.sampled_from([D(-1), D(0), D(1), D("2.5"), D(3), D(10), D(1000)]), min_size=1)))
        scores = [draw(st.sampled_from([D(25), D("33.335"), D(50), D(100), D(0)])) for _ in ats]
        return Normalisation(
            method="thresholds", steps=[ThresholdStep(at=a, score=s) for a, s in zip(ats, scores)], missing=missing
        )
    return Normalisation(method="percentile", missing=missing)


@st.composite
def models(draw: st.DrawFn) -> ModelDefinition:
    codes = draw(st.lists(st.sampled_from(sorted(INDICATORS)), min_size=1, max_size=6, unique=True))
    cuts = sorted(draw(st.lists(st.integers(min_value=0, max_value=10_000), min_size=len(codes) - 1)))[: len(codes) - 1]
    bounds = [0, *cuts, 10_000]
    weights = [D(bounds[k + 1] - bounds[k]).scaleb(-2) for k in range(len(codes))]
    rule = draw(
        st.one_of(
            st.none(),
            st.builds(
                TopPercentRule,
                percent=st.sampled_from([D(10), D("33.3"), D(100), D(1)]),
                by=st.sampled_from(["annual_purchases", "annual_profit", "score"]),
            ),
        )
    )
    return ModelDefinition(
        indicators=[
            IndicatorWeight(code=c, weight=w, normalisation=draw(normalisations()))
            for c, w in zip(codes, weights, strict=True)
        ],
        tiers=TierPolicy(top_percent=rule),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    definition=models(),
    portfolio_values=st.lists(
        st.tuples(st.dictionaries(st.sampled_from(sorted(INDICATORS)), raw_values), st.booleans()),
        min_size=1,
        max_size=25,
    ),
)
def test_vectorised_scores_tiers_and_breakdowns_equal_the_per_account_model(definition, portfolio_values):
    values = {f"a{k:03d}": v for k, (v, _) in enumerate(portfolio_values)}
    active = [f"a{k:03d}" for k, (_, former) in enumerate(portfolio_values) if not former]
    for v in values.values():  # the top-N % measures are never missing (``indicator_values``: ``or 0``)
        v["annual_purchases"] = v.get("annual_purchases") or D(0)
        v["annual_profit"] = v.get("annual_profit") or D(0)
    populations = build_populations(definition, (values[i] for i in active))
    compiled = compile_model(definition)
    expected = {i: score_account(compiled, v, populations) for i, v in values.items()}
    inputs = PortfolioInputs(values=values, active=active)
    expected_tiers = portfolio_tiers(definition.tiers, inputs, {i: r.total for i, r in expected.items()})

    columns, scores = score_values(definition, values, active)
    tiers = tiers_of(definition.tiers, columns, scores.totals, measure=measure_of(definition.tiers, columns))
    texts = breakdown_texts(BatchModel.of(definition), columns, scores, range(len(columns)))
    for k, account_id in enumerate(columns.ids):
        result = expected[account_id]
        assert str(scores.total(k)) == str(result.total)
        assert json.loads(texts[k]) == result.compact()
        assert tiers[k] == expected_tiers[account_id]


ratings = st.one_of(st.none(), st.builds(lambda n: D(n).scaleb(-4), st.integers(min_value=0, max_value=100_000)))
money = st.one_of(st.none(), st.builds(lambda n: D(n).scaleb(-4), st.integers(min_value=-(10**12), max_value=10**13)))


@settings(max_examples=30, deadline=None)
@given(
    rows=st.lists(
        st.fixed_dictionaries(
            {
                "id": st.uuids().map(str),
                "cooperation_since": st.one_of(st.none(), st.dates(date(2000, 1, 1), date(2027, 1, 1))),
                "industry_leadership": ratings,
                "reference_value": ratings,
                "channel_value": ratings,
                "product_fit": ratings,
                "expected_growth_pct": ratings,
                "annual_purchases": money,
                "annual_profit": money,
                "previous_year_purchases": money,
                "active_months": st.one_of(st.none(), st.integers(0, 12)),
                "satisfaction_avg": st.one_of(st.none(), st.sampled_from([D("1.00"), D("3.50"), D("4.67")])),
                "escalations": st.integers(0, 5),
                "credit_grade": st.one_of(st.none(), st.sampled_from("ABCDEX")),
                "highest_contact_level": st.one_of(st.none(), st.integers(0, 3)),
            }
        ),
        min_size=1,
        max_size=20,
    ),
    profit=st.sampled_from([D(0), D("12345.6789"), D(10**9), D(-5)]),
)
def test_indicator_columns_equal_the_per_account_indicator_values(rows, profit):
    today = NOW.date()
    columns = {name: [row[name] for row in rows] for name in (*ACCOUNT_FIELDS, *FEATURE_FIELDS)}
    got = {
        code: exact_values(column)
        for code, column in indicator_columns(columns, today=today, portfolio_profit=profit).items()
    }
    for k, row in enumerate(rows):
        expected = indicator_values(account=row, features=row, today=today, portfolio_profit=profit)
        assert {code: str(got[code][k]) for code in expected} == {code: str(v) for code, v in expected.items()}


# ---------------------------------------------------------------- the bulk paths on a database


def _seed_rows(n: int, start: int = 0) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    accounts, features, projection = [], [], []
    for k in range(start, start + n):
        account_id = str(uuid.UUID(int=k + 1))
        accounts.append(
            {
                "id": account_id,
                "name": f"客户{k:05d}",
                "industry": "汽车",
                "region": "华东",
                "currency": "CNY",
                "listed": False,
                "status": "former" if k % 13 == 5 else "key_account",
                "owner_id": "am-li",
                "team_member_ids": [],
                "cooperation_since": date(2026, 1, 1) - timedelta(days=97 * k % 5000),
                "industry_leadership": D(k * 7 % 101).scaleb(-1),
                "reference_value": None if k % 5 == 0 else D(k % 11),
                "channel_value": D(k * 3 % 10),
                "product_fit": D(k % 7),
                "expected_growth_pct": D(k % 40 - 5),
                "version": 1,
                "created_at": NOW,
                "updated_at": NOW,
            }
        )
        purchases = D(((k * 7919) % 997) * 10_000 + k)
        features.append(
            {
                "account_id": account_id,
                "annual_purchases": purchases,
                "annual_profit": (purchases * D(k % 30 + 5) / 100).quantize(D(1)),
                "previous_year_purchases": purchases * D(k % 9 + 6) / 10,
                "active_months": k % 13,
                "product_lines": [],
                "satisfaction_avg": None if k % 3 == 0 else D(k % 41 + 10).scaleb(-1),
                "satisfaction_count": 1,
                "escalations": k % 4,
                "credit_grade": "ABCDE"[k % 5] if k % 6 else None,
                "highest_contact_level": k % 4,
                "updated_at": NOW,
            }
        )
        projection.append(
            {"account_id": account_id, "name": f"客户{k:05d}", "team_member_ids": [], "updated_at": NOW, "active": True}
        )
    return accounts, features, projection


@pytest.fixture
async def database(make_database: Any) -> AsyncIterator[Domain]:
    """A migrated scoring database on each backend (SQLite; PostgreSQL when KAM_TEST_POSTGRES_URL is set)."""
    async with domain_database(await make_database("scoring")) as prepared:
        yield prepared


async def _seed(domain: Domain, n: int, start: int = 0) -> None:
    accounts, features, projection = _seed_rows(n, start)
    async with domain.db.transaction() as session:
        await session.execute(insert(Account.__table__), accounts)
        await session.execute(insert(AccountFeatures.__table__), features)
        await session.execute(insert(platform.accounts), projection)


async def _publish_top_rule_model(domain: Domain) -> None:
    from services.scoring.scores.models import ScoringModelVersion

    definition = default_definition()
    definition.tiers = TierPolicy(top_percent=TopPercentRule(percent=D(20), by="annual_purchases"))
    async with domain.db.transaction() as session:
        for model in (await session.execute(select(ScoringModelVersion))).scalars():
            model.status = "retired"
        session.add(
            ScoringModelVersion(
                version=99,
                name="top 20 %",
                status="published",
                definition=definition.model_dump(mode="json"),
                created_by="sup-wang",
                created_at=NOW,
                published_by="sup-wang",
                published_at=NOW,
            )
        )


async def _run_job(domain: Domain) -> Any:
    async with domain.db.transaction() as session:
        job, _ = await request_rescore(session, trigger="manual", actor_id="sup-wang", now=domain.now())
    return await run_rescore_job(
        domain.db, platform, publisher=domain.publisher, job_id=job.id, now=domain.now, zone=ZONE, chunk_size=7
    )


async def test_a_full_rescore_job_stores_what_the_per_account_model_gives_and_one_event_per_move(database):
    domain = database
    await _seed(domain, 60)
    await _publish_top_rule_model(domain)
    first = await _run_job(domain)
    async with domain.db.transaction() as session:
        from services.scoring.scores.models import ScoringModelVersion

        model = await session.get(ScoringModelVersion, 99)
        definition = parse_definition(model.definition)
        inputs = await read_inputs(await portfolio_rows(session), domain.at().today)
        results, tiers = await portfolio.score_portfolio(definition, inputs)  # the per-account path
        stored = {s.account_id: s for s in (await session.execute(select(AccountScore))).scalars()}
        accounts = {a.id: a for a in (await session.execute(select(Account))).scalars()}
        history = (await session.execute(select(TierChange))).scalars().all()
    assert len(stored) == 60 and first.done == 60
    for account_id, result in results.items():
        assert (stored[account_id].total, stored[account_id].computed_tier) == (result.total, tiers[account_id])
        assert stored[account_id].breakdown == result.compact()
        assert (accounts[account_id].tier, accounts[account_id].score) == (tiers[account_id], result.total)
    assert sum(1 for t in tiers.values() if t in ("strategic", "key")) == 11  # ceil(20 % of the 55 active)
    events = await domain.events("accounts.tier_changed")
    assert len(events) == len(history) == first.tier_changes == 60  # every tier new: one event per move
    again = await _run_job(domain)
    assert again.tier_changes == 0 and len(await domain.events("accounts.tier_changed")) == 60


@contextmanager
def statements(domain: Domain) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engine = domain.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def _register_batch(domain: Domain, first: int) -> list[Account]:
    bodies = [
        AccountCreate.model_validate(
            {
                "name": f"新客户{first + k}",
                "industry": "汽车",
                "region": "华东",
                "owner_id": "am-li",
                "confirm_not_duplicate": True,
            }
        )
        for k in range(5)
    ]
    async with domain.db.transaction() as session:
        return await registry.register_accounts(
            session, platform, publisher=domain.publisher, bodies=bodies, actor=actor(), at=domain.at()
        )


async def test_a_batch_on_a_large_portfolio_runs_the_same_statements_whatever_its_size_and_the_catch_up_settles_it(
    database, monkeypatch
):
    domain = database
    monkeypatch.setattr(portfolio, "BATCH_RESCORE_MAX_ACCOUNTS", 20)
    await _seed(domain, 30)
    await _run_job(domain)
    counts = []
    for size, first in ((30, 0), (90, 100)):
        if size > 30:
            await _seed(domain, 60, start=30)
        before = domain.now()
        domain.clock.advance(timedelta(minutes=1))
        with statements(domain) as seen:
            batch = await _register_batch(domain, first)
        counts.append(len(seen))
        async with domain.db.transaction() as session:
            written = select(func.count()).select_from(AccountScore).where(AccountScore.scored_at > before)
            scored = await session.scalar(written)
            state = await session.get(PortfolioState, 1)
            new = [await session.get(AccountScore, a.id) for a in batch]
        assert all(s is not None for s in new)  # the new accounts are scored at once …
        assert state.scored_on is None  # … and the portfolio is left to the catch-up job
        assert scored == len(batch)  # and no other account was rewritten
    assert counts[0] == counts[1]  # the statements of a batch do not grow with the portfolio
    await _run_job(domain)  # the catch-up: afterwards everything is what a full re-score gives
    async with domain.db.transaction() as session:
        inputs = await read_inputs(await portfolio_rows(session), domain.at().today)
        results, tiers = await portfolio.score_portfolio(default_definition(), inputs)
        stored = {
            s.account_id: (s.total, s.computed_tier) for s in (await session.execute(select(AccountScore))).scalars()
        }
    assert stored == {i: (r.total, tiers[i]) for i, r in results.items()}
