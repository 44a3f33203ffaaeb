"""The event bus on NATS JetStream: connection, streams, transactional outbox, relay, inbox consumers."""

from shared.bus.consumer import EventConsumer, Handler, HandlerContext, Handlers, merge_handlers
from shared.bus.nats import NatsBus, stream_config
from shared.bus.outbox import OutboxRelay
from shared.bus.publish import Publisher

__all__ = [
    "EventConsumer",
    "Handler",
    "HandlerContext",
    "Handlers",
    "NatsBus",
    "OutboxRelay",
    "Publisher",
    "merge_handlers",
    "stream_config",
]
