"""The platform's closed vocabularies, defined once: tiers, complaint severities, product lines, services."""

from __future__ import annotations

from typing import Literal, get_args

# Tiers, best first, with their labels (中文, English).
TierCode = Literal["strategic", "key", "growth", "maintain"]
TIER_CODES: tuple[TierCode, ...] = get_args(TierCode)
TIER_LABELS: dict[TierCode, tuple[str, str]] = {
    "strategic": ("战略客户", "Strategic"),
    "key": ("重点客户", "Key"),
    "growth": ("成长客户", "Growth"),
    "maintain": ("维护客户", "Maintain"),
}
KEY_ACCOUNT_TIERS: frozenset[TierCode] = frozenset({"strategic", "key"})

# Complaint severities, mildest first.
Severity = Literal["low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = get_args(Severity)
SEVERITY_LABELS: dict[Severity, tuple[str, str]] = {
    "low": ("低", "Low"),
    "medium": ("中", "Medium"),
    "high": ("高", "High"),
    "critical": ("紧急", "Critical"),
}

# Credit grades (A best) and early-warning levels (green calm … red).
CreditGrade = Literal["A", "B", "C", "D", "E"]
AlertLevel = Literal["green", "yellow", "orange", "red"]
ALERT_LEVELS: tuple[AlertLevel, ...] = get_args(AlertLevel)

# The product-line catalogue offered to accounts (white space, penetration); a service's settings may override it.
DEFAULT_PRODUCT_LINES: tuple[str, ...] = ("工业网关", "智能传感器", "PLC控制器", "SCADA软件", "工业云平台", "运维服务")

# The business services behind the gateway, in the order the composed views list them.
ServiceName = Literal["scoring", "complaints", "risk", "goals"]
SERVICE_NAMES: tuple[ServiceName, ...] = get_args(ServiceName)


def tier_rank(tier: str | None) -> int:
    """Sort key of a tier: strategic 0 … maintain 3; unknown or no tier last."""
    return TIER_CODES.index(tier) if tier in TIER_CODES else len(TIER_CODES)
