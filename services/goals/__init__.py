"""Goals service: Targets, decomposition, action plans, actuals, forecasts and team scorecards."""
