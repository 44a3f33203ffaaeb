"""The event bus on NATS JetStream: connection, streams, transactional outbox, relay, inbox consumers."""

from shared.bus.consumer import EventConsumer, Handler, HandlerContext, Handlers
from shared.bus.nats import NatsBus, stream_config
from shared.bus.outbox import OutboxRelay, add_event

__all__ = [
    "EventConsumer",
    "Handler",
    "HandlerContext",
    "Handlers",
    "NatsBus",
    "OutboxRelay",
    "add_event",
    "stream_config",
]
