"""Layered engagement: the engagement log, the cadence policy per tier and what is overdue."""
