"""The scoring service's sections of the composed views (account overview and portfolio board)."""

from __future__ import annotations

from pydantic import ConfigDict

from shared.views.base import ViewModel


class ScoringAccountView(ViewModel):
    """The scoring section of the account overview (GET /scoring/views/accounts/{account_id})."""

    model_config = ConfigDict(extra="allow")  # placeholder until the fields are declared


class ScoringPortfolioView(ViewModel):
    """The scoring section of the portfolio board (GET /scoring/views/portfolio)."""

    model_config = ConfigDict(extra="allow")  # placeholder until the fields are declared
