"""The in-app inbox: a user's notifications, unread count, marking read."""
