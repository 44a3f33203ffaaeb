"""Currencies: each account's reporting currency and the FX rates projected from ``risk.fx_rate_set``."""
