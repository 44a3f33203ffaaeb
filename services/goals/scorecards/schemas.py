"""Request and response models of the scorecards: role schemes, ratings, scorecards and their signed-off
versions."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_core import PydanticCustomError

from services.goals.money import MoneyStr
from services.goals.scorecard import COMPUTED_COMPONENTS
from shared.api import RequestBody
from shared.money import MAX_DIGITS

# The roles a scorecard is kept for (the people who own accounts).
ScoredRole = Literal["account_manager", "supervisor"]
ComponentKey = Annotated[str, Field(min_length=2, max_length=60, pattern=r"^[a-z][a-z0-9_]*$")]
Points = Annotated[Decimal, Field(max_digits=MAX_DIGITS, decimal_places=2, allow_inf_nan=False)]


class SchemeComponent(RequestBody):
    """A component of a role's scorecard: computed from the data, or a qualitative KPI the supervisor rates."""

    key: ComponentKey
    kind: Literal["computed", "qualitative"] = "computed"
    label: str | None = Field(default=None, max_length=100)
    weight: Annotated[Points, Field(ge=0)]  # percent of 100
    cap: Annotated[Points, Field(gt=0)] = Decimal(100)  # the highest score it can give

    @model_validator(mode="after")
    def _known(self) -> SchemeComponent:
        if self.kind == "computed" and self.key not in COMPUTED_COMPONENTS:
            raise PydanticCustomError(
                "component", "a computed component is one of {known}", {"known": ", ".join(COMPUTED_COMPONENTS)}
            )
        if self.kind == "qualitative" and self.key in COMPUTED_COMPONENTS:
            raise PydanticCustomError(
                "component", "{key} is computed; name a qualitative KPI otherwise", {"key": self.key}
            )
        return self


class SchemeIn(RequestBody):
    """A role's scheme: its components, their weights adding up to 100."""

    components: list[SchemeComponent] = Field(min_length=1, max_length=20)


class SchemeRead(BaseModel):
    """The scheme a role's scorecards are computed with (``default``: from the settings, nothing stored)."""

    role: ScoredRole
    source: Literal["stored", "default"]
    components: list[SchemeComponent]
    updated_by: str | None
    updated_at: datetime | None
    version: int | None


class RatingIn(RequestBody):
    """The supervisor's rating of a qualitative KPI: 0–100 with a comment."""

    score: Annotated[Points, Field(ge=0, le=100)]
    comment: str = Field(min_length=1, max_length=2000)


class RatingRead(BaseModel):
    """A rating as stored."""

    person_id: str
    period: str
    component: str
    score: MoneyStr
    comment: str
    rated_by: str
    rated_at: datetime


class SignOffIn(RequestBody):
    """Sign a scorecard off (a new version when one is signed already)."""

    note: str | None = Field(default=None, max_length=2000)


class ScoreComponentRead(BaseModel):
    """One component of a KPI score (``score: null``, ``has_data: false``: left out, the others re-weighted)."""

    component: str
    kind: Literal["computed", "qualitative"]
    label: str | None
    raw: MoneyStr | None
    score: MoneyStr | None
    cap: MoneyStr
    weight: MoneyStr
    effective_weight: MoneyStr
    contribution: MoneyStr
    has_data: bool
    comment: str | None = None  # a qualitative KPI: the supervisor's comment


class ScorecardRead(BaseModel):
    """A person's scorecard for a period: live, or as signed off (frozen)."""

    owner_id: str
    period: str
    role: ScoredRole
    status: Literal["live", "signed_off"]
    card_version: int | None  # the signed-off version (1, 2 …); null while live
    signed_by: str | None
    signed_at: datetime | None
    note: str | None
    accounts: int
    currency: str | None  # of the revenue and margin figures (an account manager's book is in one currency)
    revenue_target: MoneyStr | None  # the period's own (decomposed) target parts
    revenue_actual: MoneyStr
    margin_target: MoneyStr | None
    margin_actual: MoneyStr
    complaints_acknowledged: int
    complaints_within_sla: int
    complaints_rated: int
    at_risk_targets: int | None  # shortfalls at risk, each once; null: no approved target in the period
    action_items_due: int
    action_items_done_on_time: int
    kpi_score: MoneyStr | None
    no_data_components: list[str]  # left out of the KPI score, the other weights re-normalised
    breakdown: list[ScoreComponentRead]
