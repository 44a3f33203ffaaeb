"""The base of every view model a service serves to the gateway."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ViewModel(BaseModel):
    """A typed view section: built by its service, read by the gateway.

    Unknown fields are ignored when read, so a service may add a field before the gateway knows it
    (a versioned addition, as for events).
    """

    model_config = ConfigDict(extra="ignore")
