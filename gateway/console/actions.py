"""The console's actions, in one table each: which API call a button makes and which form fields go in its body.

A blank field is left out, so that the service's own validation names it (and the console shows that ``detail``
next to the field); nothing is validated twice here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from starlette.datastructures import FormData

PLAN_STEPS = ("submit", "return", "revise")


@dataclass(frozen=True)
class Action:
    """One button: the API's method and path (``{id}`` filled in), the form fields it sends, and fixed values."""

    method: Literal["POST", "PATCH"]
    path: str
    fields: tuple[str, ...] = ()
    fixed: tuple[tuple[str, Any], ...] = ()
    integers: tuple[str, ...] = ()

    def body(self, form: Mapping[str, Any]) -> dict[str, Any]:
        """The JSON body from a submitted form."""
        body: dict[str, Any] = dict(self.fixed)
        for name in self.fields:
            value = form.get(name)
            if not isinstance(value, str) or not value.strip():
                continue
            text = value.strip()
            body[name] = int(text) if name in self.integers and text.isdigit() else text
        return body


COMPLAINT_ACTIONS: dict[str, Action] = {
    "acknowledge": Action("POST", "/complaints/{id}/acknowledge", ("message",)),
    "assign": Action("POST", "/complaints/{id}/assign", ("owner_id", "reason")),
    "notes": Action("POST", "/complaints/{id}/notes", ("body", "visibility")),
    "propose-solution": Action("POST", "/complaints/{id}/propose-solution", ("message",)),
    "resolve": Action("POST", "/complaints/{id}/resolve", ("message",)),
    "revisit": Action("POST", "/complaints/{id}/revisit", ("satisfaction", "comment"), integers=("satisfaction",)),
    "escalate": Action("POST", "/complaints/{id}/escalate", ("reason",)),
}
ALERT_ACTIONS: dict[str, Action] = {
    status: Action("POST", "/risk/alerts/{id}/transitions", ("note",), fixed=(("status", status),))
    for status in ("acknowledged", "mitigating", "cleared")
}
PLAN_STEP_ACTIONS: dict[str, Action] = {"complete": Action("POST", "/risk/action-items/{id}/complete")}
LIMIT_ACTIONS: dict[str, Action] = {
    decision: Action("POST", f"/risk/limit-requests/{{id}}/{decision}", ("note",)) for decision in ("approve", "reject")
}
GOAL_ACTION_ACTIONS: dict[str, Action] = {"status": Action("PATCH", "/goals/actions/{id}", ("status",))}
# ``{id}`` of a project part is ``<project id>/parts/<part id>``.
PROJECT_PART_ACTIONS: dict[str, Action] = {
    "status": Action("PATCH", "/goals/projects/{id}", ("status", "acceptance_note"))
}

# Account plans: the owner submits and revises, a supervisor returns or approves (the approve button: overseers only).
PLAN_ACTIONS: dict[str, Action] = {
    **{step: Action("POST", "/goals/plans/{id}/transitions", fixed=(("action", step),)) for step in PLAN_STEPS},
    "approve": Action("POST", "/goals/plans/{id}/approve"),
}
# The account side accepts or rejects a delivered part (``{id}``: ``<project id>/parts/<part id>``).
PART_REVIEW_ACTIONS: dict[str, Action] = {
    decision: Action("PATCH", "/goals/projects/{id}", ("acceptance_note",), fixed=(("status", status),))
    for decision, status in (("accept", "accepted"), ("reject", "rejected"))
}
SURVEY_REQUEST = Action("POST", "/complaints/surveys/requests", ("contact_id", "template_code"))
FOLLOW_UP_DONE = Action("POST", "/complaints/surveys/follow-ups/{id}/done", ("note",))
PROJECT_CREATE = Action("POST", "/goals/projects", ("title", "description"))
PART_FIELDS = ("department", "title", "owner_id", "due_on")
MAX_FORM_PARTS = 3  # the console's project form asks up to three departments at once (the API: twelve)


def project_body(form: Mapping[str, Any], account_id: str) -> dict[str, Any]:
    """A new project's body: its title and the filled part rows (``part{n}_department`` …); blanks left out."""
    body = {**PROJECT_CREATE.body(form), "account_id": account_id, "parts": []}
    for n in range(MAX_FORM_PARTS):
        part = Action("POST", "", tuple(f"part{n}_{name}" for name in PART_FIELDS)).body(form)
        if part:
            body["parts"].append({key.removeprefix(f"part{n}_"): value for key, value in part.items()})
    return body


def path_of(action: Action, object_id: str) -> str:
    """The API path of an action on one object."""
    return action.path.replace("{id}", object_id)


def form_values(form: FormData) -> dict[str, Any]:
    """A submitted form's text fields."""
    return {key: value for key, value in form.items() if isinstance(value, str)}


def spreadsheet_as_csv(filename: str, content: bytes) -> bytes:
    """An uploaded file as CSV bytes: a CSV passes unchanged; the first sheet of an XLSX is written as UTF-8 CSV."""
    if not filename.lower().endswith(".xlsx"):
        return content
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for row in sheet.iter_rows(values_only=True):
            writer.writerow(["" if cell is None else _cell(cell) for cell in row])
    finally:
        workbook.close()
    return out.getvalue().encode("utf-8")


def _cell(value: object) -> str:
    if hasattr(value, "isoformat"):
        text: str = value.isoformat()
        return text[:10] if text.endswith("T00:00:00") else text
    return str(value)
