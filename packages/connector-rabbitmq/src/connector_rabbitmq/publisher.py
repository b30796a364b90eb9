"""`Publisher`: micro-batching with publisher confirms, in order, retried until confirmed.

`add(frame)` appends to a local buffer and returns at once while the buffer has room (it
never yields, so a producer loop keeps running); a background task publishes whatever the
buffer holds whenever the producer yields to the event loop, as one AMQP message (see
`connector_rabbitmq.envelope`) of up to `Limits.batch_items` frames. Only one message is
unconfirmed at a time: while the broker confirms it, the buffer fills, so batches grow with
load and a lone item still goes out on the next loop iteration.

Every message is persistent and has a message id `<sender id>.<sequence>`. When the broker
refuses it (`basic.nack`: a full queue with `x-overflow=reject-publish`, which is how
backpressure reaches the sender) or the connection drops before the confirm, the *same*
message is published again, after a short backoff or once the robust channel is back. With
one message in flight, retries never reorder; a retry of a message that had in fact arrived
is a duplicate that receivers drop by its id.

Backpressure: `add()` waits while the buffer holds `Limits.sender_buffer` items.

Bounded waits: while the connection is lost, publishing waits for it to come back for at
most `unreachable_timeout` seconds, then stops with `BrokerUnreachableError` (the items not
confirmed are reported by the channel). A message larger than the broker's
`max_message_size` is refused by the broker (it closes the AMQP channel): the publisher
learns the limit from the refusal, splits a batch of several frames, and drops a single
frame that does not fit, reporting it once (`take_refused()`), instead of republishing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import deque
from typing import Final

import aio_pika
import aiormq
from aio_pika.abc import AbstractExchange, AbstractRobustChannel

from connector_core.exceptions import ChannelError, ChannelSerializationError
from connector_rabbitmq.envelope import BATCH, EOS, FRAME_OVERHEAD, OVERHEAD, pack
from connector_rabbitmq.recovery import BrokerUnreachableError, ChannelGoneError, wait_until_open
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
    """Publishes frames in batches to one exchange, with confirms, in order."""

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
    ) -> None:
        """Creates the publisher; its task starts on the first `add()`.

        Args:
            channel: The AMQP channel (publisher confirms on) that `exchange` belongs to.
            exchange: Where to publish.
            routing_key: The routing key of every message (the channel's topic).
            sender_id: Prefix of every message id; unique per sender.
            batch_items: Most frames per message.
            buffer_limit: Frames buffered before `add()` waits; None: unbounded.
            unreachable_timeout: Optional; seconds to wait for a lost connection to come
                back before stopping with `BrokerUnreachableError` (None: no limit).
            max_message_size: Optional; the broker's largest message body in bytes
                (None: no limit known until the broker refuses one).
        """
        self.channel = channel
        self.exchange = exchange
        self.routing_key = routing_key
        self.sender_id = sender_id
        self.batch_items = batch_items
        self.buffer_limit = buffer_limit
        self.unreachable_timeout = unreachable_timeout
        self.max_message_size = max_message_size
        self.in_flight = 0
        self.published = 0
        self.retries = 0
        self._buffer: deque[bytes] = deque()
        self._seq = 0
        self._task: asyncio.Task[None] | None = None
        self._kick = asyncio.Event()
        self._room = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._error: BaseException | None = None
        self._refused: deque[MessageTooLargeError] = deque()
        self._stopped = False

    @property
    def buffered(self) -> int:
        """Frames accepted but not yet confirmed by the broker."""
        return len(self._buffer) + self.in_flight

    @property
    def error(self) -> BaseException | None:
        """The error that stopped the background task, if it failed."""
        return self._error

    def full(self) -> bool:
        """True when `add()` would wait."""
        return self.buffer_limit is not None and len(self._buffer) >= self.buffer_limit

    async def wait_for_room(self) -> None:
        """Waits until the buffer may have room: the caller re-checks `full()` after it."""
        if self.full() and not self._stopped and self._error is None:
            self._room.clear()
            await self._room.wait()

    def check_size(self, frame: int) -> None:
        """Refuses a frame that no broker message could carry, before it is buffered.

        Args:
            frame: The frame's size in bytes (serialized and signed).

        Raises:
            ChannelSerializationError: If the frame is larger than `max_message_size`.
        """
        limit = self.max_message_size
        if limit is not None and frame + OVERHEAD > limit:
            raise ChannelSerializationError(
                f"the item is {frame} bytes serialized and signed, more than a RabbitMQ "
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

    def wake(self) -> None:
        """Wakes every `wait_for_room()` (e.g. because the channel is closing)."""
        self._room.set()

    def add(self, frame: bytes) -> None:
        """Appends one frame to the buffer; call only when `full()` is False.

        Raises:
            Exception: The error that stopped the background task, if it failed.
        """
        if self._error is not None:
            raise self._error
        self._buffer.append(frame)
        self._idle.clear()
        self._kick.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"rabbitmq-publisher-{self.sender_id}"
            )

    async def flush(self) -> None:
        """Waits until everything added so far is confirmed by the broker.

        Raises:
            Exception: The error that stopped the background task, if it failed.
        """
        await self._idle.wait()
        if self._error is not None:
            raise self._error

    async def stop(self) -> None:
        """Stops the background task (what is not flushed is dropped) and wakes waiters."""
        self._stopped = True
        self._room.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def publish_marker(self, kind: str = EOS) -> None:
        """Publishes this sender's end-of-stream marker (after a `flush()`), confirmed."""
        message = aio_pika.Message(
            b"",
            message_id=f"{self.sender_id}.{kind}",
            type=kind,
            app_id=self.sender_id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await self._publish(message)

    def _take(self) -> list[bytes]:
        frames = [self._buffer.popleft()]
        size = OVERHEAD + len(frames[0])
        cap = self.batch_bytes
        while self._buffer and len(frames) < self.batch_items:
            size += FRAME_OVERHEAD + len(self._buffer[0])
            if size > cap:
                break
            frames.append(self._buffer.popleft())
        return frames

    async def _run(self) -> None:
        try:
            while True:
                if not self._buffer:
                    self._idle.set()
                    self._kick.clear()
                    await self._kick.wait()
                    continue
                frames = self._take()
                self.in_flight = len(frames)
                self._room.set()
                message = aio_pika.Message(
                    pack(frames),
                    message_id=f"{self.sender_id}.{self._seq}",
                    type=BATCH,
                    app_id=self.sender_id,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                )
                self._seq += 1
                try:
                    await self._publish(message)
                except MessageTooLargeError as exc:
                    self.max_message_size = exc.limit
                    self.in_flight = 0
                    if len(frames) > 1:
                        self._buffer.extendleft(reversed(frames))  # again, in smaller batches
                    else:
                        self._refused.append(exc)
                    continue
                self.published += len(frames)
                self.in_flight = 0
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # reported by the next add(), flush() or send()
            self._error = exc
            self._idle.set()
            self._room.set()
        except BaseException as exc:
            self._error = exc
            self._idle.set()
            self._room.set()
            raise

    async def _publish(self, message: aio_pika.Message) -> None:
        """Publishes `message` until the broker confirms it."""
        backoff = _BACKOFF_MIN
        while True:
            if self.channel.is_closed:
                await self._reconnected()  # publish() itself would wait without a limit
            try:
                await self.exchange.publish(message, routing_key=self.routing_key, mandatory=False)
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
                if self._stopped or isinstance(exc, ChannelGoneError):
                    raise
                _log.debug("publish of %s interrupted (%r); retrying", message.message_id, exc)
                self.retries += 1
                await self._reconnected()

    async def _reconnected(self) -> None:
        await wait_until_open(self.channel, self.unreachable_timeout)


def publish_error(exc: BaseException, pending: int) -> ChannelError:
    """The `ChannelError` a channel raises when its publisher stopped with `exc`.

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
    """The error a channel raises, once, for an item the broker refused as too large."""
    return ChannelSerializationError(
        f"an item sent earlier on this channel was not delivered: {refused} (set "
        f"CONNECTOR_RABBITMQ_MAX_MESSAGE_SIZE={refused.limit} so that send() refuses such "
        "items at once); the items sent after it go on"
    )
