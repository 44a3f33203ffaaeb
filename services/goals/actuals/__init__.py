"""Actuals: sales lines recorded over the API or imported from CSV, and the monthly figures they make."""
