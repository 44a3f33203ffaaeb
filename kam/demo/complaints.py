"""Demo complaints: every state of the closed loop, some breached, some low-satisfaction revisits (中文)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from kam.demo import DemoContext, if_match

WAIT_FOR_ACCOUNTS_SECONDS = 20.0
DEMO_ACCOUNTS = 6  # complaints go to the highest-tier accounts first
TIER_ORDER = {"strategic": 0, "key": 1, "growth": 2, "maintain": 3}

# (title, description, category, severity, hours since the customer complained, steps)
# A step is (action, body); the loader walks them in order through the public API.
SCENARIOS: tuple[tuple[str, str, str, str, float, tuple[tuple[str, dict[str, Any]], ...]], ...] = (
    (
        "控制器批次故障",
        "客户反映第三季度交付的 PLC 控制器批次在产线上频繁死机，影响两条产线正常运行，要求24小时内给出答复。",
        "product_quality",
        "critical",
        0.5,
        (),
    ),
    (
        "发票金额与合同不符",
        "客户财务指出10月份发票单价高于年度框架合同约定价格，要求重开发票。",
        "billing_pricing",
        "high",
        30,
        (),
    ),
    (
        "到货延误一周",
        "华东仓发出的备件比承诺交期晚到7天，客户产线因此停线半天。",
        "delivery_timeliness",
        "high",
        6,
        (("acknowledge", {"message": "您好，我们已收到您的投诉，物流部正在核查延误原因，今天下班前给您答复。"}),),
    ),
    (
        "技术支持响应慢",
        "客户工程师反映400热线多次转接，问题两天无人跟进。",
        "communication_efficiency",
        "medium",
        3,
        (
            ("acknowledge", {"message": "非常抱歉给您带来不便，已指定专人跟进。"}),
            ("investigate", {"message": "调取热线记录，核查转接流程"}),
            (
                "tasks",
                {
                    "department": "after_sales",
                    "title": "梳理热线转接规则并回访客户工程师",
                    "assignee_id": "owner",  # the complaint's owner: a known user on the account
                    "due_in_hours": 20,
                },
            ),
        ),
    ),
    (
        "包装破损导致货损",
        "客户收货时发现三箱包装破损，部分传感器外壳碎裂。",
        "delivery_timeliness",
        "medium",
        3.5,
        (
            ("acknowledge", {"message": "已收到，照片已转质量部和物流部。"}),
            ("investigate", {"message": "联系承运商调取运输记录"}),
            ("propose-solution", {"message": "补发破损货物，并由承运商承担损失；请确认是否接受。"}),
            ("pause", {"reason": "等待客户确认补发方案及收货时间"}),
        ),
    ),
    (
        "合同保密条款争议",
        "客户法务认为我方在案例宣传中使用了其项目信息，违反保密条款。",
        "contract_compliance",
        "high",
        2,
        (
            ("acknowledge", {"message": "我们高度重视，已暂停相关宣传材料并请法务核查。"}),
            ("investigate", {"message": "法务部核查宣传材料来源"}),
            ("resolve", {"message": "已撤下全部相关材料，并书面致歉。"}),
        ),
    ),
    (
        "客服态度问题",
        "客户采购经理投诉我方客服在电话中态度生硬。",
        "service_attitude",
        "low",
        1.5,
        (
            ("acknowledge", {"message": "非常抱歉，我们将立即调查并改进。"}),
            ("resolve", {"message": "已对相关客服进行培训，并由主管致电道歉。"}),
            ("revisit", {"satisfaction": 4, "comment": "道歉诚恳，希望以后注意。"}),
        ),
    ),
    (
        "固件升级后通讯中断",
        "客户升级固件后设备与 MES 系统通讯中断，影响生产数据采集。",
        "product_quality",
        "high",
        2.5,
        (
            ("acknowledge", {"message": "已收到，研发工程师今天到现场。"}),
            ("investigate", {"message": "研发定位到协议兼容问题"}),
            (
                "root-cause",
                {"category": "product_quality", "description": "新固件未兼容旧版通讯协议，发布前回归测试遗漏"},
            ),
            ("resolve", {"message": "已发布修复版本并完成现场升级。"}),
            ("revisit", {"satisfaction": 5, "comment": "响应非常快，问题彻底解决。"}),
            ("close", {"message": "客户确认满意，结案。"}),
        ),
    ),
    (
        "质量问题反复出现",
        "同一型号变频器第三次出现过热报警，客户非常不满。",
        "product_quality",
        "critical",
        3,
        (
            ("acknowledge", {"message": "非常抱歉，质量部负责人亲自跟进。"}),
            ("resolve", {"message": "已更换散热模组。"}),
            ("revisit", {"satisfaction": 2, "comment": "更换后仍有报警，没有从根本上解决。"}),
        ),
    ),
    (
        "对账单多次出错",
        "连续两个月对账单金额错误，客户财务需要反复核对。",
        "billing_pricing",
        "medium",
        30,
        (
            ("acknowledge", {"message": "已收到，财务部正在核查。"}),
            ("resolve", {"message": "已更正对账单。"}),
            ("revisit", {"satisfaction": 1, "comment": "本月又错了，非常不满意。"}),
            ("resolve", {"message": "财务系统规则已修正，并由专人复核。"}),
            ("revisit", {"satisfaction": 2, "comment": "仍有小错误。"}),
        ),
    ),
    (
        "交付文件缺失",
        "随货缺少出厂检验报告，客户无法完成来料检验。",
        "delivery_timeliness",
        "low",
        1,
        (
            ("acknowledge", {"message": "已补发电子版检验报告。"}),
            ("resolve", {"message": "纸质版已随下一批货寄出。"}),
            (
                "revisit",
                {
                    "waiver_reason": "confirmed_in_writing",
                    "comment": "客户联系人出差一个月，无法回访；已邮件确认收到报告。",
                },
            ),
            ("close", {"message": "回访豁免，结案。"}),
        ),
    ),
)


async def _wait_for_accounts(client: httpx.AsyncClient, account_ids: list[str]) -> list[str]:
    """The accounts that reached this service's projection (bounded polling)."""
    deadline = time.monotonic() + WAIT_FOR_ACCOUNTS_SECONDS
    pending = list(account_ids)
    while pending and time.monotonic() < deadline:
        still = []
        for account_id in pending:
            response = await client.get(f"/complaints/views/accounts/{account_id}")
            if response.status_code != 200:
                still.append(account_id)
        pending = still
        if pending:
            await asyncio.sleep(0.2)
    return [a for a in account_ids if a not in pending]


