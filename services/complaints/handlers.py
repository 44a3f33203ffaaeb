"""Consumed events of the complaints service: ``HANDLERS = {event type: [handler, ...]}``."""

from shared.bus import Handler
from shared.projection import PROJECTION_HANDLERS, merge_handlers

HANDLERS: dict[str, list[Handler]] = merge_handlers(PROJECTION_HANDLERS)
