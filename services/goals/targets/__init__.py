"""Targets: setting, approving and splitting them, team targets, and tracking where they stand."""
