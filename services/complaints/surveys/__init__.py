"""Satisfaction surveys (满意度调研): templates, schedules, customer links, answers, results and follow-ups."""
