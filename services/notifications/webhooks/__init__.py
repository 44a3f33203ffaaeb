"""Outgoing webhooks: subscriptions, signed deliveries, test deliveries."""
