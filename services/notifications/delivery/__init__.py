"""The delivery queue: one delivery per (event, recipient, channel), claimed, sent, retried and logged."""
