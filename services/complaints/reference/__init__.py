"""Reference data: the complaint taxonomy (categories) and the SLA policies per tier and severity."""
