"""`RabbitMQSender`: the send transport of a `RabbitMQChannel` (core's `SendTransport`).

`try_send()`/`send()` queue a frame in the publisher's outbox (`connector_rabbitmq.publisher`
publishes it with a confirm), after refusing one no broker message could carry. `flush()`
waits for every confirm so far. `send()`'s items come serialized and unsealed (core's
`ItemSender`): those queued while the publisher awaits a confirm form a run, sealed as one
frame (one signature) when it takes them.

Room is counted in items: a frame sealed by `send_many()` takes as many units of the
outbox as it carries items, and `buffered()` reports items. `batch_items` (the most items
`send_many()` seals in one frame) is `Limits.batch_items`, the most items the publisher
packs into one AMQP message, so that every message carries at most that many items and the
broker's limits, which count messages, bound items (`connector_rabbitmq.topology`). A frame
larger than the part size crosses in parts (`connector_rabbitmq.parts`), so no frame is too
large for the broker. A sender made directly from an exchange cannot send parts: when the
broker's largest message (`max_message_size`, the setting or the limit learnt from a
refusal) cannot hold a frame of core's batch size (`BATCH_BYTES`), its `batch_items` is 1:
an item that fits a message alone never fails its `send_many()` for having been sealed
with others.

Close protocol, for a sender of a connection (`membership`): refuse new frames, flush (wait
for every confirm), append `close` to the control log, then (pubsub) publish the end-of-stream
marker behind the data; then the last party out cleans up (`membership.last_one_out`), and
the AMQP channels are closed and the broker connection handed back in every case. A pipeline
sender publishes no marker: its `close` entry, appended once the broker confirmed all it sent,
says that all of it is in the shared queue (`connector_rabbitmq.ending`), so its close needs
no room in the queue beyond its data's. A sender made directly from an exchange (no
membership) only flushes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from typing import Any, cast

from aio_pika.abc import AbstractExchange

from connector_core.exceptions import ChannelClosedError
from connector_core.sealer import ITEM_OVERHEAD
from connector_core.spec import ConnectorMode
from connector_core.transport_channel import BATCH_BYTES
from connector_rabbitmq.control import CLOSE
from connector_rabbitmq.membership import Membership, last_one_out
from connector_rabbitmq.messages import OVERHEAD, marker_body
from connector_rabbitmq.parts import PartSender, PartSettings
from connector_rabbitmq.publisher import (
    MessageTooLargeError,
    Publisher,
    publish_error,
    refused_error,
)
from connector_rabbitmq.recovery import BrokerUnreachableError
from connector_rabbitmq.topology import Limits

__all__ = ["RabbitMQSender", "frame_items"]


def frame_items(batch_items: int, max_message_size: int | None) -> int:
    """The most items one frame may carry so that it always fits one AMQP message.

    Args:
        batch_items: The most items the publisher packs into one message
            (`Limits.batch_items`).
        max_message_size: The broker's largest message in bytes, if known.
    """
    if max_message_size is not None and max_message_size < BATCH_BYTES + OVERHEAD:
        return 1  # a frame of several items may be up to BATCH_BYTES: send items alone
    return batch_items


class RabbitMQSender:
    """Moves one sender's frames to the broker; ends its part of the connection on close."""

    def __init__(
        self,
        exchange: AbstractExchange,
        routing_key: str,
        limits: Limits,
        membership: Membership | None = None,
        unreachable_timeout: float | None = None,
        max_message_size: int | None = None,
        parts: PartSettings | None = None,
    ) -> None:
        """Creates a sender that publishes to `exchange` (its channel has confirms on).

        Args:
            exchange: Where to publish.
            routing_key: The routing key of every message.
            limits: The batch and buffer limits of the channel.
            membership: Optional; its connection (None for a sender made directly from an
                exchange). Its party id names the messages.
            unreachable_timeout: Optional; seconds a lost broker may stay away before
                sending fails, and the last party's cleanup may take (None: no limit).
            max_message_size: Optional; the broker's largest message in bytes.
            parts: Optional; how frames larger than a part cross the broker (used with a
                `membership` only: see the module).
        """
        party = membership.party if membership is not None else f"s-{uuid.uuid4().hex[:12]}"
        channel = cast(Any, exchange).channel
        part_sender = None
        codec = membership.log.codec if membership is not None else None
        if membership is not None and parts is not None and codec is not None:
            pubsub = membership.mode is ConnectorMode.PUBSUB
            part_sender = PartSender(
                channel,
                membership.names,
                parts,
                codec,
                party,
                membership.subscribers if pubsub else None,
                unreachable_timeout,
            )
        self.publisher = Publisher(
            channel,
            exchange,
            routing_key,
            sender_id=party,
            batch_items=limits.batch_items,
            buffer_limit=limits.sender_buffer,
            unreachable_timeout=unreachable_timeout,
            max_message_size=max_message_size,
            parts=part_sender,
            codec=codec,
        )
        self.membership = membership
        self.timeout = unreachable_timeout
        self.batch_items = limits.batch_items
        """The most items one frame may carry (`send_many()`; see the module)."""
        if part_sender is None:
            self.batch_items = frame_items(limits.batch_items, max_message_size)

    def seal_runs_with(self, seal: Callable[[list[bytes]], bytes]) -> None:
        """Seals runs of `send()`'s items with `seal` as they are taken (core `ItemSender`)."""
        self.publisher.outbox.seal_runs_with(seal, self.batch_items)

    def try_send(self, frame: bytes, items: int = 1) -> bool:
        """Queues `frame` (carrying `items` items) if the outbox has room for them now.

        Returns:
            False when the outbox is full (nothing was queued).

        Raises:
            ChannelSerializationError: If `frame` is larger than the largest item (or a
                broker message, without parts), or the broker refused an earlier item.
            ChannelClosedError: If the sender is closing.
            ChannelError: If publishing failed for good.
        """
        self._admit(len(frame), items)
        return self._queued(self.publisher.outbox.offer, frame, items)

    def try_send_item(self, payload: bytes) -> bool:
        """Queues one serialized item (sealed with its run when taken) if there is room now.

        Raises:
            ChannelSerializationError: As `try_send()`, for the item sealed alone.
            ChannelClosedError: If the sender is closing.
            ChannelError: If publishing failed for good.
        """
        self._admit(len(payload) + ITEM_OVERHEAD, 1)
        return self._queued(self.publisher.outbox.offer_item, payload)

    def control_rejected(self) -> int:
        """Control-log entries this sender dropped as unsigned or forged.

        Core's `ControlRejections`: they count in the channel's `statistics().rejected`. (A
        receiver's log counts them through its channel's verifier instead.)
        """
        membership = self.membership
        return membership.log.rejected if membership is not None else 0

    def check_size(self, frame: int, items: int = 1) -> None:
        """Refuses a frame larger than the largest item (core's `SizeLimited`).

        Args:
            frame: The frame's size in bytes.
            items: Optional; the items it carries.

        Raises:
            ChannelSerializationError: If the frame is larger than `max_item_size`, or
                (without parts) than the broker's `max_message_size`.
        """
        self.publisher.check_size(frame, items)

    def _admit(self, size: int, items: int) -> None:
        self.publisher.check_size(size, items)
        self._raise_refused()

    def _queued(self, offer: Callable[..., bool], *args: Any) -> bool:
        publisher = self.publisher
        try:
            queued = offer(*args)
        except ChannelClosedError:
            raise
        except Exception as exc:
            raise publish_error(exc, len(publisher.outbox)) from exc
        if queued:
            publisher.start()
        return queued

    async def send(self, frame: bytes, items: int = 1) -> None:
        """Queues `frame` (carrying `items` items), waiting for room for them.

        A cancelled call queued nothing.

        Raises:
            ChannelSerializationError: As `try_send()`.
            ChannelClosedError: If the sender closes while waiting.
            ChannelError: If publishing failed for good.
        """
        self._admit(len(frame), items)
        await self._wait_queued(self.publisher.outbox.put(frame, items))

    async def send_item(self, payload: bytes) -> None:
        """Queues one serialized item, waiting for room; a cancelled call queued nothing.

        Raises:
            ChannelSerializationError: As `try_send_item()`.
            ChannelClosedError: If the sender closes while waiting.
            ChannelError: If publishing failed for good.
        """
        self._admit(len(payload) + ITEM_OVERHEAD, 1)
        await self._wait_queued(self.publisher.outbox.put_item(payload))

    async def _wait_queued(self, put: Coroutine[Any, Any, None]) -> None:
        publisher = self.publisher
        publisher.start()
        try:
            await put
        except ChannelClosedError:
            raise
        except Exception as exc:
            raise publish_error(exc, len(publisher.outbox)) from exc

    async def flush(self) -> None:
        """Waits until the broker has confirmed everything queued so far.

        Raises:
            ChannelSerializationError: If the broker refused an item as too large.
            ChannelError: If publishing failed for good.
        """
        try:
            await self.publisher.flush()
        except Exception as exc:
            raise publish_error(exc, len(self.publisher.outbox)) from exc
        self._raise_refused()

    def _raise_refused(self) -> None:
        publisher = self.publisher
        refused = publisher.take_refused()
        if refused is not None:
            if publisher.parts is None:  # the limit learnt may be too small for a batch
                self.batch_items = frame_items(self.batch_items, publisher.max_message_size)
            raise refused_error(refused)

    async def close(self) -> None:
        """Flushes, announces the close (pubsub: and the end marker), cleans up if last.

        Raises:
            ChannelSerializationError: If the broker refused an item as too large.
            ChannelError: If queued items could not be published.
        """
        publisher, membership = self.publisher, self.membership
        publisher.outbox.close()  # senders waiting for room raise ChannelClosedError
        error: BaseException | None = None
        refused: MessageTooLargeError | None = None
        try:
            try:
                await publisher.flush()
                if membership is not None:
                    await membership.log.append(CLOSE, membership.party)
                    if membership.mode is ConnectorMode.PUBSUB:
                        codec = membership.log.codec
                        body = marker_body(codec, membership.party) if codec is not None else b""
                        await publisher.publish_marker(body)
            except Exception as exc:
                error = exc
            refused = publisher.take_refused()
            await publisher.stop()
            if membership is not None and not isinstance(error, BrokerUnreachableError):
                await last_one_out(membership, CLOSE, self.timeout)
        finally:
            if membership is not None:
                await membership.close()
        if error is not None:
            raise publish_error(error, len(publisher.outbox)) from error
        if refused is not None:
            raise refused_error(refused)

    def buffered(self) -> int:
        """Items queued or awaiting their confirm."""
        return len(self.publisher.outbox)

    def peer_counts(self) -> tuple[int, int]:
        """Open (senders, receivers) per the control log; (1, 0) for a sender made directly."""
        if self.membership is None:
            return (1, 0)
        return self.membership.peer_counts()
