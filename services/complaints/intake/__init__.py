"""Intake and SLA: complaints, the closed-loop state machine, stored timers, escalation, revisits."""
