"""Forecasts like a sales team's: commit / best case / pipeline per account manager and period, the supervisor's
adjustments, quota and the system's forecasts beside them, and the history of every submission."""
