"""Per-user preferences: language, channels per kind, quiet hours and the daily digest."""
