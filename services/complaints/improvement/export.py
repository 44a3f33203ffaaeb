"""The per-complaint export (pure): one row per complaint with 中文 headers and labels, as CSV with a BOM (so Excel
reads it as UTF-8) or as XLSX; no cell a spreadsheet would run as a formula (written by shared.export)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

from services.complaints.improvement.analytics import (
    SEVERITY_LABELS_ZH,
    TIER_LABELS_ZH,
    AnalyticsNames,
    ComplaintFacts,
)
from services.complaints.labels import STATE_LABELS
from shared.export import BOM, XLSX_MEDIA_TYPE, csv_text, xlsx_bytes

__all__ = ["BOM", "HEADERS", "XLSX_MEDIA_TYPE", "complaint_rows", "complaints_csv", "complaints_xlsx"]
HEADERS: tuple[str, ...] = (
    "投诉编号",
    "标题",
    "客户",
    "客户等级",
    "严重程度",
    "类别",
    "状态",
    "负责人",
    "受理时间",
    "解决时间",
    "解决用时（分钟，不含暂停）",
    "重开次数",
    "解决时限达成（段）",
    "解决段数",
    "满意度",
)


def _local(moment: datetime | None, zone: tzinfo) -> str:
    return "" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def complaint_rows(facts: Sequence[ComplaintFacts], *, zone: tzinfo, names: AnalyticsNames) -> list[list[Any]]:
    """The header and one row per complaint (oldest first): labels in 中文, times in the company's zone, the time
    to resolve over every leg (paused time excluded), legs within the SLA of legs resolved."""
    rows: list[list[Any]] = [list(HEADERS)]
    for f in sorted(facts, key=lambda fact: (fact.opened_at, fact.complaint_id)):
        state = STATE_LABELS.get(f.state)  # type: ignore[call-overload]
        legs = f.resolution_legs if f.resolution_legs is not None else int(f.resolution_minutes is not None)
        met = f.resolution_legs_met if f.resolution_legs is not None else int(f.resolution_within_sla is True)
        rows.append(
            [
                f.complaint_id,
                f.title,
                f.account_name or f.account_id,
                TIER_LABELS_ZH.get(f.tier, f.tier),
                SEVERITY_LABELS_ZH.get(f.severity, f.severity),
                names.categories.get(f.category, f.category),
                state[0] if state else f.state,
                names.owners.get(f.owner_id or "", f.owner_id or "未分配"),
                _local(f.opened_at, zone),
                _local(f.resolved_at, zone),
                f.time_to_resolve,
                f.reopen_count,
                met,
                legs,
                f.satisfaction,
            ]
        )
    return rows


def complaints_csv(rows: Sequence[Sequence[Any]]) -> str:
    """The rows as CSV, led by a BOM, CRLF line ends; text cells neutralised."""
    return csv_text(rows)


def complaints_xlsx(rows: Sequence[Sequence[Any]]) -> bytes:
    """The rows as one XLSX sheet (``投诉明细``), numbers as numbers; text cells neutralised."""
    return xlsx_bytes(rows, sheet="投诉明细")
