"""Large items: a claim in the channel's queue, the item's parts in a queue of their own.

A broker message is at most `max_message_size` bytes, and a large one holds the broker and
both clients up while it crosses. So a frame (an item serialized and signed, or a frame of
`send_many()`) larger than `part_size` (`RabbitMQSettings`; 4 MiB by default, always below
`max_message_size`) does not go in a batch message. It goes as a *claim check*:

Sending (`PartSender.claim`, called by the publisher in the order of the frames, so a large
item keeps its place among the small ones around it):

1. The frame's claim id is the message id the claim will carry, `<sender id>.<n>`. Its
   parts wait in a durable queue of their own, `<prefix>.part.<claim id>`
   (`topology.Names.part_queue`), bound with the claim id as routing key to the
   connection's direct exchange `<prefix>.parts`. In a pipeline there is one such queue:
   competing receivers take claims from the shared queue, and the one that takes a claim
   must find every part of its frame, which consecutive parts in the shared queue would
   not promise. In pubsub every subscriber reads every item, so each subscriber the
   sender knows of gets a queue of its own, `<prefix>.part.<claim id>.<receiver id>`,
   bound the same way (the broker stores each part once and routes it to all of them).
   The sender knows the subscribers from the control log, read up to a `sync` entry it
   appends for the frame (`membership.Membership.subscribers`): every receiver whose
   `connect_recv()` returned before the `send()` is among them.
2. It publishes the frame in `ceil(size / part_size)` persistent parts, a few unconfirmed
   at a time (`WINDOW`), each with message id `<claim id>.<index>`, to that exchange.
3. Once the broker confirmed every part, it publishes the claim like any other message
   (`messages.claim_message`, signed: the sender, the claim id, the queue, the number of
   parts, the frame's size, the part size and, in pubsub, the subscribers), with the same
   confirm, backpressure and order. A claim counts one message and its frame's items in
   the channel's limits (`topology`), as a batch of one frame would.

Queues and bindings of parts are declared on the underlying AMQP channel, not through
aio-pika's robust channel, which would declare them again after a reconnect, after their
receiver deleted them. Every part queue has `x-expires` (`part_expires`): the broker deletes
it once nobody has used it for that long, which is how the parts of a sender that crashed
before publishing its claim, or of a claim nobody will read, go away. A part the broker
refuses as too large teaches the publisher the broker's limit; the frame is cut again in
smaller parts. A lost connection is waited for (`unreachable_timeout`), like any publish;
a part published twice across it is read once.

Receiving (`connector_rabbitmq.reassembly`): a claim is verified when it arrives; a forged
one is dropped, counted in `statistics().rejected` and dead-lettered, and nothing it names
is touched. A verified claim takes its place in the receiver's FIFO; claims are read in
turn: the part queue is declared (a missing one then exists, empty, instead of closing the
AMQP channel) on the AMQP channel the claim came on, and the parts are taken with
`basic.get` without acknowledging them, each checked against the claim (its index, its
size) as it comes, at most `max_item_size` bytes in all. The frame they make is verified
with the receiver's core `Verifier` before anything else is done with it; a frame of junk
is dropped, counted and its claim dead-lettered. The payload is then handed out like any
frame; once its items are, the part queue is deleted and only then is the claim
acknowledged. A receiver that dies before leaves the claim and the parts it took
unacknowledged on the same AMQP channel: the broker gives both back, and the next receiver
reads the same parts. A pubsub receiver that is not among a claim's subscribers joined
after the item was sent: it acknowledges the claim and reads nothing.

What a hostile peer can do: with broker credentials but without the key it can publish a
claim, which fails its signature; it can fill a part queue with junk (or copy a claim it saw
and fill the queue it names), which fails the part checks or the frame's signature: dropped
and counted, and the receiver reads at most `max_item_size` bytes for it. It can delete or
drain a part queue, as it can purge any queue of the connection: that item is lost.

`send()` and `send_many()` refuse, before queueing anything, a frame larger than
`max_item_size` (`Publisher.check_size`), saying which setting to raise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Final

import aio_pika
import aiormq
from aio_pika.abc import AbstractExchange, AbstractRobustChannel

from connector_core.codec import Codec
from connector_rabbitmq.connection import CLOSE_TIMEOUT
from connector_rabbitmq.messages import OVERHEAD, Claim, claim_message, part_message
from connector_rabbitmq.recovery import wait_until_open
from connector_rabbitmq.settings import (
    DEFAULT_MAX_ITEM_SIZE,
    DEFAULT_PART_EXPIRES,
    DEFAULT_PART_SIZE,
    RabbitMQSettings,
)
from connector_rabbitmq.topology import Names

__all__ = ["DEFAULT_PARTS", "WINDOW", "PartSender", "PartSettings", "Publish", "part_settings"]

_log = logging.getLogger(__name__)

WINDOW: Final = 4
"""Parts of a frame a sender has published and the broker not yet confirmed, at most."""

_REFUSALS = (
    aiormq.exceptions.ChannelAccessRefused,
    aiormq.exceptions.ChannelNotFoundEntity,
    aiormq.exceptions.ChannelLockedResource,
    aiormq.exceptions.ChannelPreconditionFailed,
)

Publish = Callable[[aio_pika.Message, AbstractExchange, str], Coroutine[Any, Any, None]]
"""Publishes a message to an exchange with a routing key until the broker confirms it
(`Publisher.publish`)."""


@dataclass(frozen=True)
class PartSettings:
    """How large items cross the broker (from `RabbitMQSettings`)."""

    part_size: int
    """Bytes per part; a frame larger than this goes in parts."""
    max_item_size: int
    """The largest frame `send()` accepts and a receiver reassembles, in bytes."""
    expires: float
    """Seconds a part queue may stay unused before the broker deletes it."""

    @property
    def arguments(self) -> dict[str, Any]:
        """The arguments of every part queue (a receiver declares it with the same ones)."""
        return {"x-expires": max(1, round(self.expires * 1000))}


DEFAULT_PARTS: Final = PartSettings(DEFAULT_PART_SIZE, DEFAULT_MAX_ITEM_SIZE, DEFAULT_PART_EXPIRES)
"""The part settings when nothing is set."""


def part_settings(settings: RabbitMQSettings) -> PartSettings:
    """The `PartSettings` that `settings` say (the part size fitted to `max_message_size`)."""
    return PartSettings(settings.effective_part_size, settings.max_item_size, settings.part_expires)


class PartSender:
    """Puts the parts of one sender's large frames in their queues and makes their claims."""

    def __init__(
        self,
        channel: AbstractRobustChannel,
        names: Names,
        settings: PartSettings,
        codec: Codec,
        sender: str,
        subscribers: Callable[[], Awaitable[list[str]]] | None = None,
        unreachable_timeout: float | None = None,
    ) -> None:
        """Creates the part sender of one sender; does no I/O.

        Args:
            channel: The sender's AMQP channel (publisher confirms on).
            names: The connection's names.
            settings: The part size, item limit and queue expiry.
            codec: The connection's codec, which signs the claims.
            sender: The sender id.
            subscribers: Optional; pubsub: returns the receivers to make part queues for
                (`Membership.subscribers`). None: a pipeline, one part queue per frame.
            unreachable_timeout: Optional; seconds to wait for a lost connection
                (None: no limit).
        """
        self.channel = channel
        self.names = names
        self.settings = settings
        self.codec = codec
        self.sender = sender
        self.subscribers = subscribers
        self.unreachable_timeout = unreachable_timeout
        self.part_size = settings.part_size
        """Bytes per part now (smaller than the setting once the broker refused a part)."""
        self.exchange = aio_pika.Exchange(channel, names.parts, durable=True)
        self.sent = 0
        """Frames sent in parts so far."""
        self._declared_on: object = None

    def shrink(self, limit: int) -> bool:
        """Cuts later parts to fit a broker limit learnt from a refusal.

        Args:
            limit: The broker's `max_message_size`.

        Returns:
            False if the parts were that small already (the refusal was for something else).
        """
        smaller = min(self.part_size, limit - OVERHEAD)
        if smaller >= self.part_size or smaller < 1:
            return False
        _log.warning(
            "the broker refused a part of %d bytes (its max_message_size is %d): cutting "
            "parts of %d bytes; set CONNECTOR_RABBITMQ_MAX_MESSAGE_SIZE=%d (and a part_size "
            "below it, or none)",
            self.part_size,
            limit,
            smaller,
            limit,
        )
        self.part_size = smaller
        return True

    async def claim(self, frame: bytes, claim_id: str, publish: Publish) -> aio_pika.Message:
        """Puts `frame`'s parts in their queues; returns the claim to publish next.

        Args:
            frame: The frame, larger than the part size.
            claim_id: The claim's message id, `<sender id>.<n>`.
            publish: Publishes one part with a confirm (`Publisher.publish`).

        Returns:
            The signed claim message.

        Raises:
            MessageTooLargeError: If the broker refused a part (nothing of it is left).
            BrokerUnreachableError: If the connection stayed lost `unreachable_timeout`.
            ChannelGoneError: If the AMQP channel was closed on purpose.
        """
        receivers = None if self.subscribers is None else tuple(await self.subscribers())
        queue = self.names.part_queue(claim_id)
        size, part = len(frame), self.part_size
        claim = Claim(self.sender, claim_id, queue, -(-size // part), size, part, receivers)
        if receivers is None:
            queues = [queue]
        else:
            queues = [self.names.part_queue(claim_id, r) for r in receivers]
        try:
            if queues:
                await self._declare(queues, claim_id)
                await self._publish_parts(frame, claim, publish)
        except BaseException:
            await self._discard(queues)
            raise
        self.sent += 1
        return claim_message(self.codec, claim)

    async def _declare(self, queues: list[str], claim_id: str) -> None:
        """Declares the exchange (once per AMQP channel), the part queues and their bindings.

        Waits for a lost connection and tries again; a refusal by the broker is raised.
        """
        arguments = self.settings.arguments
        while True:
            if self.channel.is_closed:
                await wait_until_open(self.channel, self.unreachable_timeout)
            try:
                raw = await self.channel.get_underlay_channel()
                if raw is not self._declared_on:
                    await raw.exchange_declare(self.names.parts, durable=True)
                    self._declared_on = raw
                for name in queues:
                    await raw.queue_declare(name, durable=True, arguments=arguments)
                    await raw.queue_bind(name, self.names.parts, routing_key=claim_id)
                return
            except _REFUSALS:
                raise  # the broker refused a declaration: trying again cannot help
            except (Exception, asyncio.CancelledError) as exc:
                task = asyncio.current_task()
                if isinstance(exc, asyncio.CancelledError) and task and task.cancelling():
                    raise
                # the connection dropped (aiormq cancels what waits on it): wait, try again
                _log.debug("declaring part queues interrupted (%r); retrying", exc)
                await wait_until_open(self.channel, self.unreachable_timeout)

    async def _publish_parts(self, frame: bytes, claim: Claim, publish: Publish) -> None:
        """Publishes the parts in order, up to `WINDOW` unconfirmed; returns once all are."""
        loop = asyncio.get_running_loop()
        flying: set[asyncio.Task[None]] = set()
        view = memoryview(frame)
        try:
            for index in range(claim.parts):
                if len(flying) >= WINDOW:
                    done, flying = await asyncio.wait(flying, return_when=asyncio.FIRST_COMPLETED)
                    for task in done:
                        task.result()
                start = index * claim.part_size
                chunk = bytes(view[start : start + claim.part_size])
                message = part_message(chunk, claim.claim_id, index, self.sender)
                flying.add(loop.create_task(publish(message, self.exchange, claim.claim_id)))
            for done_first in asyncio.as_completed(flying):
                await done_first
        finally:
            for task in flying:
                task.cancel()
            if flying:
                await asyncio.gather(*flying, return_exceptions=True)

    async def _discard(self, queues: list[str]) -> None:
        """Deletes the part queues of a frame that failed (best effort: else they expire)."""
        if not queues or self.channel.is_closed:
            return
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                raw = await self.channel.get_underlay_channel()
                for name in queues:
                    await raw.queue_delete(name)
