"""Complaint analytics (pure): counts, SLA compliance, response and resolution times, reopen rate, satisfaction."""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from shared.clock import DEFAULT_BUSINESS_ZONE
from shared.vocabulary import SEVERITY_LABELS, TIER_LABELS

TOP_ROOT_CAUSES = 5
COMPANY_ZONE = ZoneInfo(DEFAULT_BUSINESS_ZONE)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ComplaintFacts:
    """What analytics needs of one complaint (times in minutes, paused time already excluded)."""

    complaint_id: str
    account_id: str
    account_name: str
    owner_id: str | None
    category: str
    severity: str
    opened_at: datetime
    first_response_minutes: int | None = None
    first_response_within_sla: bool | None = None
    first_response_breached: bool = False
    resolved_at: datetime | None = None
    resolution_minutes: int | None = None
    resolution_within_sla: bool | None = None
    resolution_breached: bool = False
    closed_at: datetime | None = None
    reopen_count: int = 0
    satisfaction: int | None = None
    root_cause_category: str | None = None
    title: str = ""
    state: str = ""
    tier: str = "default"
    # Every leg of a reopened case: None for facts without legs (then the one measured resolution counts).
    resolution_legs: int | None = None
    resolution_legs_met: int = 0
    resolution_minutes_total: int = 0

    @property
    def time_to_resolve(self) -> int | None:
        """Minutes to resolve over every leg (paused time excluded); None while not resolved."""
        if self.resolved_at is None and self.resolution_minutes is None:
            return None
        if self.resolution_legs:
            return self.resolution_minutes_total
        return self.resolution_minutes


@dataclass(frozen=True)
class AnalyticsNames:
    """Display names the report labels codes with: categories (中文) and owners (the users projection)."""

    categories: dict[str, str] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)


# 中文 labels of the fixed vocabularies (``default``: an account without a tier).
TIER_LABELS_ZH: dict[str, str] = {code: zh for code, (zh, _en) in TIER_LABELS.items()} | {"default": "未分级"}
SEVERITY_LABELS_ZH: dict[str, str] = {code: zh for code, (zh, _en) in SEVERITY_LABELS.items()}


def _month(moment: datetime, zone: tzinfo) -> str:
    """The business month of an instant (in the company's zone: 1 April 00:30 in Shanghai is April)."""
    return moment.astimezone(zone).strftime("%Y-%m")


def rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _mean(values: Sequence[int]) -> float | None:
    return round(statistics.fmean(values), 1) if values else None


def _median(values: Sequence[int]) -> float | None:
    return round(float(statistics.median(values)), 1) if values else None


def _counts(values: Iterable[str | None]) -> dict[str, int]:
    counter = Counter(v or "unassigned" for v in values)
    return dict(sorted(counter.items()))


def _resolution_compliance(facts: Sequence[ComplaintFacts]) -> dict[str, Any]:
    """Every leg judged: legs resolved within the SLA ÷ (legs resolved + a current leg already breached)."""
    met = judged = 0
    for f in facts:
        if f.resolution_legs is None:  # no legs recorded: the one resolution
            met += f.resolution_within_sla is True
            judged += f.resolution_within_sla is not None
        else:
            met, judged = met + f.resolution_legs_met, judged + f.resolution_legs
        judged += f.resolved_at is None and f.resolution_within_sla is None and f.resolution_breached
    return {"met": met, "judged": judged, "rate": rate(met, judged)}


def report_labels(facts: Sequence[ComplaintFacts], names: AnalyticsNames) -> dict[str, dict[str, str]]:
    """The 中文 labels of the codes the report names: tiers, severities, categories, owners."""
    return labels_of(
        tiers=[f.tier for f in facts],
        severities=[f.severity for f in facts],
        categories=[f.category for f in facts],
        owners=[f.owner_id for f in facts],
        names=names,
    )


def labels_of(
    *,
    tiers: Iterable[str],
    severities: Iterable[str],
    categories: Iterable[str],
    owners: Iterable[str | None],
    names: AnalyticsNames,
) -> dict[str, dict[str, str]]:
    """The 中文 labels of the codes named (an owner None is ``unassigned``, 未分配)."""
    return {
        "tier": {t: TIER_LABELS_ZH.get(t, t) for t in tiers},
        "severity": {s: SEVERITY_LABELS_ZH.get(s, s) for s in severities},
        "category": {c: names.categories.get(c, c) for c in categories},
        "owner": {(o or "unassigned"): names.owners.get(o or "", "未分配") for o in owners},
    }


def _compliance(within: Sequence[bool | None], breached_unmet: Sequence[bool]) -> dict[str, Any]:
    """Met on time / (measured + still unmet but already breached)."""
    met = sum(1 for w in within if w is True)
    judged = sum(1 for w in within if w is not None) + sum(1 for b in breached_unmet if b)
    return {"met": met, "judged": judged, "rate": rate(met, judged)}


