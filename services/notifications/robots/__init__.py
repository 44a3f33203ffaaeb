"""WeCom, DingTalk and Feishu group robots: their JSON formats and signing schemes."""
