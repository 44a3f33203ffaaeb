"""Benchmarks (run by ``make bench``); each ``bench/bench_*.py`` exposes ``run(quick: bool) -> BenchResult``."""
