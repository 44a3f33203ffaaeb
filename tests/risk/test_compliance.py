"""The clause checklist and the 90/60/30-day expiry reminder stages."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.risk.contracts.compliance import (
    CLAUSES,
    check_contract_transition,
    missing_mandatory_clauses,
    reminder_due,
)
from shared.errors import InvalidTransition

END = date(2026, 12, 31)


def test_missing_mandatory_clauses_depend_on_the_contract_type():
    present = dict.fromkeys(CLAUSES, True)
    assert missing_mandatory_clauses("service", present) == []
    present["data_protection"] = False
    present["ip_ownership"] = False
    assert missing_mandatory_clauses("service", present) == ["ip_ownership", "data_protection"]
    assert missing_mandatory_clauses("supply", present) == ["data_protection"]  # IP is optional for supply
    assert missing_mandatory_clauses("nda", {"confidentiality": True}) == [
        "rights_obligations",
        "data_protection",
        "termination",
        "dispute_resolution",
    ]


def test_contract_review_workflow_refuses_skipping_legal_review():
    check_contract_transition("draft", "legal_review")
    check_contract_transition("legal_review", "approved")
    check_contract_transition("rejected", "draft")
    with pytest.raises(InvalidTransition) as err:
        check_contract_transition("draft", "approved")
    assert err.value.extra == {"current": "draft", "allowed": ["legal_review"]}


@pytest.mark.parametrize(
    ("days_left", "sent", "expected"),
    [
        (91, [], None),
        (90, [], 90),
        (89, [90], None),
        (61, [90], None),
        (60, [90], 60),
        (45, [90, 60], None),
        (30, [90, 60], 30),
        (1, [90, 60, 30], None),
        (0, [90, 60], 30),  # a missed stage is still sent on the last day
        (-1, [], None),  # nothing after expiry
        (40, [], 60),  # a job that was down sends only the current stage
    ],
)
def test_expiry_reminder_stages(days_left, sent, expected):
    assert reminder_due(END, END - timedelta(days=days_left), sent) == expected
