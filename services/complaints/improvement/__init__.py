"""Improvement (价值提升): root cause, corrective and preventive actions, goodwill remedies, analytics."""
