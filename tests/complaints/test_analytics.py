"""Analytics on a hand-computed fixture: counts, compliance, mean/median times, reopen rate, satisfaction, CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from services.complaints.improvement.analytics import ComplaintFacts, analytics_csv, compute_analytics


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 2, 0, tzinfo=UTC)


FIXTURE = [
    ComplaintFacts(
        "c1",
        "acc-a",
        "华为",
        "am-li",
        "product_quality",
        "high",
        at(1, 10),
        first_response_minutes=60,
        first_response_within_sla=True,
        resolved_at=at(1, 12),
        resolution_minutes=2000,
        resolution_within_sla=True,
        closed_at=at(1, 15),
        satisfaction=5,
        root_cause_category="product_quality",
    ),
    ComplaintFacts(
        "c2",
        "acc-a",
        "华为",
        "am-li",
        "delivery_timeliness",
        "critical",
        at(1, 20),
        first_response_minutes=300,
        first_response_within_sla=False,
        first_response_breached=True,
        resolved_at=at(2, 3),
        resolution_minutes=5000,
        resolution_within_sla=False,
        resolution_breached=True,
        closed_at=at(2, 5),
        reopen_count=1,
        satisfaction=2,
        root_cause_category="delivery_timeliness",
    ),
    ComplaintFacts(
        "c3",
        "acc-b",
        "比亚迪",
        "am-zhang",
        "product_quality",
        "medium",
        at(2, 1),
        first_response_minutes=120,
        first_response_within_sla=True,
        resolved_at=at(2, 2),
        resolution_minutes=1000,
        resolution_within_sla=True,
        satisfaction=4,
        root_cause_category="product_quality",
    ),
    # Never answered and already past its first-response due time: counts against compliance.
    ComplaintFacts(
        "c4",
        "acc-b",
        "比亚迪",
        "am-zhang",
        "communication_efficiency",
        "low",
        at(2, 10),
        first_response_breached=True,
    ),
    # Answered on time, reopened twice, resolution overdue.
    ComplaintFacts(
        "c5",
        "acc-c",
        "宁德时代",
        None,
        "product_quality",
        "high",
        at(3, 5),
        first_response_minutes=30,
        first_response_within_sla=True,
        resolution_breached=True,
        reopen_count=2,
        root_cause_category="product_quality",
    ),
    # Just opened, nothing due yet: not judged.
    ComplaintFacts("c6", "acc-a", "华为", "am-li", "billing_pricing", "medium", at(3, 15)),
]


def test_analytics_match_the_hand_computed_figures():
    report = compute_analytics(FIXTURE)

    assert report["total"] == 6
    assert report["by_category"] == {
        "billing_pricing": 1,
        "communication_efficiency": 1,
        "delivery_timeliness": 1,
        "product_quality": 3,
    }
    assert report["by_severity"] == {"critical": 1, "high": 2, "low": 1, "medium": 2}
    assert report["by_account"] == [
        {"account_id": "acc-a", "name": "华为", "count": 3},
        {"account_id": "acc-b", "name": "比亚迪", "count": 2},
        {"account_id": "acc-c", "name": "宁德时代", "count": 1},
    ]
    assert report["by_owner"] == {"am-li": 3, "am-zhang": 2, "unassigned": 1}
    assert report["by_period"] == {"2026-01": 2, "2026-02": 2, "2026-03": 2}
    # First response: on time c1, c3, c5; late c2; unanswered and breached c4 → 3 / 5.
    assert report["first_response_compliance"] == {"met": 3, "judged": 5, "rate": 0.6}
    # Resolution: on time c1, c3; late c2; unresolved and breached c5 → 2 / 4.
    assert report["resolution_compliance"] == {"met": 2, "judged": 4, "rate": 0.5}
    # (60 + 300 + 120 + 30) / 4 = 127.5; median of 30, 60, 120, 300 = 90.
    assert report["first_response_minutes"] == {"mean": 127.5, "median": 90.0}
    # (2000 + 5000 + 1000) / 3 = 2666.67; median 2000.
    assert report["resolution_minutes"] == {"mean": 2666.7, "median": 2000.0}
    assert report["reopen_rate"] == 0.3333  # c2 and c5 of 6
    assert report["average_satisfaction"] == 3.67  # (5 + 2 + 4) / 3
    assert report["satisfaction_responses"] == 3
    assert report["top_root_causes"] == [
        {"category": "product_quality", "count": 3},
        {"category": "delivery_timeliness", "count": 1},
    ]
    assert report["trend"] == [
        {"month": "2026-01", "opened": 2, "resolved": 1, "closed": 1},
        {"month": "2026-02", "opened": 2, "resolved": 2, "closed": 1},
        {"month": "2026-03", "opened": 2, "resolved": 0, "closed": 0},
    ]


def test_csv_export_carries_the_same_figures():
    report = compute_analytics(FIXTURE)
    rows = list(csv.reader(io.StringIO(analytics_csv(report))))
    assert rows[0] == ["section", "key", "value"]
    table = {(section, key): value for section, key, value in rows[1:]}
    assert len(table) == len(rows) - 1  # every figure once
    assert table[("summary", "total")] == "6"
    assert table[("by_category", "product_quality")] == "3"
    assert table[("by_account", "acc-a")] == "3"
    assert table[("first_response_compliance", "rate")] == "0.6"
    assert table[("resolution_compliance", "judged")] == "4"
    assert table[("first_response_minutes", "median")] == "90.0"
    assert table[("resolution_minutes", "mean")] == "2666.7"
    assert table[("summary", "reopen_rate")] == "0.3333"
    assert table[("summary", "average_satisfaction")] == "3.67"
    assert table[("top_root_causes", "product_quality")] == "3"
    assert table[("trend", "2026-02:resolved")] == "2"


def test_empty_period_has_no_rates_rather_than_zero():
    report = compute_analytics([])
    assert report["total"] == 0
    assert report["first_response_compliance"] == {"met": 0, "judged": 0, "rate": None}
    assert report["reopen_rate"] is None
    assert report["average_satisfaction"] is None
