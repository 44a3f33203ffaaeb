"""Demo portfolio of the scoring service: ~36 accounts, contacts, ratings, engagements and a published model.

Runs first (the other loaders refer to the accounts it registers) and leaves
``ctx.shared["accounts"] = [{id, name, industry, region, owner_id, tier}, ...]``.

Owners, team members and our participants of engagements are the demo users the gateway creates (am-li,
am-zhang); scoring refuses anyone it does not know as an active account manager or supervisor, so the demo runs
after every service has learnt the users.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from kam.registry import APPS
from services.scoring.registry.credit_code import check_character
from shared.clock import business_date

# (name, English name, industry, region, size, owner, team, profile, listed, parent group, years of cooperation)
ACCOUNTS: list[tuple[str, str, str, str, str, str, list[str], str, bool, str | None, int]] = [
    (
        "华东精工汽车零部件股份有限公司",
        "Huadong Precision Auto Parts",
        "汽车",
        "华东",
        "enterprise",
        "am-li",
        ["am-zhang"],
        "S",
        True,
        "华东精工集团",
        12,
    ),
    (
        "鹏城新能源电池科技有限公司",
        "Pengcheng New Energy Battery",
        "新能源",
        "华南",
        "enterprise",
        "am-zhang",
        [],
        "S",
        True,
        None,
        8,
    ),
    (
        "北方重型机械制造集团有限公司",
        "Northern Heavy Machinery",
        "制造业",
        "华北",
        "enterprise",
        "am-li",
        [],
        "S",
        False,
        "北方装备控股",
        15,
    ),
    (
        "锦江智能电子股份有限公司",
        "Jinjiang Smart Electronics",
        "电子",
        "西南",
        "large",
        "am-zhang",
        ["am-li"],
        "S",
        True,
        None,
        10,
    ),
    (
        "长江光伏能源股份有限公司",
        "Changjiang PV Energy",
        "新能源",
        "华中",
        "enterprise",
        "am-li",
        [],
        "S",
        True,
        "长江能源集团",
        7,
    ),
    (
        "粤港汽车电子系统有限公司",
        "Yuegang Auto Electronics",
        "汽车",
        "华南",
        "large",
        "am-zhang",
        [],
        "K",
        False,
        None,
        6,
    ),
    (
        "苏州恒泰精密制造有限公司",
        "Suzhou Hengtai Precision",
        "制造业",
        "华东",
        "large",
        "am-li",
        [],
        "K",
        False,
        None,
        9,
    ),
    ("齐鲁生物医药股份有限公司", "Qilu Biopharma", "医药", "华北", "large", "am-zhang", [], "K", True, None, 5),
    (
        "川渝物流供应链管理有限公司",
        "Chuanyu Logistics",
        "物流",
        "西南",
        "large",
        "am-li",
        ["am-zhang"],
        "K",
        False,
        None,
        6,
    ),
    (
        "浙商快消品集团有限公司",
        "Zheshang FMCG Group",
        "快消",
        "华东",
        "enterprise",
        "am-zhang",
        [],
        "K",
        True,
        "浙商控股",
        4,
    ),
    ("中原电力装备有限公司", "Zhongyuan Power Equipment", "制造业", "华中", "large", "am-li", [], "K", False, None, 11),
    (
        "闽南半导体材料股份有限公司",
        "Minnan Semiconductor Materials",
        "电子",
        "华南",
        "medium",
        "am-zhang",
        [],
        "K",
        True,
        None,
        3,
    ),
    ("津港冷链物流有限公司", "Jingang Cold Chain", "物流", "华北", "medium", "am-li", [], "K", False, None, 7),
    (
        "合肥智造新能源汽车有限公司",
        "Hefei Smart NEV",
        "汽车",
        "华东",
        "large",
        "am-zhang",
        ["am-li"],
        "G",
        False,
        None,
        2,
    ),
    ("西部云数据科技有限公司", "Western Cloud Data", "电子", "西北", "medium", "am-li", [], "G", False, None, 1),
    (
        "湘江储能系统有限公司",
        "Xiangjiang Energy Storage",
        "新能源",
        "华中",
        "medium",
        "am-zhang",
        [],
        "G",
        False,
        None,
        2,
    ),
    ("江南医疗器械股份有限公司", "Jiangnan Medical Devices", "医药", "华东", "medium", "am-li", [], "G", True, None, 3),
    ("滇池生物制药有限公司", "Dianchi Biopharma", "医药", "西南", "medium", "am-zhang", [], "G", False, None, 2),
    (
        "深南智能家电制造有限公司",
        "Shennan Smart Appliances",
        "制造业",
        "华南",
        "large",
        "am-li",
        [],
        "G",
        False,
        "深南集团",
        4,
    ),
    ("京北连锁零售有限公司", "Jingbei Retail Chain", "零售", "华北", "large", "am-zhang", [], "G", False, None, 3),
    ("沪上新零售科技有限公司", "Hushang New Retail", "零售", "华东", "medium", "am-li", [], "G", False, None, 1),
    (
        "东莞精密模具有限公司",
        "Dongguan Precision Moulds",
        "制造业",
        "华南",
        "medium",
        "am-zhang",
        [],
        "G",
        False,
        None,
        5,
    ),
    ("成都轨道交通装备有限公司", "Chengdu Rail Equipment", "制造业", "西南", "large", "am-li", [], "G", False, None, 2),
    ("青岛海洋食品有限公司", "Qingdao Ocean Foods", "快消", "华北", "medium", "am-zhang", [], "G", False, None, 3),
    ("宁波港航物流有限公司", "Ningbo Port Logistics", "物流", "华东", "medium", "am-li", [], "M", False, None, 2),
    ("桂林山水饮料有限公司", "Guilin Shanshui Beverages", "快消", "华南", "small", "am-zhang", [], "M", False, None, 1),
    (
        "太原五金机电有限公司",
        "Taiyuan Hardware & Electric",
        "制造业",
        "华北",
        "small",
        "am-li",
        [],
        "M",
        False,
        None,
        1,
    ),
    (
        "昆明便利店连锁有限公司",
        "Kunming Convenience Stores",
        "零售",
        "西南",
        "small",
        "am-zhang",
        [],
        "M",
        False,
        None,
        0,
    ),
    ("佛山陶瓷制品有限公司", "Foshan Ceramics", "制造业", "华南", "medium", "am-li", [], "M", False, None, 3),
    ("兰州药业有限公司", "Lanzhou Pharma", "医药", "西北", "small", "am-zhang", [], "M", False, None, 1),
    ("温州电器配件有限公司", "Wenzhou Electrical Parts", "电子", "华东", "small", "am-li", [], "M", False, None, 2),
    (
        "长春汽车内饰件有限公司",
        "Changchun Auto Interiors",
        "汽车",
        "东北",
        "medium",
        "am-zhang",
        [],
        "M",
        False,
        None,
        4,
    ),
    (
        "哈尔滨农机制造有限公司",
        "Harbin Agricultural Machinery",
        "制造业",
        "东北",
        "medium",
        "am-li",
        [],
        "M",
        False,
        None,
        1,
    ),
    (
        "贵阳大数据服务有限公司",
        "Guiyang Big Data Services",
        "电子",
        "西南",
        "small",
        "am-zhang",
        [],
        "M",
        False,
        None,
        0,
    ),
    ("南昌光电显示有限公司", "Nanchang Optoelectronics", "电子", "华中", "medium", "am-li", [], "G", False, None, 2),
    (
        "厦门跨境电商有限公司",
        "Xiamen Cross-border E-commerce",
        "零售",
        "华南",
        "small",
        "am-zhang",
        [],
        "M",
        False,
        None,
        1,
    ),
]

# Ratings by profile: industry leadership, reference value, channel value, product fit (0–10), expected growth %.
RATINGS = {
    "S": ("9.5", "9.5", "9", "9.5", "25"),
    "K": ("7.5", "7", "7", "8", "15"),
    "G": ("5", "5", "4.5", "6.5", "22"),
    "M": ("2", "2", "2.5", "3", "3"),
}
RATIONALE = {
    "S": "行业头部企业, 标杆效应显著, 可带动上下游合作",
    "K": "区域或细分领域领先, 合作稳定, 产品匹配度高",
    "G": "增长潜力大 (数字化转型需求), 合作尚浅",
    "M": "规模较小, 标准化需求为主",
}
PEOPLE = {
    "executive": [("王建国", "董事长"), ("陈志明", "总经理"), ("刘海涛", "总裁")],
    "decision": [("张丽华", "采购总监"), ("李国强", "技术副总"), ("赵敏", "运营总监")],
    "execution": [("孙磊", "设备主管"), ("周婷", "采购经理"), ("吴刚", "项目经理")],
}
# Days since the last engagement at each level by profile (None: never); a few accounts are made overdue below.
ENGAGEMENT_AGE = {
    "S": {"executive": 40, "decision": 12, "execution": 5},
    "K": {"executive": 70, "decision": 25, "execution": 10},
    "G": {"decision": 30, "execution": 20},
    "M": {"execution": 40},
}
OVERDUE = {2: "executive", 7: "decision", 15: "execution", 26: "execution"}  # index → level left overdue
CONTACT_LEVELS = {
    "S": ("executive", "decision", "execution"),
    "K": ("executive", "decision", "execution"),
    "G": ("decision", "execution"),
    "M": ("execution",),
}
FORMER = {29}  # a former key account, kept for history
KINDS = {"executive": "executive_meeting", "decision": "business_review", "execution": "visit"}

DEMO_MODEL: dict[str, Any] = {
    "indicators": [
        {"code": "annual_purchases", "weight": "14", "normalisation": {"method": "percentile"}},
        {"code": "profit_share", "weight": "6", "normalisation": {"method": "bounds", "min": "0", "max": "10"}},
        {"code": "industry_leadership", "weight": "14", "normalisation": {"method": "bounds", "min": "0", "max": "10"}},
        {"code": "reference_value", "weight": "12", "normalisation": {"method": "bounds", "min": "0", "max": "10"}},
        {"code": "channel_value", "weight": "10", "normalisation": {"method": "bounds", "min": "0", "max": "10"}},
        {
            "code": "product_fit",
            "weight": "10",
            "normalisation": {"method": "bounds", "min": "0", "max": "10", "missing": "5"},
        },
        {"code": "expected_growth", "weight": "8", "normalisation": {"method": "bounds", "min": "0", "max": "30"}},
        {
            "code": "revenue_growth",
            "weight": "4",
            "normalisation": {"method": "bounds", "min": "-20", "max": "50", "missing": "0"},
        },
        {
            "code": "cooperation_years",
            "weight": "6",
            "normalisation": {
                "method": "thresholds",
                "steps": [
                    {"at": "1", "score": "25"},
                    {"at": "3", "score": "50"},
                    {"at": "5", "score": "75"},
                    {"at": "10", "score": "100"},
                ],
            },
        },
        {
            "code": "highest_contact_level",
            "weight": "6",
            "normalisation": {
                "method": "thresholds",
                "steps": [{"at": "1", "score": "30"}, {"at": "2", "score": "65"}, {"at": "3", "score": "100"}],
            },
        },
        {"code": "stability", "weight": "3", "normalisation": {"method": "bounds", "min": "0", "max": "12"}},
        {
            "code": "satisfaction",
            "weight": "4",
            "normalisation": {"method": "bounds", "min": "1", "max": "5", "missing": "3.5"},
        },
        {
            "code": "escalations",
            "weight": "1",
            "normalisation": {"method": "bounds", "min": "4", "max": "0", "missing": "0"},
        },
        {
            "code": "credit_grade",
            "weight": "2",
            "normalisation": {"method": "bounds", "min": "1", "max": "5", "missing": "3"},
        },
    ],
    # Key accounts (strategic + key) are the top 5–10 % of the portfolio (FAQ 1: 通常占比前5%-10%): the top 8 % by
    # score — 3 of the 35 active demo accounts — whatever the thresholds say of the others.
    "tiers": {
        "thresholds": {"strategic": "66", "key": "52", "growth": "36"},
        "top_percent": {"percent": "8", "by": "score"},
    },
}
KEY_ACCOUNT_SHARE = (5, 10)  # percent of the active portfolio the key tiers hold (FAQ 1)


REVENUE_BY_SIZE = {"enterprise": 8_000_000_000, "large": 2_000_000_000, "medium": 500_000_000, "small": 80_000_000}


def _credit_code(serial: int) -> str:
    first17 = f"9131{serial:04d}MA{serial:07d}"[:17]
    return first17 + check_character(first17)


def _body(index: int, row: tuple[Any, ...], today: date) -> dict[str, Any]:
    name, name_en, industry, region, size, owner, team, profile, listed, parent, years = row
    contacts = [
        {"name": PEOPLE[level][index % 3][0], "title": PEOPLE[level][index % 3][1], "level": level}
        for level in CONTACT_LEVELS[profile]
    ]
    if profile in {"S", "K"}:
        status = "key_account"
    elif index in FORMER:
        status = "former"
    else:
        status = "key_account" if years >= 3 else "prospect"
    return {
        "name": name,
        "name_en": name_en,
        "credit_code": _credit_code(index + 1),
        "industry": industry,
        "region": region,
        "company_size": size,
        "annual_revenue": str(REVENUE_BY_SIZE[size] + index * 10_000_000),
        "listed": listed,
        "parent_group": parent,
        "status": status,
        "owner_id": owner,
        "team_member_ids": team,
        "cooperation_since": (today - timedelta(days=365 * years + 30)).isoformat() if years else None,
        "contacts": contacts,
        "ratings": _ratings(index, profile),
        "engagements": _engagements(index, row, today),
    }


def _engagements(index: int, row: tuple[Any, ...], today: date) -> list[dict[str, Any]]:
    """The last engagement at each level the profile keeps up (a few left overdue on purpose)."""
    history = []
    for level, age in ENGAGEMENT_AGE[row[7]].items():
        days = 200 if OVERDUE.get(index) == level else age
        history.append(
            {
                "kind": KINDS[level],
                "level": level,
                "occurred_on": (today - timedelta(days=days + index % 5)).isoformat(),
                "participants": [PEOPLE[level][index % 3][0]],
                "our_participant_ids": [row[5]],
                "notes": "季度业务回顾与需求沟通" if level != "execution" else "现场拜访, 设备运行情况回访",
            }
        )
    return history


def _ratings(index: int, profile: str) -> dict[str, str]:
    """The profile's ratings, nudged per account so scores differ."""
    nudge = Decimal((index % 5) - 2) / 4
    lead, ref, chan, fit, growth = (Decimal(v) for v in RATINGS[profile])

    def clip(value: Decimal) -> str:
        return str(min(max(value + nudge, Decimal(0)), Decimal(10)))

    return {
        "industry_leadership": clip(lead),
        "reference_value": clip(ref),
        "channel_value": clip(chan),
        "product_fit": clip(fit),
        "expected_growth_pct": str(growth + nudge * 4),
        "rationale": RATIONALE[profile],
    }


