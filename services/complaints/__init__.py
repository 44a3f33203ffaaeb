"""Complaints service: 24-hour response, one owner, task force, closed loop and improvement."""
