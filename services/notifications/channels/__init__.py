"""Channels: one attempt of a claimed delivery on its channel (email, webhook, WeCom, DingTalk, Feishu)."""
