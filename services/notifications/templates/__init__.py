"""Messages from one template table per kind, in 简体中文 by default and English per user preference."""
