"""`Delivery`: one AMQP message a receiver took, and how far it has been handed out.

The consumer (`connector_rabbitmq.consumer`) keeps one per message in its FIFO, in arrival
order: a batch's verified payloads, an end-of-stream marker, or a claim whose parts are
being read (`pending`, see `connector_rabbitmq.reassembly`) until they make a verified
payload.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from aio_pika.abc import AbstractIncomingMessage

from connector_core.payload import Payload
from connector_rabbitmq.messages import Claim

__all__ = ["Delivery"]


@dataclass(eq=False)
class Delivery:
    """One AMQP message in the local FIFO and how far it has been handed out."""

    message: AbstractIncomingMessage
    frames: list[Payload] | None
    """The verified payloads; None for an end-of-stream marker."""
    items: list[int] = field(default_factory=list)
    """The item count of each verified payload (`Verifier.accept_items`)."""
    bad: bool = False
    """A frame failed verification: dead-letter it instead of acknowledging."""
    index: int = 0
    """Frames handed out (or skipped as duplicates) so far."""
    done: bool = False
    amqp_channel: Any = field(default=None)
    """The AMQP channel it arrived on (acks must go there)."""
    claim: Claim | None = None
    """The claim it carries, verified (a large frame's parts wait in a queue)."""
    pending: bool = False
    """A claim whose parts are being read: nothing to hand out yet."""
    part_queue: str | None = None
    """The queue of parts declared for it: deleted before the claim is settled."""
    part_tags: list[int] = field(default_factory=list)
    """Delivery tags of the parts taken, unacknowledged, on `amqp_channel`."""

    def __post_init__(self) -> None:
        with contextlib.suppress(Exception):
            self.amqp_channel = self.message.channel

    @property
    def is_eos(self) -> bool:
        """True for a sender's end-of-stream marker."""
        return self.frames is None

    @property
    def sender(self) -> str:
        """The sender id (`app_id`) of the message."""
        return self.message.app_id or ""

    @property
    def message_id(self) -> str:
        """The message id, or a stand-in for a message that has none (a forged one)."""
        return self.message.message_id or f"tag-{self.message.delivery_tag}"

    def stale(self) -> bool:
        """True when its AMQP channel died: it cannot be acked and will be redelivered."""
        channel = self.amqp_channel
        return channel is None or bool(channel.is_closed)
