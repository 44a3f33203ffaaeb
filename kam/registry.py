"""Where each app lives, for the CLI (the CLI may import every part; nothing imports the CLI)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class AppInfo:
    """One process of the platform."""

    name: str
    module: str  # dotted path of the package holding app.py, config.py, models.py
    settings_class: str
    port: int
    env_prefix: str
    has_database: bool = True

    @property
    def factory(self) -> str:
        """``module.app:create_app`` for uvicorn --factory."""
        return f"{self.module}.app:create_app"

    @property
    def migrations_dir(self) -> Path:
        """The app's Alembic folder."""
        return ROOT / self.module.replace(".", "/") / "migrations"

    def settings(self, **overrides: Any) -> Any:
        """Instantiate the app's settings."""
        config = importlib.import_module(f"{self.module}.config")
        return getattr(config, self.settings_class)(**overrides)

    def metadata(self) -> Any:
        """The app's SQLAlchemy metadata."""
        return importlib.import_module(f"{self.module}.models").Base.metadata


SERVICES: dict[str, AppInfo] = {
    "scoring": AppInfo("scoring", "services.scoring", "ScoringSettings", 8001, "KAM_SCORING_"),
    "complaints": AppInfo("complaints", "services.complaints", "ComplaintsSettings", 8002, "KAM_COMPLAINTS_"),
    "risk": AppInfo("risk", "services.risk", "RiskSettings", 8003, "KAM_RISK_"),
    "goals": AppInfo("goals", "services.goals", "GoalsSettings", 8004, "KAM_GOALS_"),
    "notifications": AppInfo(
        "notifications", "services.notifications", "NotificationsSettings", 8005, "KAM_NOTIFICATIONS_"
    ),
}
GATEWAY = AppInfo("gateway", "gateway", "GatewaySettings", 8000, "KAM_GATEWAY_")
APPS: dict[str, AppInfo] = {**SERVICES, "gateway": GATEWAY}