async def _check(response: Any) -> Any:
    if response.status_code >= 400:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.status_code} {response.text}")
    return response.json() if response.content else None


async def load(ctx: Any) -> dict[str, Any]:
    """Register the demo portfolio through the API and publish the demo scoring model."""
    client = ctx.client("scoring")
    today = business_date(datetime.now(UTC), APPS["scoring"].settings().zone)
    existing = await _check(await client.get("/accounts", params={"limit": 500}))
    demo_names = {row[0] for row in ACCOUNTS}
    if not demo_names & {account["name"] for account in existing["items"]}:  # loaded once, beside any other data
        model = await _check(
            await client.post(
                "/scoring/models",
                json={
                    "name": "KA分级模型 2026",
                    "notes": "FAQ 1: 规模20 / 战略36 / 潜力22 / 关系22; 重点客户 = 综合评分前8% (通常前5%-10%)",
                    "definition": DEMO_MODEL,
                },
            )
        )
        await _check(await client.post(f"/scoring/models/{model['version']}/publish"))
        bodies = [_body(index, row, today) for index, row in enumerate(ACCOUNTS)]
        await _check(await client.post("/accounts/batch", json={"accounts": bodies}))
        # One full re-score so portfolio-relative indicators (percentiles) are consistent across accounts.
        job = await _check(await client.post("/scoring/jobs/rescore"))
        deadline = time.monotonic() + 20
        while job["status"] in {"queued", "running"} and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            job = await _check(await client.get(f"/scoring/jobs/{job['id']}"))
    listed = await _check(await client.get("/accounts", params={"limit": 500, "sort": "-score"}))
    ctx.shared["accounts"] = [
        {k: a[k] for k in ("id", "name", "industry", "region", "owner_id", "tier", "team_member_ids", "status")}
        for a in listed["items"]
        if a["name"] in demo_names
    ]
    distribution = await _check(await client.get("/scoring/tiers/distribution"))
    return {
        "accounts": listed["total"],
        "tiers": {t["code"]: t["count"] for t in distribution["tiers"]},
    }
