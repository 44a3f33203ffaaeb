"""Routing: rules an admin changes (event kind × tier × level → recipients, channels) and who they name."""
