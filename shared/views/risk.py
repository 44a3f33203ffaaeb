"""The risk service's sections of the composed views (account overview and portfolio board)."""

from __future__ import annotations

from pydantic import ConfigDict

from shared.views.base import ViewModel


class RiskAccountView(ViewModel):
    """The risk section of the account overview (GET /risk/views/accounts/{account_id})."""

    model_config = ConfigDict(extra="allow")  # placeholder until the fields are declared


class RiskPortfolioView(ViewModel):
    """The risk section of the portfolio board (GET /risk/views/portfolio)."""

    model_config = ConfigDict(extra="allow")  # placeholder until the fields are declared
