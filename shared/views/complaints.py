"""The complaints service's sections of the composed views (account overview and portfolio board)."""

from __future__ import annotations

from pydantic import ConfigDict

from shared.views.base import ViewModel


class ComplaintsAccountView(ViewModel):
    """The complaints section of the account overview (GET /complaints/views/accounts/{account_id})."""

    model_config = ConfigDict(extra="allow")  # placeholder until the fields are declared


class ComplaintsPortfolioView(ViewModel):
    """The complaints section of the portfolio board (GET /complaints/views/portfolio)."""

    model_config = ConfigDict(extra="allow")  # placeholder until the fields are declared
