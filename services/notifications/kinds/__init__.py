"""What each consumed event means as a notification: its kind, object, people, level and template values."""
