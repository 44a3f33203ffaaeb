"""ECharts options built on the server from the typed view sections (pure functions, labels already translated).

Each option is embedded in the page as JSON (``<script type="application/json">``) and drawn by the console's
static script with the SVG renderer, so no inline script is needed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from gateway.console.formatting import to_decimal
from shared.views.goals import GoalsManagerAttainment, GoalsTargetLine, GoalsTierAttainment
from shared.views.risk import HeatmapCell, RiskAging
from shared.views.scoring import ScoreDimension, TierCount

Option = dict[str, Any]
Translate = Callable[[str], str]
Label = Callable[[str, object], str]
LEVEL_COLOURS = {"green": "#3ba272", "yellow": "#fac858", "orange": "#fc8452", "red": "#ee6666"}
TIER_COLOURS = ["#5470c6", "#91cc75", "#fac858", "#73c0de", "#9a60b4"]


def _number(value: object) -> float:
    number = to_decimal(value)
    return float(number) if number is not None else 0.0


def tier_mix(tiers: Sequence[TierCount], revenue: Sequence[GoalsTierAttainment], t: Translate, label: Label) -> Option:
    """Two rings: accounts per tier (inner) and each tier's share of this year's revenue (outer)."""
    accounts = [
        {"name": label("tier", tier.code or "unassigned"), "value": tier.count, "itemStyle": {"color": colour}}
        for tier, colour in zip(tiers, TIER_COLOURS * 2, strict=False)
    ]
    colours = {label("tier", tier.code or "unassigned"): c for tier, c in zip(tiers, TIER_COLOURS * 2, strict=False)}
    shares = [
        {"name": label("tier", line.tier), "value": round(_number(line.actual), 2)}
        for line in revenue
        if _number(line.actual) > 0
    ]
    for share in shares:
        share["itemStyle"] = {"color": colours.get(str(share["name"]), "#999")}
    return {
        "tooltip": {"trigger": "item", "formatter": "{a}<br/>{b}: {d}%"},
        "legend": {"bottom": 0},
        "series": [
            {
                "name": t("dash.accounts"),
                "type": "pie",
                "radius": ["0%", "38%"],
                "label": {"position": "inner"},
                "data": accounts,
            },
            {
                "name": t("dash.revenue_share"),
                "type": "pie",
                "radius": ["50%", "70%"],
                "label": {"formatter": "{b} {d}%"},
                "data": shares,
            },
        ],
    }


def sla_board(breached: int, warning: int, on_track: int, t: Translate) -> Option:
    """Open complaints by SLA state, as a horizontal stacked bar."""
    parts = (
        ("dash.breached", breached, "#ee6666"),
        ("dash.warning", warning, "#fac858"),
        ("dash.on_track", on_track, "#3ba272"),
    )
    return {
        "tooltip": {"trigger": "item"},
        "legend": {"bottom": 0},
        "grid": {"left": 8, "right": 8, "top": 8, "bottom": 40, "containLabel": True},
        "xAxis": {"type": "value", "minInterval": 1},
        "yAxis": {"type": "category", "data": [t("dash.open_complaints")]},
        "series": [
            {
                "name": t(key),
                "type": "bar",
                "stack": "sla",
                "data": [count],
                "itemStyle": {"color": colour},
                "label": {"show": count > 0},
            }
            for key, count, colour in parts
        ],
    }


def heatmap(cells: Sequence[HeatmapCell], levels: Sequence[str], label: Label) -> Option:
    """Open alerts: tier (columns) × alert level (rows)."""
    tiers = list(dict.fromkeys(cell.tier for cell in cells))
    data = [
        [tiers.index(cell.tier), list(levels).index(cell.level), cell.count] for cell in cells if cell.level in levels
    ]
    highest = max((cell.count for cell in cells), default=0)
    return {
        "tooltip": {"position": "top"},
        "grid": {"left": 8, "right": 8, "top": 8, "bottom": 56, "containLabel": True},
        "xAxis": {"type": "category", "data": [label("tier", tier) for tier in tiers], "splitArea": {"show": True}},
        "yAxis": {"type": "category", "data": [label("level", level) for level in levels], "splitArea": {"show": True}},
        "visualMap": {
            "min": 0,
            "max": max(highest, 1),
            "calculable": False,
            "orient": "horizontal",
            "left": "center",
            "bottom": 0,
            "inRange": {"color": ["#f6f8fb", "#fac858", "#ee6666"]},
        },
        "series": [{"type": "heatmap", "data": data, "label": {"show": True}}],
    }


def attainment(
    lines: Sequence[GoalsTierAttainment | GoalsManagerAttainment], names: Sequence[str], t: Translate
) -> Option:
    """Target against actual revenue per tier or manager, with the attainment percentage on the actual bar."""
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0},
        "grid": {"left": 8, "right": 8, "top": 16, "bottom": 40, "containLabel": True},
        "xAxis": {"type": "category", "data": list(names)},
        "yAxis": {"type": "value"},
        "series": [
            {
                "name": t("dash.target"),
                "type": "bar",
                "data": [_number(line.target) for line in lines],
                "itemStyle": {"color": "#c8d3e6"},
            },
            {
                "name": t("dash.actual"),
                "type": "bar",
                "itemStyle": {"color": "#5470c6"},
                "data": [
                    {
                        "value": _number(line.actual),
                        "label": {
                            "show": True,
                            "position": "top",
                            "formatter": f"{_number(line.attainment_pct):.1f}%" if line.attainment_pct else "",
                        },
                    }
                    for line in lines
                ],
            },
        ],
    }


def radar(dimensions: Sequence[ScoreDimension], lang: str) -> Option:
    """The four dimensions of the score (0–100)."""
    return {
        "tooltip": {},
        "radar": {
            "indicator": [{"name": d.label_zh if lang == "zh" else d.label_en, "max": 100} for d in dimensions],
            "radius": "65%",
        },
        "series": [
            {
                "type": "radar",
                "areaStyle": {"opacity": 0.25},
                "data": [{"value": [float(d.score) for d in dimensions], "name": "score"}],
            }
        ],
    }


def score_history(points: Sequence[tuple[str, Decimal | None, str]], t: Translate) -> Option:
    """Score at each tier decision, oldest first (``(when, score, tier label)``)."""
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 8, "right": 16, "top": 16, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": [when for when, _, _ in points]},
        "yAxis": {"type": "value", "min": 0, "max": 100},
        "series": [
            {
                "name": t("acct.total_score"),
                "type": "line",
                "smooth": True,
                "data": [
                    {"value": float(score) if score is not None else None, "name": tier} for _, score, tier in points
                ],
                "label": {"show": True, "formatter": "{b}"},
            }
        ],
    }


def utilisation_gauge(pct: object, t: Translate) -> Option:
    """Credit utilisation in percent (green to 70 %, orange to 90 %, red beyond)."""
    value = round(_number(pct), 1)
    return {
        "series": [
            {
                "type": "gauge",
                "min": 0,
                "max": max(100, (int(value) // 50 + 1) * 50),
                "axisLine": {"lineStyle": {"width": 12, "color": [[0.7, "#3ba272"], [0.9, "#fc8452"], [1, "#ee6666"]]}},
                "splitNumber": 4,
                "axisLabel": {"distance": 16, "fontSize": 10},
                "detail": {"formatter": "{value}%", "fontSize": 18},
                "title": {"offsetCenter": [0, "70%"]},
                "data": [{"value": value, "name": t("acct.utilisation")}],
            }
        ],
    }


def aging(buckets: RiskAging, currency: str, label: Label) -> Option:
    """Open receivables per aging bucket."""
    names = ("current", "1_30", "31_60", "61_90", "over_90")
    values = (buckets.current, buckets.days_1_30, buckets.days_31_60, buckets.days_61_90, buckets.over_90)
    colours = ("#3ba272", "#fac858", "#fc8452", "#ee6666", "#a90000")
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 8, "right": 8, "top": 16, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": [label("aging", name) for name in names]},
        "yAxis": {"type": "value", "name": currency},
        "series": [
            {
                "type": "bar",
                "data": [
                    {"value": _number(v), "itemStyle": {"color": c}} for v, c in zip(values, colours, strict=True)
                ],
            }
        ],
    }


def forecast(targets: Sequence[GoalsTargetLine], t: Translate, label: Label) -> Option:
    """Money targets: actual so far and forecast to period end against the target."""
    money = [line for line in targets if line.unit not in ("%", "count", "value")]
    names = [f"{label('metric', line.metric)} {line.period}" for line in money]
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0},
        "grid": {"left": 8, "right": 8, "top": 16, "bottom": 40, "containLabel": True},
        "xAxis": {"type": "category", "data": names},
        "yAxis": {"type": "value"},
        "series": [
            {
                "name": t("dash.actual"),
                "type": "bar",
                "data": [_number(x.actual) for x in money],
                "itemStyle": {"color": "#5470c6"},
            },
            {
                "name": t("acct.forecast"),
                "type": "bar",
                "data": [_number(x.forecast) for x in money],
                "itemStyle": {"color": "#91cc75"},
            },
            {
                "name": t("dash.target"),
                "type": "scatter",
                "symbol": "rect",
                "symbolSize": [28, 3],
                "data": [_number(x.target_value) for x in money],
                "itemStyle": {"color": "#ee6666"},
            },
        ],
    }


def bars(names: Sequence[str], values: Sequence[object], series_name: str, colour: str = "#5470c6") -> Option:
    """A plain bar chart (variance parts, KPI scores)."""
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 8, "right": 8, "top": 16, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": list(names), "axisLabel": {"interval": 0, "rotate": 20}},
        "yAxis": {"type": "value"},
        "series": [
            {
                "name": series_name,
                "type": "bar",
                "data": [_number(v) for v in values],
                "itemStyle": {"color": colour},
                "label": {"show": True, "position": "top"},
            }
        ],
    }
