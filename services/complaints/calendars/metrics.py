"""The calendar gauge on ``/metrics``: how many days of known business calendar remain (judged at scrape time)."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from services.complaints.rules import Rules
from shared.clock import business_date

GAUGE = "kam_complaints_calendar_days_remaining"
HELP = "Days of business calendar data left after today (company zone); 0 when it has ended"


class CalendarDaysCollector(Collector):
    """Reads the app's rules and clock on every scrape, so the figure is never stale."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def describe(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(GAUGE, HELP, labels=["calendar"])

    def collect(self) -> Iterator[Metric]:
        rules: Rules = self.app.state.complaint_rules
        today = business_date(self.app.state.clock.now(), rules.zone)
        family = GaugeMetricFamily(GAUGE, HELP, labels=["calendar"])
        family.add_metric([rules.calendar.code], rules.calendar.days_remaining(today))
        yield family


def register_calendar_gauge(app: FastAPI) -> None:
    """Add the calendar gauge to the app's own registry (``app.state.metrics.registry``)."""
    app.state.metrics.registry.register(CalendarDaysCollector(app))
