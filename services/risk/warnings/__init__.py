"""Early warning: signals, rules, deduplicated alerts, contingency plans, industry policies and the risk watch."""
