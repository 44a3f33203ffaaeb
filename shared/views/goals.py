"""The goals service's sections of the composed views (account overview and portfolio board)."""

from __future__ import annotations

from pydantic import ConfigDict

from shared.views.base import ViewModel


class GoalsAccountView(ViewModel):
    """The goals section of the account overview (GET /goals/views/accounts/{account_id})."""

    model_config = ConfigDict(extra="allow")  # placeholder until the fields are declared


class GoalsPortfolioView(ViewModel):
    """The goals section of the portfolio board (GET /goals/views/portfolio)."""

    model_config = ConfigDict(extra="allow")  # placeholder until the fields are declared