def compute_analytics(
    facts: Sequence[ComplaintFacts], *, zone: tzinfo = COMPANY_ZONE, names: AnalyticsNames | None = None
) -> dict[str, Any]:
    """Every figure of the analytics report for the given complaints (months in the company's ``zone``); times to
    resolve and resolution compliance count every leg of a reopened case, paused time excluded."""
    first_times = [f.first_response_minutes for f in facts if f.first_response_minutes is not None]
    resolution_times = [t for t in (f.time_to_resolve for f in facts) if t is not None]
    scores = [f.satisfaction for f in facts if f.satisfaction is not None]
    root_causes = Counter(f.root_cause_category for f in facts if f.root_cause_category)
    trend: dict[str, dict[str, int]] = {}

    def bucket(month: str) -> dict[str, int]:
        return trend.setdefault(month, {"opened": 0, "resolved": 0, "closed": 0})

    for f in facts:
        bucket(_month(f.opened_at, zone))["opened"] += 1
        if f.resolved_at is not None:
            bucket(_month(f.resolved_at, zone))["resolved"] += 1
        if f.closed_at is not None:
            bucket(_month(f.closed_at, zone))["closed"] += 1
    accounts = {f.account_id: f.account_name for f in facts}
    by_account = Counter(f.account_id for f in facts)
    return {
        "total": len(facts),
        "by_category": _counts(f.category for f in facts),
        "by_severity": _counts(f.severity for f in facts),
        "by_tier": _counts(f.tier for f in facts),
        "by_account": [
            {"account_id": a, "name": accounts[a], "count": n}
            for a, n in sorted(by_account.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "by_owner": _counts(f.owner_id for f in facts),
        "by_period": _counts(_month(f.opened_at, zone) for f in facts),
        "first_response_compliance": _compliance(
            [f.first_response_within_sla for f in facts],
            [f.first_response_within_sla is None and f.first_response_breached for f in facts],
        ),
        "resolution_compliance": _resolution_compliance(facts),
        "first_response_minutes": {"mean": _mean(first_times), "median": _median(first_times)},
        "resolution_minutes": {"mean": _mean(resolution_times), "median": _median(resolution_times)},
        "reopen_rate": rate(sum(1 for f in facts if f.reopen_count > 0), len(facts)),
        "average_satisfaction": round(statistics.fmean(scores), 2) if scores else None,
        "satisfaction_responses": len(scores),
        "top_root_causes": [
            {"category": c, "count": n}
            for c, n in sorted(root_causes.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_ROOT_CAUSES]
        ],
        "trend": [{"month": m, **trend[m]} for m in sorted(trend)],
        "labels": report_labels(facts, names or AnalyticsNames()),
    }


def safe_cell(value: Any) -> Any:
    """A cell a spreadsheet will not run as a formula: text starting with = + - @ (or a tab or CR) gets a ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _SafeWriter:
    """A CSV writer whose every text cell is neutralised (category codes and owner ids come from users)."""

    def __init__(self, out: io.StringIO) -> None:
        self._writer = csv.writer(out, lineterminator="\n")

    def writerow(self, row: Sequence[Any]) -> None:
        self._writer.writerow([safe_cell(cell) for cell in row])


def analytics_csv(report: dict[str, Any]) -> str:
    """The report flattened to ``section,key,value`` rows (one figure per row)."""
    out = io.StringIO()
    writer = _SafeWriter(out)
    writer.writerow(["section", "key", "value"])

    def value(v: Any) -> str:
        return "" if v is None else str(v)

    writer.writerow(["summary", "total", report["total"]])
    for section in ("by_category", "by_severity", "by_tier", "by_owner", "by_period"):
        for key, count in report[section].items():
            writer.writerow([section, key, count])
    for row in report["by_account"]:
        writer.writerow(["by_account", row["account_id"], row["count"]])
    for section in ("first_response_compliance", "resolution_compliance"):
        for key in ("met", "judged", "rate"):
            writer.writerow([section, key, value(report[section][key])])
    for section in ("first_response_minutes", "resolution_minutes"):
        for key in ("mean", "median"):
            writer.writerow([section, key, value(report[section][key])])
    writer.writerow(["summary", "reopen_rate", value(report["reopen_rate"])])
    writer.writerow(["summary", "average_satisfaction", value(report["average_satisfaction"])])
    writer.writerow(["summary", "satisfaction_responses", report["satisfaction_responses"]])
    for row in report["top_root_causes"]:
        writer.writerow(["top_root_causes", row["category"], row["count"]])
    for row in report["trend"]:
        for key in ("opened", "resolved", "closed"):
            writer.writerow(["trend", f"{row['month']}:{key}", row[key]])
    return out.getvalue()