async def _open(client: httpx.AsyncClient, payload: dict[str, Any], key: str) -> httpx.Response:
    """Open one complaint; while its owner has not reached this service's users projection yet (the gateway's
    ``identity.user_registered`` is on its way), wait a little and retry (bounded)."""
    deadline = time.monotonic() + WAIT_FOR_ACCOUNTS_SECONDS
    while True:
        response = await client.post("/complaints", json=payload, headers={"Idempotency-Key": key})
        unknown_owner = response.status_code == 422 and "is not known" in response.text
        if not unknown_owner or time.monotonic() > deadline:
            return response
        await asyncio.sleep(0.5)


async def _step(client: httpx.AsyncClient, complaint: dict[str, Any], action: str, body: dict[str, Any]) -> None:
    cid = complaint["id"]
    if action == "tasks":
        due = datetime.now(UTC) + timedelta(hours=body["due_in_hours"])
        due = min(due, datetime.fromisoformat(complaint["resolution_due_at"]))
        payload = {k: v for k, v in body.items() if k != "due_in_hours"} | {"due_at": due.isoformat()}
        if payload["assignee_id"] == "owner":
            payload["assignee_id"] = complaint["owner_id"]
        response = await client.post(f"/complaints/{cid}/tasks", json=payload)
        response.raise_for_status()
        response = await client.get(f"/complaints/{cid}")  # a task is a new version of the complaint
    else:
        for _ in range(5):
            if action == "root-cause":
                response = await client.put(f"/complaints/{cid}/root-cause", json=body, headers=if_match(complaint))
            else:
                response = await client.post(f"/complaints/{cid}/{action}", json=body, headers=if_match(complaint))
            if response.status_code != 412:
                break
            # The SLA timers moved the complaint on meanwhile (a warning, a breach, an escalation — the demo's
            # complaints were received hours ago): read it again and send the step with its current version.
            current = await client.get(f"/complaints/{cid}")
            current.raise_for_status()
            complaint.update(current.json())
    response.raise_for_status()
    complaint.update(response.json())


async def load(ctx: DemoContext) -> dict[str, Any]:
    """Open the demo complaints against the demo accounts and walk them through the closed loop."""
    client = ctx.client("complaints")
    accounts: list[dict[str, Any]] = list(ctx.shared.get("accounts") or [])
    if not accounts:
        return {"complaints": 0, "skipped": "no demo accounts were registered"}
    existing = await client.get("/complaints", params={"limit": 1})
    if existing.status_code == 200 and existing.json()["total"] > 0:
        return {"complaints": existing.json()["total"], "skipped": "already loaded"}
    chosen = sorted(accounts, key=lambda a: TIER_ORDER.get(str(a.get("tier")), 9))[:DEMO_ACCOUNTS]
    ready = await _wait_for_accounts(client, [str(a["id"]) for a in chosen])
    if not ready:
        return {"complaints": 0, "skipped": "accounts did not reach the complaints projection in time"}
    now = datetime.now(UTC)

    async def play(index: int) -> str:
        title, description, category, severity, hours_ago, steps = SCENARIOS[index]
        payload = {
            "account_id": ready[index % len(ready)],
            "title": title,
            "description": description,
            "channel": ("phone", "email", "wecom", "visit")[index % 4],
            "category": category,
            "severity": severity,
            "reporter_name": "客户联系人",
            "reporter_contact": "contact@example.cn",
            "received_at": (now - timedelta(hours=hours_ago)).isoformat(),
        }
        response = await _open(client, payload, f"demo-complaint-{index}")
        response.raise_for_status()
        complaint = dict(response.json())
        for action, body in steps:
            await _step(client, complaint, action, body)
        return str(complaint["state"])

    # Scenarios are independent: play them side by side so the demo stays quick.
    states = Counter(await asyncio.gather(*(play(i) for i in range(len(SCENARIOS)))))
    check = await client.post("/complaints/sla/check")
    board = (await client.get("/complaints/views/portfolio")).json()
    return {
        "complaints": len(SCENARIOS),
        "by_state": dict(sorted(states.items())),
        "sla_check": check.json().get("counts", {}) if check.status_code == 200 else check.status_code,
        "breached_open": board.get("breached_count"),
    }
