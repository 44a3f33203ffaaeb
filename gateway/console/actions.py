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
    """One button: the API's method and path (``{id}`` filled in), the form fields it sends, and fixed values.

    A change of a versioned object (``versioned``) sends ``If-Match``: the version the form carried (``row_version``,
    the one the user saw: a change made since is refused, 412), else the one a fresh GET of ``read`` shows (its ETag,
    or the object's ``version`` in the parent it is read with: ``{project}`` is a part's project).
    """

    method: Literal["POST", "PATCH"]
    path: str
    fields: tuple[str, ...] = ()
    fixed: tuple[tuple[str, Any], ...] = ()
    integers: tuple[str, ...] = ()
    versioned: bool = False
    read: str | None = None

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


COMPLAINT = "/complaints/{id}"
COMPLAINT_ACTIONS: dict[str, Action] = {
    "acknowledge": Action("POST", "/complaints/{id}/acknowledge", ("message",), versioned=True, read=COMPLAINT),
    "assign": Action("POST", "/complaints/{id}/assign", ("owner_id", "reason"), versioned=True, read=COMPLAINT),
    "notes": Action("POST", "/complaints/{id}/notes", ("body", "visibility")),
    "propose-solution": Action(
        "POST", "/complaints/{id}/propose-solution", ("message",), versioned=True, read=COMPLAINT
    ),
    "resolve": Action("POST", "/complaints/{id}/resolve", ("message",), versioned=True, read=COMPLAINT),
    "revisit": Action(
        "POST",
        "/complaints/{id}/revisit",
        ("satisfaction", "comment"),
        integers=("satisfaction",),
        versioned=True,
        read=COMPLAINT,
    ),
    "escalate": Action("POST", "/complaints/{id}/escalate", ("reason",), versioned=True, read=COMPLAINT),
}
ALERT_ACTIONS: dict[str, Action] = {
    status: Action(
        "POST",
        "/risk/alerts/{id}/transitions",
        ("note",),
        fixed=(("status", status),),
        versioned=True,
        read="/risk/alerts/{id}",
    )
    for status in ("acknowledged", "mitigating", "cleared")
}
PLAN_STEP_ACTIONS: dict[str, Action] = {"complete": Action("POST", "/risk/action-items/{id}/complete", versioned=True)}
LIMIT_ACTIONS: dict[str, Action] = {
    decision: Action("POST", f"/risk/limit-requests/{{id}}/{decision}", ("note",)) for decision in ("approve", "reject")
}
GOAL_ACTION_ACTIONS: dict[str, Action] = {"status": Action("PATCH", "/goals/actions/{id}", ("status",), versioned=True)}
# ``{id}`` of a project part is ``<project id>/parts/<part id>``; it is read with its project.
PROJECT = "/goals/projects/{project}"
PROJECT_PART_ACTIONS: dict[str, Action] = {
    "status": Action("PATCH", "/goals/projects/{id}", ("status", "acceptance_note"), versioned=True, read=PROJECT)
}

# Account plans: the owner submits and revises, a supervisor returns or approves (the approve button: overseers only).
PLAN = "/goals/plans/{id}"
PLAN_ACTIONS: dict[str, Action] = {
    **{
        step: Action("POST", "/goals/plans/{id}/transitions", fixed=(("action", step),), versioned=True, read=PLAN)
        for step in PLAN_STEPS
    },
    "approve": Action("POST", "/goals/plans/{id}/approve", versioned=True, read=PLAN),
}
# The account side accepts or rejects a delivered part (``{id}``: ``<project id>/parts/<part id>``).
PART_REVIEW_ACTIONS: dict[str, Action] = {
    decision: Action(
        "PATCH", "/goals/projects/{id}", ("acceptance_note",), fixed=(("status", status),), versioned=True, read=PROJECT
    )
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


def read_path(action: Action, object_id: str) -> str | None:
    """The GET that shows the version of the object an action changes (None: only the form carries it)."""
    if action.read is None:
        return None
    return action.read.replace("{id}", object_id).replace("{project}", object_id.split("/", 1)[0])


def listed_if_match(body: Any, object_id: str) -> str | None:
    """``If-Match`` from the ``version`` of the object among the ``parts`` of the read that lists it, else None."""
    wanted = object_id.rsplit("/", 1)[-1]
    listed = body.get("parts") if isinstance(body, dict) else None
    for item in listed if isinstance(listed, list) else []:
        if isinstance(item, dict) and item.get("id") == wanted and isinstance(item.get("version"), int):
            return f'"{item["version"]}"'
    return None


def carried_if_match(action: Action, form: Mapping[str, Any]) -> str | None:
    """The ``If-Match`` of a versioned action from the version its form carried (``row_version``), else None."""
    version = form.get("row_version")
    if action.versioned and isinstance(version, str) and version.strip().isdigit():
        return f'"{version.strip()}"'
    return None


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
