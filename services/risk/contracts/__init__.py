"""Contracts: the clause checklist, the review workflow and the expiry reminders."""
