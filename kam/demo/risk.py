"""Demo risk data: credit profiles across grades A–E, limits (maker-checker), overdue receivables, an over-limit
account, a blocked order, an industry policy alert, contracts with missing clauses (中文), FX rates and a US-dollar
receivable converted into its account's CNY limit."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from kam.demo import DemoContext, if_match
from shared.clock import DEFAULT_BUSINESS_ZONE, business_date, business_zone

WAIT_FOR_ACCOUNTS_SECONDS = 20.0
CONCURRENCY = 6
PROFILED_ACCOUNTS = 10  # two per grade keeps the load quick; the rest of the book stays unassessed
TIER_ORDER = ("strategic", "key", "growth", "maintain")
CHECKER = "risk-chen"  # the demo risk officer approves the limits the loader requests (maker ≠ checker)

# Grade → (scorecard inputs, limit, invoices as (amount, paid, days since issue, days until due)).
# Inputs are explicit so each account lands in its intended grade whatever its receivables say.
PROFILES: dict[str, tuple[dict[str, str], str, list[tuple[str, str, int, int]]]] = {
    "A": (
        {
            "days_sales_outstanding": "25",
            "days_past_due": "0",
            "overdue_ratio": "0.01",
            "revenue_trend": "0.15",
            "debt_ratio": "0.35",
            "operating_cash_flow_margin": "0.12",
            "external_rating": "AA",
        },
        "8000000",
        [("2000000", "0", 20, 40), ("1200000", "1200000", 70, -10)],
    ),
    "B": (
        {
            "days_sales_outstanding": "40",
            "days_past_due": "10",
            "overdue_ratio": "0.10",
            "revenue_trend": "0.02",
            "debt_ratio": "0.55",
            "operating_cash_flow_margin": "0.06",
            "external_rating": "A",
        },
        "5000000",
        [("3000000", "0", 15, 45), ("1200000", "200000", 55, -12)],
    ),
    "C": (
        {
            "days_sales_outstanding": "55",
            "days_past_due": "25",
            "overdue_ratio": "0.20",
            "revenue_trend": "-0.05",
            "debt_ratio": "0.70",
            "operating_cash_flow_margin": "0.01",
            "external_rating": "BBB",
        },
        "3000000",
        [("1500000", "0", 10, 50), ("1000000", "0", 85, -45)],
    ),
    "D": (
        {
            "days_sales_outstanding": "80",
            "days_past_due": "28",
            "overdue_ratio": "0.40",
            "revenue_trend": "-0.20",
            "debt_ratio": "0.85",
            "operating_cash_flow_margin": "-0.03",
            "external_rating": "BB",
        },
        "1500000",
        [("1000000", "0", 20, 40), ("800000", "0", 110, -75)],  # over its limit
    ),
    "E": (
        {
            "days_sales_outstanding": "120",
            "days_past_due": "95",
            "overdue_ratio": "0.60",
            "revenue_trend": "-0.30",
            "debt_ratio": "0.95",
            "operating_cash_flow_margin": "-0.10",
            "external_rating": "CCC",
        },
        "500000",
        [("600000", "0", 130, -100), ("300000", "100000", 30, 30)],  # over limit, over 90 days overdue
    ),
}
GRADES = tuple(PROFILES)
# Reference rates against CNY (1 unit = rate yuan), set a month ago and today; the A account also owes dollars.
DEMO_RATES: dict[str, tuple[str, str]] = {
    "USD": ("7.1650", "7.1800"),
    "EUR": ("7.7900", "7.8200"),
    "JPY": ("0.0481", "0.0478"),
    "HKD": ("0.9170", "0.9190"),
}
USD_INVOICE = ("150000", 20, 40)  # amount, days since issue, days until due
ALL_CLAUSES = (
    "rights_obligations",
    "ip_ownership",
    "confidentiality",
    "data_protection",
    "payment_terms",
    "liability_cap",
    "termination",
    "dispute_resolution",
)


def _checker_headers(ctx: DemoContext) -> dict[str, str]:
    """Headers of the demo risk officer who approves limit requests (a second person)."""
    token_for: Callable[[str, list[str]], str] | None = ctx.shared.get("token_for")
    if token_for is None:
        from kam.registry import APPS
        from shared.auth import mint_token

        settings = APPS["gateway"].settings()
        token = mint_token(
            secret=settings.jwt_secret,
            user_id=CHECKER,
            roles=["risk_officer"],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            name="陈风控 Chen (risk officer)",
        )
    else:
        token = token_for(CHECKER, ["risk_officer"])
    return {"Authorization": f"Bearer {token}"}


async def _ok(response: httpx.Response) -> dict[str, Any]:
    """The JSON body of a successful response; a failed call stops the demo with its problem detail."""
    if response.status_code >= 400:
        request = response.request
        raise RuntimeError(f"{request.method} {request.url.path}: {response.status_code} {response.text}")
    body = response.json() if response.content else {}
    return body if isinstance(body, dict) else {"items": body}


async def _wait_for_accounts(client: httpx.AsyncClient, account_ids: list[str]) -> None:
    """Poll our own API until every account reached the risk projection over NATS (bounded)."""
    deadline = time.monotonic() + WAIT_FOR_ACCOUNTS_SECONDS
    pending = list(account_ids)
    while pending:
        codes = await asyncio.gather(*(client.get(f"/risk/accounts/{a}/credit") for a in pending))
        pending = [a for a, r in zip(pending, codes, strict=True) if r.status_code != 200]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(pending)} demo accounts did not reach the risk service in time")
        await asyncio.sleep(0.2)


async def _credit_profile(
    client: httpx.AsyncClient, checker: dict[str, str], index: int, account: dict[str, Any]
) -> tuple[str, str]:
    """Limit (requested by the loader, approved by the risk officer), assessment, and for D/E a credit check."""
    account_id = account["id"]
    grade = GRADES[index % len(GRADES)]
    inputs, limit, _ = PROFILES[grade]
    request = await _ok(
        await client.post(
            f"/risk/accounts/{account_id}/limit-requests",
            json={"requested_limit": limit, "reason": f"年度授信 {grade} 级客户 annual credit line"},
        )
    )
    await _ok(
        await client.post(f"/risk/limit-requests/{request['id']}/approve", json={"note": "复核通过"}, headers=checker)
    )
    assessment = await _ok(await client.post(f"/risk/accounts/{account_id}/assessments", json=inputs))
    if grade in ("D", "E"):
        await _ok(
            await client.post(
                f"/risk/accounts/{account_id}/credit-check",
                json={"amount": "200000", "order_reference": f"SO-DEMO-{index + 1:02d}"},
            )
        )
    if grade == "D":
        await _ok(
            await client.post(
                f"/risk/accounts/{account_id}/signals",
                json={
                    "value": 3,
                    "title": "经营性现金流连续两季为负 Operating cash flow negative two quarters running",
                    "reference": "Q-report",
                },
            )
        )
    return account["name"], str(assessment["grade"])


def _spread_over_tiers(accounts: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """Up to ``count`` accounts taken in turn from each tier, so every tier shows on the heat map."""
    by_tier: dict[str, list[dict[str, Any]]] = {}
    for account in accounts:
        by_tier.setdefault(account.get("tier") or "", []).append(account)
    order = sorted(by_tier, key=lambda t: TIER_ORDER.index(t) if t in TIER_ORDER else len(TIER_ORDER))
    picked: list[dict[str, Any]] = []
    while len(picked) < min(count, len(accounts)):
        for tier in order:
            if by_tier[tier] and len(picked) < count:
                picked.append(by_tier[tier].pop(0))
    return picked


async def load(ctx: DemoContext) -> dict[str, Any]:
    """Load the risk demo through the public API (skipped when already loaded)."""
    client = ctx.client("risk")
    accounts: list[dict[str, Any]] = list(ctx.shared.get("accounts", []))
    if not accounts:
        return {"skipped": "no accounts"}
    profiled = _spread_over_tiers(accounts, PROFILED_ACCOUNTS)
    # Registrations arrive in order over one stream: once the last one is here, the earlier ones are too.
    await _wait_for_accounts(client, sorted({a["id"] for a in [*profiled, accounts[-1]]}))
    if (await _ok(await client.get("/risk/limit-requests", params={"limit": 1})))["total"]:
        return {"skipped": "already loaded"}
    checker = _checker_headers(ctx)
    # The business date in the company's zone (KAM_TIMEZONE), as the services count it.
    today = business_date(datetime.now(UTC), business_zone(os.environ.get("KAM_TIMEZONE", DEFAULT_BUSINESS_ZONE)))
    summary: dict[str, Any] = {"contracts": 0}

    # FX rates first: the receivables below include one in US dollars.
    rates = [
        {"currency": currency, "valid_on": (today - timedelta(days=30 * (1 - i))).isoformat(), "rate": rate}
        for currency, pair in DEMO_RATES.items()
        for i, rate in enumerate(pair)
    ]
    summary["fx_rates"] = (await _ok(await client.post("/risk/fx-rates/import", json={"rates": rates})))["set"]

    # Receivables arrive as one feed, as an ERP would send them.
    invoices = [
        {
            "account_id": account["id"],
            "number": f"INV-{index + 1:02d}-{number}",
            "amount": amount,
            "paid_amount": paid,
            "issued_on": (today - timedelta(days=issued_ago)).isoformat(),
            "due_on": (today + timedelta(days=due_in)).isoformat(),
        }
        for index, account in enumerate(profiled)
        for number, (amount, paid, issued_ago, due_in) in enumerate(PROFILES[GRADES[index % len(GRADES)]][2], 1)
    ]
    amount, issued_ago, due_in = USD_INVOICE
    invoices.append(
        {
            "account_id": profiled[0]["id"],  # grade A: well within its limit, converted at today's rate
            "number": "INV-01-USD",
            "amount": amount,
            "currency": "USD",
            "issued_on": (today - timedelta(days=issued_ago)).isoformat(),
            "due_on": (today + timedelta(days=due_in)).isoformat(),
        }
    )
    await _ok(await client.post("/risk/invoices/import", json={"invoices": invoices}))

    # Credit profiles, a few accounts at a time.
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(index: int, account: dict[str, Any]) -> tuple[str, str]:
        async with gate:
            return await _credit_profile(client, checker, index, account)

    graded = await asyncio.gather(*(one(i, a) for i, a in enumerate(profiled)))
    summary["grades"] = dict(Counter(grade for _, grade in graded))
    summary["over_limit"] = sum(1 for _, grade in graded if grade in ("D", "E"))

    # One industry policy change, entered once, alerting every account of the most common industry.
    industries = Counter(a.get("industry") for a in accounts if a.get("industry"))
    if industries:
        industry = industries.most_common(1)[0][0]
        policy = await _ok(
            await client.post(
                "/risk/industry-policies",
                json={
                    "industry": industry,
                    "title": f"{industry}行业产能调控与环保新规 Capacity and environmental rules tightened",
                    "description": "主管部门发布新规，压减产能并提高环保标准，预计影响客户订单与回款节奏。",
                    "impact": 3,
                    "effective_on": (today + timedelta(days=30)).isoformat(),
                },
            )
        )
        summary["industry_policy"] = {"industry": industry, "accounts_affected": policy["accounts_affected"]}

    # Contracts: one approved and expiring soon, one missing the PIPL clause waiting in legal review.
    first, second = profiled[0], profiled[min(1, len(profiled) - 1)]
    expiring = await _ok(
        await client.post(
            f"/risk/accounts/{first['id']}/contracts",
            json={
                "title": f"{first['name']} 年度供货框架协议",
                "contract_type": "framework",
                "value": "12000000",
                "start_on": (today - timedelta(days=290)).isoformat(),
                "end_on": (today + timedelta(days=75)).isoformat(),
                "auto_renewal": False,
                "clauses": dict.fromkeys(ALL_CLAUSES, True),
            },
        )
    )
    for status in ("legal_review", "approved"):
        expiring = await _ok(
            await client.post(
                f"/risk/contracts/{expiring['id']}/transitions",
                json={"status": status, "note": "条款齐全，同意" if status == "approved" else ""},
                headers={**(checker if status == "approved" else {}), **if_match(expiring)},
            )
        )
    missing = await _ok(
        await client.post(
            f"/risk/accounts/{second['id']}/contracts",
            json={
                "title": f"{second['name']} 数据服务合同",
                "contract_type": "service",
                "value": "2600000",
                "start_on": today.isoformat(),
                "end_on": (today + timedelta(days=730)).isoformat(),
                "clauses": {c: c not in ("data_protection", "liability_cap") for c in ALL_CLAUSES},
            },
        )
    )
    await _ok(
        await client.post(
            f"/risk/contracts/{missing['id']}/transitions",
            json={"status": "legal_review", "note": "请法务审核"},
            headers=if_match(missing),
        )
    )
    summary["contracts"] = 2
    reminders = await client.post("/risk/jobs/contract-reminders")
    await _ok(reminders)
    summary["reminders"] = len(reminders.json())
    # Revenue concentration needs every account's actuals (from goals); compute it now rather than in an hour.
    await _ok(await client.post("/risk/jobs/risk-watch"))
    return summary
