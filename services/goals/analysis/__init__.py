"""Analyses over targets and sales: variance (why a figure moved) and team scorecards (绩效考核)."""
