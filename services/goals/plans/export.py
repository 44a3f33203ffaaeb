"""The plan as a workbook a supervisor hands out (XLSX): one sheet per section, headers in 简体中文 and English,
Chinese text written as it is (openpyxl stores UTF-8 shared strings)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from io import BytesIO
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from services.goals.plans.schemas import PlanRead

if TYPE_CHECKING:  # openpyxl is imported when a workbook is asked for (it and its numpy cost every process memory)
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STATUS_LABELS = {"draft": "草稿 draft", "submitted": "待审批 submitted", "approved": "已批准 approved",
                 "archived": "已归档 archived"}  # fmt: skip
SWOT_LABELS = (("strengths", "优势 Strengths"), ("weaknesses", "劣势 Weaknesses"),
               ("opportunities", "机会 Opportunities"), ("threats", "威胁 Threats"))  # fmt: skip


def _text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (str, int)):
        return value
    return str(value)


def _sheet(book: Workbook, title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Worksheet:
    from openpyxl.styles import Font

    sheet = book.create_sheet(title)
    sheet.append(list(header))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_text(v) for v in row])
    for i, _ in enumerate(header):
        sheet.column_dimensions[chr(ord("A") + i)].width = 24
    return sheet


def _overview(book: Workbook, plan: PlanRead) -> None:
    sheet = book.active
    assert sheet is not None
    sheet.title = "概览 Overview"
    rows = [
        ("计划 Plan", plan.title),
        ("客户 Account", plan.account_name),
        ("年度 Year", plan.year),
        ("版本 Version", plan.plan_version),
        ("状态 Status", STATUS_LABELS[plan.status]),
        ("币种 Currency", plan.currency),
        ("批准人 Approved by", plan.approved_by),
        ("批准时间 Approved at", plan.approved_at.isoformat() if plan.approved_at else None),
        ("下次复盘 Next review", plan.next_review_on),
    ]
    for label, value in rows:
        sheet.append([label, _text(value)])
    sheet.column_dimensions["A"].width = 24
    sheet.column_dimensions["B"].width = 48


def plan_workbook(plan: PlanRead) -> bytes:
    """The plan as an XLSX document."""
    from openpyxl import Workbook

    book = Workbook()
    _overview(book, plan)
    _sheet(book, "目标 Objectives", ["目标 Objective", "说明 Description", "关联指标 Target ids"],
           ([o.title, o.description, ", ".join(o.target_ids)] for o in plan.objectives))  # fmt: skip
    swot = plan.swot.model_dump()
    _sheet(book, "SWOT", ["维度 Dimension", "内容 Item"],
           ([label, item] for key, label in SWOT_LABELS for item in swot[key]))  # fmt: skip
    _sheet(book, "产品组合 Product mix",
           ["产品线 Product line", f"目标 Target ({plan.currency})", f"实际 Actual ({plan.currency})",
            "达成率 Attainment %", "未购买 Not bought yet", "备注 Note"],
           ([m.product_line, m.target_amount, m.actual, m.attainment_pct, "是 yes" if m.not_bought_yet else "否 no",
             m.note] for m in plan.product_mix))  # fmt: skip
    pricing = plan.pricing
    _sheet(book, "价格政策 Pricing", ["类别 Kind", "名称 Name", "数值 Value", "说明 Detail"],
           [*(["折扣档 Discount band", b.name, f"≤ {b.max_discount_pct}%", f"≥ {b.min_order_amount} {plan.currency}"]
              for b in pricing.discount_bands),
            *(["底价 Floor price", f.product_line, f"{f.floor_price} {plan.currency}", f.unit]
              for f in pricing.floor_prices),
            ["低于折扣档审批 Below-band approver", pricing.below_band_approver_role, "", ""]])  # fmt: skip
    _sheet(book, "渠道支持 Channels", ["渠道 Channel", "支持 Support"],
           ([c.channel, c.support] for c in plan.channel_support))  # fmt: skip
    _sheet(book, "促销 Promotions",
           ["促销 Promotion", "产品线 Product line", "开始 Starts", "结束 Ends", f"预算 Budget ({plan.currency})",
            "预期提升 Expected %", "基线 Baseline", "状态 Status", "实测提升 Measured %"],
           ([p.name, p.product_line, p.starts_on, p.ends_on, p.budget, p.expected_uplift_pct, p.baseline,
             p.measurement.status, p.measurement.measured_uplift_pct] for p in plan.promotions))  # fmt: skip
    _sheet(book, "关系图谱 Relationships", ["层级 Level", "联系人 Contact", "职务 Title"],
           ([level.level, c.name, c.title] for level in plan.relationship_map for c in level.contacts))  # fmt: skip
    _sheet(book, "跨部门项目 Projects", ["项目 Project", "进度 Progress %", "部分 Parts", "逾期 Overdue"],
           ([p.title, p.progress_pct, p.parts, p.overdue_parts] for p in plan.projects))  # fmt: skip
    _sheet(book, "复盘 Reviews", ["复盘日期 Review date"], ([d] for d in plan.review_dates))
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def content_disposition(plan: PlanRead) -> str:
    """``attachment`` with an ASCII fallback and the Chinese name as RFC 5987 ``filename*``."""
    name = f"{plan.account_name}-{plan.year}-客户经营计划-v{plan.plan_version}.xlsx"
    return (
        f"attachment; filename=\"account-plan-{plan.year}-v{plan.plan_version}.xlsx\"; filename*=UTF-8''{quote(name)}"
    )
