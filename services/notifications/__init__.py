"""The notifications service: routing, preferences, the in-app inbox, email, webhooks and group robots."""
