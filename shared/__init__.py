"""Common runtime of the KA Platform services: settings, database, events, bus, auth, errors, health."""
