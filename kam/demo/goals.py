"""Goals demo: three years of monthly sales by product line (through the bulk CSV import), targets for the
current year (approved, some split by quarter and product line, some at risk), team targets, and action
plans in every state.

Uses ``ctx.shared["accounts"]`` from the scoring loader and waits (bounded) until they reached the goals
projection over NATS.
"""

from __future__ import annotations

import asyncio
import io
import random
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from kam.demo import DemoContext, if_match
from kam.registry import APPS
from shared.clock import business_date

WAIT_FOR_ACCOUNTS_SECONDS = 20
APPROVER = "sup-wang"  # the demo supervisor (kam.demo.DEMO_USERS)
PRODUCT_LINES = ["工业网关", "智能传感器", "PLC控制器", "SCADA软件", "工业云平台", "运维服务"]
REGIONS = ["华东", "华南", "华北", "西南", "华中"]
# Monthly shape of industrial purchasing: slow around Spring Festival, strong at quarter and year ends.
SEASON = [Decimal(w) for w in ("0.6", "0.5", "0.8", "0.8", "0.8", "0.9", "0.8", "0.8", "0.9", "0.9", "1.0", "1.2")]
UNIT_PRICE = {
    "工业网关": Decimal(2800),
    "智能传感器": Decimal(450),
    "PLC控制器": Decimal(6800),
    "SCADA软件": Decimal(58000),
    "工业云平台": Decimal(120000),
    "运维服务": Decimal(15000),
}
MARGIN = {
    "工业网关": Decimal("0.32"),
    "智能传感器": Decimal("0.41"),
    "PLC控制器": Decimal("0.28"),
    "SCADA软件": Decimal("0.65"),
    "工业云平台": Decimal("0.58"),
    "运维服务": Decimal("0.47"),
}
ACTIONS = [
    ("高层战略对话：年度合作规划", "open", 20),
    ("联合市场部推广定制化方案", "in_progress", -10),
    ("产品部快速迭代网关固件", "done", -40),
    ("交叉销售：PLC控制器试点", "open", -15),  # overdue
    ("区域扩展：华南工厂导入", "in_progress", 45),
    ("促销活动：年末备货返利", "cancelled", -5),
]


async def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        request = response.request
        raise RuntimeError(f"{request.method} {request.url.path}: {response.status_code} {response.text}")
    return response.json() if response.content else {}


def _as_supervisor(ctx: DemoContext) -> dict[str, str]:
    """Approvals are made by the demo supervisor: goals checks approvers against the users it knows, and the
    loader's own integration key is not a person."""
    token_for = ctx.shared.get("token_for")
    if token_for is None:
        return {}
    return {"Authorization": f"Bearer {token_for(APPROVER, ['supervisor'])}"}


async def _wait_for_accounts(client: httpx.AsyncClient, account_ids: list[str]) -> None:
    """Poll our own API until every account reached the goals projection over NATS (bounded)."""
    deadline = time.monotonic() + WAIT_FOR_ACCOUNTS_SECONDS
    pending = list(account_ids)
    while pending:
        pending = [a for a in pending if (await client.get(f"/goals/views/accounts/{a}")).status_code != 200]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(pending)} demo accounts did not reach the goals service in time")
        await asyncio.sleep(0.2)


def sales_csv(accounts: list[dict[str, Any]], today: date) -> tuple[bytes, dict[str, dict[int, Decimal]]]:
    """Three years of monthly sales by product line up to last month; also revenue by account and year."""
    rng = random.Random(2026)
    out = io.StringIO()
    out.write("account_id,date,product_line,region,quantity,revenue,cost\n")
    yearly: dict[str, dict[int, Decimal]] = {}
    first_year = today.year - 2
    for index, account in enumerate(accounts):
        size = Decimal(rng.choice([80_000, 150_000, 250_000, 400_000]))
        lines = rng.sample(PRODUCT_LINES, k=2 + index % 4)
        region = account.get("region") or REGIONS[index % len(REGIONS)]
        growth = Decimal(rng.choice(["1.05", "1.12", "1.20", "0.85"]))  # 0.85: a declining account
        totals = yearly.setdefault(account["id"], {})
        for year in range(first_year, today.year + 1):
            for month in range(1, 13):
                if (year, month) >= (today.year, today.month):
                    break
                level = size * growth ** (year - first_year) * SEASON[month - 1]
                for n, line in enumerate(lines):
                    if year == first_year and n == len(lines) - 1:
                        continue  # the newest product line came later: new business
                    share = Decimal(1) / Decimal(len(lines))
                    revenue = (level * share * Decimal(rng.uniform(0.85, 1.15))).quantize(Decimal("0.01"))
                    price = UNIT_PRICE[line]
                    quantity = max(Decimal(1), (revenue / price).quantize(Decimal(1)))
                    cost = (revenue * (1 - MARGIN[line])).quantize(Decimal("0.01"))
                    day = date(year, month, 1 + rng.randrange(27))
                    line_region = region if n % 3 else REGIONS[(index + n) % len(REGIONS)]
                    out.write(f"{account['id']},{day.isoformat()},{line},{line_region},{quantity},{revenue},{cost}\n")
                    totals[year] = totals.get(year, Decimal(0)) + revenue
    return out.getvalue().encode("utf-8"), yearly


