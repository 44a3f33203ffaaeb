"""The delivery log: every delivery and attempt, filtered; replaying dead ones; counts of the queue."""
