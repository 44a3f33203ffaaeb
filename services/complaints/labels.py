"""The complaint vocabularies with their labels (中文, English): channels, states, severities, impact and urgency."""

from __future__ import annotations

from typing import Any, Literal, get_args

from services.complaints.intake.states import ComplaintState
from shared.vocabulary import SEVERITY_LABELS

# How a complaint reached us (a closed vocabulary).
Channel = Literal["phone", "email", "wecom", "visit", "portal", "other"]
CHANNELS: tuple[Channel, ...] = get_args(Channel)
CHANNEL_LABELS: dict[str, tuple[str, str]] = {
    "phone": ("电话", "Phone"),
    "email": ("邮件", "Email"),
    "wecom": ("企业微信", "WeCom"),
    "visit": ("现场拜访", "Visit"),
    "portal": ("客户门户", "Portal"),
    "other": ("其他", "Other"),
}
STATE_LABELS: dict[ComplaintState, tuple[str, str]] = {
    "new": ("新建", "New"),
    "acknowledged": ("已响应", "Acknowledged"),
    "investigating": ("调查中", "Investigating"),
    "solution_proposed": ("方案待确认", "Solution proposed"),
    "resolved": ("已解决", "Resolved"),
    "revisited": ("已回访", "Revisited"),
    "closed": ("已关闭", "Closed"),
    "reopened": ("已重开", "Reopened"),
}
# The two axes of the severity matrix (影响 × 紧急程度).
Level = Literal["low", "medium", "high"]
LEVELS: tuple[Level, ...] = get_args(Level)
LEVEL_LABELS: dict[str, tuple[str, str]] = {"low": ("低", "Low"), "medium": ("中", "Medium"), "high": ("高", "High")}


def label(pair: tuple[str, str] | None, code: str | None = None) -> dict[str, str] | None:
    """A label pair as the API shows it (``{"zh", "en"}``); an unknown code shows as itself."""
    if pair is None:
        return None if code is None else {"zh": code, "en": code}
    return {"zh": pair[0], "en": pair[1]}


def complaint_labels(
    *, category: tuple[str, str] | None, parent: tuple[str, str] | None, row: dict[str, Any]
) -> dict[str, Any]:
    """The labels of a complaint's codes: category (and its parent), severity, state, channel, impact, urgency."""
    return {
        "category": label(category, row["category"]),
        "category_parent": label(parent),
        "severity": label(SEVERITY_LABELS.get(row["severity"]), row["severity"]),
        "state": label(STATE_LABELS.get(row["state"]), row["state"]),
        "channel": label(CHANNEL_LABELS.get(row["channel"]), row["channel"]),
        "impact": label(LEVEL_LABELS.get(row.get("impact") or ""), row.get("impact")),
        "urgency": label(LEVEL_LABELS.get(row.get("urgency") or ""), row.get("urgency")),
    }
