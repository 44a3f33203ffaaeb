"""``kam``: the operator command line (up, migrate, dead letters, users, import, demo)."""