async def load(ctx: DemoContext) -> dict[str, Any]:
    """Load the goals demo through the API (skipped when already loaded)."""
    client = ctx.client("goals")
    accounts: list[dict[str, Any]] = list(ctx.shared.get("accounts", []))
    if not accounts:
        return {"skipped": "no accounts"}
    await _wait_for_accounts(client, [a["id"] for a in accounts])
    if (await _ok(await client.get("/goals/targets", params={"limit": 1})))["total"]:
        return {"skipped": "already loaded"}
    # The service counts periods and due dates in the company's zone; so does the plan.
    today = business_date(datetime.now(UTC), APPS["goals"].settings().zone)
    body, yearly = sales_csv(accounts, today)
    job = await _ok(
        await client.post(
            "/goals/imports",
            params={"batch_id": f"demo-sales-{today.year}", "filename": "demo-sales.csv", "wait": "true"},
            content=body,
            headers={"Content-Type": "text/csv"},
        )
    )
    year = today.year
    approved: list[dict[str, Any]] = []
    drafts: list[dict[str, Any]] = []
    for index, account in enumerate(accounts):
        last_year = yearly.get(account["id"], {}).get(year - 1, Decimal(100_000))
        # Most accounts get a stretching but reachable goal; every fifth an ambitious one (it will be at risk).
        uplift = Decimal("1.60") if index % 5 == 0 else Decimal("1.10")
        revenue_target = (last_year * uplift).quantize(Decimal("1000"))
        approved.append(
            {
                "account_id": account["id"],
                "metric": "revenue",
                "period": str(year),
                "target_value": str(revenue_target),
                "stretch_value": str((revenue_target * Decimal("1.15")).quantize(Decimal("1000"))),
                "note": "年度销售额目标",
            }
        )
        approved.append(
            {
                "account_id": account["id"],
                "metric": "gross_profit",
                "period": str(year),
                "target_value": str((revenue_target * Decimal("0.42")).quantize(Decimal("1000"))),
            }
        )
        if index < 12:
            # Penetration targets for a dozen accounts; every other one stays a draft awaiting approval.
            (approved if index % 2 == 0 else drafts).append(
                {
                    "account_id": account["id"],
                    "metric": "product_penetration",
                    "period": str(year),
                    "target_value": "66.67",
                    "note": "产品渗透率：6条产品线中至少4条",
                }
            )
    # The year's targets for the whole portfolio in two requests (年度目标下达), the approved ones at once.
    supervisor = _as_supervisor(ctx)
    created = await _ok(
        await client.post("/goals/targets/batch", json={"targets": approved, "approve": True}, headers=supervisor)
    )
    if drafts:
        await _ok(await client.post("/goals/targets/batch", json={"targets": drafts}))
    revenue_targets = [t for t in created if t["metric"] == "revenue"]
    gate = asyncio.Semaphore(3)  # SQLite serialises writes: more in flight only queue
    actions = 0

    async def plan(index: int, target: dict[str, Any]) -> None:
        nonlocal actions
        async with gate:
            if index % 3 == 0:
                await _ok(
                    await client.post(
                        f"/goals/targets/{target['id']}/split",
                        json={"into": "quarters", "method": "seasonal", "template": "industrial"},
                        headers=if_match(target),
                    )
                )
            # Action plans (every state, some overdue) for the first eight accounts keep the load short.
            for n, (title, status, due_in) in enumerate(ACTIONS[: 3 + index % 4] if index < 8 else []):
                await _ok(
                    await client.post(
                        f"/goals/targets/{target['id']}/actions",
                        json={
                            "title": title,
                            "owner_id": target.get("owner_id") or "am-li",
                            "due_date": (today + timedelta(days=due_in + n)).isoformat(),
                            "expected_impact": str(
                                (Decimal(target["target_value"]) * Decimal("0.05")).quantize(Decimal("100"))
                            ),
                            "linked_metric": "revenue",
                            "status": status,
                        },
                    )
                )
                actions += 1

    await asyncio.gather(*(plan(i, t) for i, t in enumerate(revenue_targets)))
    # An explicit team target for one account manager; the other's rolls up from the accounts.
    owners = sorted({a["owner_id"] for a in accounts if a.get("owner_id")})
    if owners:
        rolled = await _ok(await client.get("/goals/team-targets", params={"period": str(year), "owner_id": owners[0]}))
        revenue_row = next((r for r in rolled if r["metric"] == "revenue"), None)
        if revenue_row:
            team = await _ok(
                await client.post(
                    "/goals/targets",
                    json={
                        "owner_id": owners[0],
                        "metric": "revenue",
                        "period": str(year),
                        "target_value": str(Decimal(revenue_row["rolled_up"]) * Decimal("1.05")),
                        "note": "团队目标（高于客户目标之和5%）",
                    },
                )
            )
            await _ok(
                await client.post(f"/goals/targets/{team['id']}/approve", headers={**supervisor, **if_match(team)})
            )
    at_risk = (await _ok(await client.get("/goals/targets", params={"at_risk": "true", "limit": 1})))["total"]
    return {
        "sales_rows": job["accepted"],
        "rejected_rows": job["rejected"],
        "targets": len(created),
        "draft_targets": len(drafts),
        "action_items": actions,
        "at_risk_targets": at_risk,
    }
