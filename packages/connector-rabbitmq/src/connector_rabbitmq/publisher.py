"""`Publisher`: one sender's frames, published in batches with publisher confirms, in order.

Frames wait in core's `Outbox` (`connector_core.transport`), which counts items: a frame
sealed by `send_many()` weighs the items it carries. A flusher task takes whatever the
outbox holds the moment it is free, up to `Limits.batch_items` *items* and
`MAX_BATCH_BYTES`, and publishes it as one AMQP message (see `connector_rabbitmq.messages`).
No frame carries more than `batch_items` items (the sender declares as much), so no message
does either: the broker's limits, which count messages, bound items
(`connector_rabbitmq.topology`). Only one message is unconfirmed at a time: while the broker
confirms it, the outbox fills, so batches grow with load and a lone item still goes out on
the next loop iteration. The outbox holds two batches of items (the one being filled and
the one awaiting its confirm); a full outbox makes `send()` wait for room.

A frame larger than the part size goes alone, as parts in a queue of their own and a claim
in its place (`connector_rabbitmq.parts`); `check_size()` refuses, before it is queued, a
frame larger than `max_item_size`. A publisher without a `PartSender` (a sender made
directly from an exchange) cannot split: it refuses a frame larger than `max_message_size`.

When the broker refuses a message (`basic.nack`: a full queue with
`x-overflow=reject-publish`, which is how backpressure reaches the sender) or the connection
drops before the confirm, the *same* message is published again, after a short backoff or
once the robust channel is back. With one message in flight, retries never reorder. A retry
of a batch carries a signed retry mark (`connector_rabbitmq.retries`), so that the queues
that had kept a copy (a fanout's other subscribers, or the queue whose confirm was lost)
take the new one as a duplicate, skipped by its id, and not as a replay.

Bounded waits: while the connection is lost, publishing waits for it to come back for at
most `unreachable_timeout` seconds, then the outbox fails with `BrokerUnreachableError` (the
sender reports the items not confirmed). A message larger than the broker's
`max_message_size` (a setting above the broker's own) is refused by the broker (it closes the
AMQP channel): the publisher learns the limit from the refusal, splits a batch of several
frames, sends a single frame that does not fit in parts (smaller ones, if a part was
refused), and without a `PartSender` drops it, reporting it once (`take_refused()`),
instead of republishing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import deque
from collections.abc import Sequence
from typing import Final

import aio_pika
import aiormq
from aio_pika.abc import AbstractExchange, AbstractRobustChannel

from connector_core.codec import Codec
from connector_core.exceptions import ChannelError, ChannelSerializationError
from connector_core.transport import Outbox
from connector_rabbitmq.messages import BATCH, OVERHEAD, batch_message, marker_message, split
from connector_rabbitmq.parts import PartSender
from connector_rabbitmq.recovery import BrokerUnreachableError, ChannelGoneError, wait_until_open
from connector_rabbitmq.retries import body_digest, marked_retry
from connector_rabbitmq.topology import MAX_BATCH_BYTES

__all__ = ["MessageTooLargeError", "Publisher", "publish_error", "refused_error"]

_log = logging.getLogger(__name__)

_BACKOFF_MIN: Final = 0.001
_BACKOFF_MAX: Final = 0.1
_BROKER_LIMIT = re.compile(r"larger than configured max size (\d+)")


class MessageTooLargeError(Exception):
    """The broker refused a message as larger than its `max_message_size`."""

    def __init__(self, size: int, limit: int) -> None:
        """Creates the error for a message body of `size` bytes and a broker limit."""
        super().__init__(
            f"the broker refused a message of {size} bytes: its max_message_size is {limit} bytes"
        )
        self.size = size
        self.limit = limit


class Publisher:
    """Publishes the frames of one outbox to one exchange, with confirms, in order."""

    def __init__(
        self,
        channel: AbstractRobustChannel,
        exchange: AbstractExchange,
        routing_key: str,
        sender_id: str,
        batch_items: int,
        buffer_limit: int | None,
        unreachable_timeout: float | None = None,
        max_message_size: int | None = None,
        parts: PartSender | None = None,
        codec: Codec | None = None,
    ) -> None:
        """Creates the publisher; its flusher starts with the first frame (`start()`).

        Args:
            channel: The AMQP channel (publisher confirms on) that `exchange` belongs to.
            exchange: Where to publish.
            routing_key: The routing key of every message (the channel's topic).
            sender_id: Prefix of every message id; unique per sender.
            batch_items: Most items per message.
            buffer_limit: Items of one batch being filled; the outbox holds two batches
                of items (None: unbounded).
            unreachable_timeout: Optional; seconds to wait for a lost connection to come
                back before failing with `BrokerUnreachableError` (None: no limit).
            max_message_size: Optional; the broker's largest message body in bytes
                (None: no limit known until the broker refuses one).
            parts: Optional; sends frames larger than its part size in parts (None: such
                frames are refused when larger than `max_message_size`).
            codec: Optional; the connection's codec, which signs the mark of a batch
                published again (None: retries go unmarked, for a channel of no connection).
        """
        self.channel = channel
        self.codec = codec
        self.exchange = exchange
        self.routing_key = routing_key
        self.sender_id = sender_id
        self.batch_items = batch_items
        self.unreachable_timeout = unreachable_timeout
        self.max_message_size = max_message_size
        self.parts = parts
        self.outbox = Outbox(0 if buffer_limit is None else 2 * buffer_limit)
        self.messages = 0
        """AMQP data messages published so far (retries not counted)."""
        self.retries = 0
        self._task: asyncio.Task[None] | None = None
        self._refused: deque[MessageTooLargeError] = deque()

    def start(self) -> None:
        """Starts the flusher task if it is not running yet."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"rabbitmq-publisher-{self.sender_id}"
            )

    def check_size(self, frame: int, items: int = 1) -> None:
        """Refuses a frame larger than the largest item, before it is queued.

        Args:
            frame: The frame's size in bytes (serialized and signed).
            items: Optional; the items it carries (several for a frame of `send_many()`).

        Raises:
            ChannelSerializationError: If the frame is larger than `max_item_size`, or
                (without a `PartSender`) than `max_message_size`.
        """
        what = "the item is" if items == 1 else f"a batch of {items} items is"
        parts = self.parts
        if parts is not None:
            largest = parts.settings.max_item_size
            if frame > largest:
                raise ChannelSerializationError(
                    f"{what} {frame} bytes serialized and signed, more than the largest item "
                    f"of {largest} bytes (CONNECTOR_RABBITMQ_MAX_ITEM_SIZE); nothing was sent: "
                    "send smaller items, or raise CONNECTOR_RABBITMQ_MAX_ITEM_SIZE in every "
                    "process of the connection"
                )
            return
        limit = self.max_message_size
        if limit is not None and frame + OVERHEAD > limit:
            raise ChannelSerializationError(
                f"{what} {frame} bytes serialized and signed, more than a RabbitMQ "
                f"message holds: the broker's max_message_size is {limit} bytes "
                "(CONNECTOR_RABBITMQ_MAX_MESSAGE_SIZE); nothing was sent: send smaller items"
            )

    def take_refused(self) -> MessageTooLargeError | None:
        """Returns (once) the oldest refusal of a frame too large for the broker, if any."""
        return self._refused.popleft() if self._refused else None

    @property
    def batch_bytes(self) -> int:
        """Most body bytes one message may carry."""
        if self.max_message_size is None:
            return MAX_BATCH_BYTES
        return min(MAX_BATCH_BYTES, self.max_message_size)

    async def flush(self) -> None:
        """Waits until every frame queued so far is confirmed by the broker (or refused).

        Raises:
            Exception: The error that stopped the flusher, if it failed.
        """
        await self.outbox.empty()

    async def stop(self) -> None:
        """Stops the flusher (what is not flushed stays unconfirmed)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def publish_marker(self, body: bytes = b"") -> None:
        """Publishes this sender's end-of-stream marker (after a `flush()`), confirmed.

        Args:
            body: Optional; the marker's signed body (`connector_rabbitmq.messages`).
        """
        await self.publish(marker_message(self.sender_id, body))

    async def _run(self) -> None:
        outbox = self.outbox
        try:
            while True:
                await outbox.ready()
                taken = outbox.take(self.batch_items, self.batch_bytes)
                alone = None if self.parts is None else self.parts.part_size
                for run in split(taken, self.batch_bytes, alone):
                    if alone is not None and len(run[0]) > alone:
                        await self._publish_large(run[0])
                    else:
                        await self._publish_frames(run)
                    outbox.settle(len(run))
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # reported by the next send(), flush() or close()
            outbox.fail(exc)
            if not isinstance(exc, Exception):
                raise

    async def _publish_frames(self, frames: Sequence[bytes]) -> None:
        """Publishes `frames` as one message, split again if the broker finds it too large."""
        message = batch_message(frames, f"{self.sender_id}.{self.messages}", self.sender_id)
        self.messages += 1
        try:
            await self.publish(message)
        except MessageTooLargeError as exc:
            self.max_message_size = exc.limit
            if len(frames) == 1:
                if self.parts is not None and self.parts.shrink(exc.limit):
                    await self._publish_large(frames[0])
                else:
                    self._refused.append(exc)
                return
            runs = split(frames, self.batch_bytes)
            if len(runs) == 1:
                half = len(frames) // 2
                runs = [list(frames[:half]), list(frames[half:])]
            for run in runs:
                await self._publish_frames(run)

    async def _publish_large(self, frame: bytes) -> None:
        """Publishes `frame` in parts, then its claim (see `connector_rabbitmq.parts`)."""
        parts = self.parts
        assert parts is not None
        claim_id = f"{self.sender_id}.{self.messages}"
        self.messages += 1
        while True:
            try:
                claim = await parts.claim(frame, claim_id, self.publish)
                break
            except MessageTooLargeError as exc:  # a part: cut the frame again, smaller
                self.max_message_size = exc.limit
                if not parts.shrink(exc.limit):
                    self._refused.append(exc)
                    return
        await self.publish(claim)

    async def publish(
        self,
        message: aio_pika.Message,
        exchange: AbstractExchange | None = None,
        routing_key: str | None = None,
    ) -> None:
        """Publishes `message` until the broker confirms it, outside the outbox.

        A refusal of a full queue is retried with backoff, a lost connection once it is
        back (see the module); a cancelled call may have published it.

        Args:
            message: The message.
            exchange: Optional; where to publish it (default: the publisher's exchange).
            routing_key: Optional; its routing key (default: the publisher's).

        Raises:
            MessageTooLargeError: If the broker refused it as too large.
            BrokerUnreachableError: If the connection stayed lost `unreachable_timeout`.
            ChannelGoneError: If the AMQP channel was closed on purpose.
        """
        target = self.exchange if exchange is None else exchange
        key = self.routing_key if routing_key is None else routing_key
        backoff = _BACKOFF_MIN
        attempt = 0
        outgoing = message
        digest: bytes | None = None
        while True:
            if self.channel.is_closed:
                await self._reconnected()  # publish() itself would wait without a limit
            if attempt and self.codec is not None and message.type == BATCH:
                digest = digest or body_digest(message.body)
                outgoing = marked_retry(self.codec, message, attempt, digest)
            attempt += 1
            try:
                await target.publish(outgoing, routing_key=key, mandatory=False)
                return
            except aiormq.exceptions.ChannelPreconditionFailed as exc:
                limit = _BROKER_LIMIT.search(str(exc))
                if limit is None:
                    raise
                await self._reconnected()  # the broker closed the channel; it reopens
                raise MessageTooLargeError(len(message.body), int(limit.group(1))) from exc
            except aio_pika.exceptions.DeliveryError:
                # basic.nack: a queue is full (reject-publish). Poll for room with backoff.
                self.retries += 1
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise
                await self._reconnected()  # aiormq cancels pending confirms on connection loss
            except Exception as exc:
                if isinstance(exc, (ChannelGoneError, TypeError, ValueError)):
                    raise  # not an interruption: this message cannot be published as it is
                _log.debug("publish of %s interrupted (%r); retrying", message.message_id, exc)
                self.retries += 1
                if not self.channel.is_closed:  # no loss seen (yet): back off, never spin
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, _BACKOFF_MAX)
                await self._reconnected()

    async def _reconnected(self) -> None:
        await wait_until_open(self.channel, self.unreachable_timeout)


def publish_error(exc: BaseException, pending: int) -> ChannelError:
    """The `ChannelError` a sender raises when its publisher stopped with `exc`.

    Args:
        exc: Why the publisher stopped.
        pending: Items accepted by the channel and not confirmed by the broker.
    """
    if isinstance(exc, BrokerUnreachableError):
        return ChannelError(
            f"{exc}: {pending} item(s) sent on this channel were not confirmed by the "
            "broker and may be lost; start the broker or check RABBITMQ_URL"
        )
    return ChannelError(f"publishing to RabbitMQ failed: {exc!r}")


def refused_error(refused: MessageTooLargeError) -> ChannelSerializationError:
    """The error a sender raises, once, for an item the broker refused as too large."""
    return ChannelSerializationError(
        "an item (or a send_many() batch) sent earlier on this channel was not delivered: "
        f"{refused} (set CONNECTOR_RABBITMQ_MAX_MESSAGE_SIZE={refused.limit} so that send() "
        "refuses such items at once); the items sent after it go on"
    )
