"""Scoring service: KA registry, explainable scoring, tiers, strategy and engagement."""
