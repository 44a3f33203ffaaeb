"""Benchmarks: ``python -m bench`` runs every ``bench/scenario_*.py`` (each exposes ``run(ctx) -> Section``)."""
