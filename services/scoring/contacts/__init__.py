"""Contacts and the relationship map: who the account's people are, their role in the buying decision, their
attitude and whom they report to; edited with history, retired (never deleted)."""
