"""Scores and tiers: features from events, scoring model versions, re-scoring, overrides, tier history."""
