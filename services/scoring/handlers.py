"""Consumed events of the scoring service: ``HANDLERS = {event type: [handler, ...]}``."""

from shared.bus import Handler

HANDLERS: dict[str, list[Handler]] = {}
