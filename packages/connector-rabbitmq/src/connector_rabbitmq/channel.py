"""`RabbitMQChannel`: one sender or receiver of a connection through a RabbitMQ broker.

Topology (see `connector_rabbitmq.topology` for the names; the broker holds everything, no
party binds or listens, so any process with the pickled connector and `RABBITMQ_URL` joins):

- **pipeline**: senders publish to a direct exchange bound to one durable queue with
  `x-max-length`; every receiver consumes that queue (competing consumers). The queue is
  declared by the first party of either kind, so messages sent before any receiver
  connected wait for one.
- **pubsub**: senders publish to a fanout exchange; each receiver declares and binds its own
  queue before `connect_recv()` returns, so it gets every message sent afterwards. The
  queue is not `exclusive`: an exclusive queue dies with its connection and would lose its
  backlog when the broker drops the connection; instead the receiver deletes it when it
  closes, and `x-expires` removes it if the receiver crashed.

Delivery is at least once end to end and exactly once in normal operation: persistent
messages, publisher confirms (`connector_rabbitmq.publisher`), `basic.consume` with a
prefetch window and acknowledgement after hand-over (`connector_rabbitmq.consumer`),
duplicates after a redelivery dropped by message id.

Close: each connection has a control log (`connector_rabbitmq.control`). A sender's
`close()` flushes and waits for every confirm, appends `close` to the log and then publishes
its end-of-stream marker behind its data. Once every sender that opened has closed and no
new one opened for `end_grace` seconds, a receiver appends `end`: the connection has ended
(the grace lets senders in processes that are still starting join the stream; a sender
connecting after the end is refused). How each receiver knows it has everything is in
`connector_rabbitmq.ending`; then `recv()` raises `ChannelClosedError` in every receiver.

What a closing sender or receiver does, and how the last party cleans up, is in
`connector_rabbitmq.membership`.

Bounds: a broker unreachable for `Settings.rabbitmq_unreachable_timeout` seconds makes
`send()` and `close()` raise `ChannelError`; an item larger than a broker message
(`Settings.rabbitmq_max_message_size`) fails its `send()` with `ChannelSerializationError`.

What a crash loses: nothing the broker confirmed. A sender killed before `close()` returned
can lose what it had buffered (at most one batch plus its buffer) and the connection never
ends; a killed receiver's unacknowledged messages are redelivered to the others. A crashed
run's leftovers are removed with `connector_rabbitmq.purge`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from functools import partial
from typing import Any, cast

from aio_pika.abc import AbstractExchange, AbstractQueue

from connector_core.channel import CHAN_MAXSIZE
from connector_core.exceptions import (
    ChannelClosedError,
    ChannelDecodeError,
    ChannelError,
)
from connector_core.serde import SerdeChannel
from connector_rabbitmq.consumer import Consumer, Delivery
from connector_rabbitmq.ending import EndWatch
from connector_rabbitmq.membership import Membership, close_sender, leave
from connector_rabbitmq.publisher import (
    Publisher,
    publish_error,
    refused_error,
)
from connector_rabbitmq.recovery import ShieldedSteps
from connector_rabbitmq.topology import limits

__all__ = ["RabbitMQChannel"]

_log = logging.getLogger(__name__)


class RabbitMQChannel(SerdeChannel):
    """RabbitMQChannel for sending and receiving messages via RabbitMQ AMQP broker.

    Channels are normally made by `RabbitMQConnector.connect_send()` / `connect_recv()`,
    which also tie them to the connection's control log (close semantics, cleanup). A
    channel made directly from an exchange and/or a queue is a bare transport: it batches,
    confirms, acknowledges and deduplicates the same way, but only its own `close()` ends
    its `recv()`.
    """

    def __init__(
        self,
        *args: Any,
        send_exchange: AbstractExchange | None = None,
        recv_queue: AbstractQueue | None = None,
        topic: str = "",
        maxsize: int = CHAN_MAXSIZE,
        unreachable_timeout: float | None = None,
        max_message_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Instantiates a RabbitMQChannel.

        Uses the RabbitMQ AMQP message broker to provide communication between components
        on different processes. Requires a broker at `RABBITMQ_URL`.

        Args:
            *args: Passed to `SerdeChannel`.
            send_exchange: Optional; The RabbitMQ exchange for sending messages (its
                channel must have publisher confirms on, aio-pika's default).
            recv_queue: Optional; The RabbitMQ queue for receiving messages.
            topic: Optional; The routing key of sent messages, defaults to "" (a fanout
                exchange ignores it).
            maxsize: Optional; The message capacity (see `connector_rabbitmq.topology`).
            unreachable_timeout: Optional; seconds to wait for a lost broker connection
                before `send()`/`close()` raise `ChannelError` (None: no limit).
            max_message_size: Optional; the broker's largest message in bytes: a larger
                item makes `send()` raise `ChannelSerializationError` (None: no limit
                known until the broker refuses one).
            **kwargs: Passed to `SerdeChannel` (e.g. `codec=`).
        """
        super().__init__(*args, maxsize=maxsize, **kwargs)
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None  # made outside a loop: it belongs to the first that uses it
        self.topic = topic
        self._limits = limits(maxsize)
        self._publisher: Publisher | None = None
        self._consumer: Consumer | None = None
        self._membership: Membership | None = None
        self._wakeup = asyncio.Event()
        self._end = EndWatch(self._wakeup)
        self._ended = False
        self._closing: asyncio.Task[None] | None = None
        self._releasing: asyncio.Task[None] | None = None
        self._bare_started = False
        self._steps = ShieldedSteps()
        self._unreachable_timeout = unreachable_timeout
        if send_exchange is not None:
            self._publisher = Publisher(
                cast(Any, send_exchange).channel,
                send_exchange,
                topic,
                sender_id=f"s-{id(self):x}",
                batch_items=self._limits.batch_items,
                buffer_limit=self._limits.sender_buffer,
                unreachable_timeout=unreachable_timeout,
                max_message_size=max_message_size,
            )
        if recv_queue is not None:
            self._consumer = Consumer(
                cast(Any, recv_queue).channel,
                recv_queue,
                self._limits.prefetch,
                notify=self._wakeup,
            )

    # -- wiring, used by RabbitMQConnector ----------------------------------------------

    def _join(self, membership: Membership) -> None:
        self._membership = membership
        self._end.membership = membership
        if self._publisher is not None:
            self._publisher.sender_id = membership.party
        membership.log.on_change(self._wakeup.set)

    async def _start_consuming(self) -> None:
        if self._consumer is not None:
            await self._consumer.start()

    def _check_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            raise ChannelError(
                "this RabbitMQChannel belongs to the event loop it was made in and cannot "
                "be used from another one: connect a new channel in this loop"
            )

    @property
    def duplicates(self) -> int:
        """Frames this receiver skipped as already handed out (redelivered copies)."""
        return self._consumer.duplicates if self._consumer is not None else 0

    # -- sending ------------------------------------------------------------------------

    async def send_bytes(self, msg: bytes) -> None:
        """Sends one frame: buffers it for the next batch, waiting while the buffer is full.

        Args:
            msg: The frame.

        Raises:
            ChannelClosedError: If the channel is closed (also while waiting).
            ChannelError: If this channel cannot send, publishing failed for good, or the
                channel belongs to another event loop.
        """
        self._check_loop()
        self._check_open()
        publisher = self._publisher
        if publisher is None:
            raise ChannelError("this channel was made by connect_recv(): it cannot send")
        publisher.check_size(len(msg))
        self._raise_refused(publisher)
        while publisher.full():
            await publisher.wait_for_room()
            self._check_open()
            if publisher.error is not None:
                raise publish_error(publisher.error, self._pending())
        try:
            publisher.add(msg)
        except Exception as exc:
            raise publish_error(exc, self._pending()) from exc

    def _raise_refused(self, publisher: Publisher) -> None:
        refused = publisher.take_refused()
        if refused is not None:
            raise refused_error(refused)

    def _pending(self) -> int:
        """Items buffered and not yet confirmed (named in a publishing error)."""
        return self._publisher.buffered if self._publisher is not None else 0

    async def flush(self) -> None:
        """Waits until the broker has confirmed everything this channel sent so far.

        Raises:
            ChannelSerializationError: If the broker refused an item as too large.
            ChannelError: If publishing failed for good (the broker stayed unreachable
                past `CONNECTOR_RABBITMQ_UNREACHABLE_TIMEOUT`).
        """
        self._check_loop()
        if self._publisher is not None:
            try:
                await self._publisher.flush()
            except Exception as exc:
                raise publish_error(exc, self._pending()) from exc
            self._raise_refused(self._publisher)

    # -- receiving ----------------------------------------------------------------------

    async def recv(self) -> Any:
        """Receives, verifies and deserializes the next item.

        Raises:
            ChannelClosedError: When every sender has closed and everything was delivered,
                or this channel was closed.
            ChannelDecodeError: If a correctly signed message does not deserialize (the
                AMQP message holding it is dead-lettered; the next `recv()` goes on).
            ChannelError: If this channel was made by `connect_send()` or belongs to
                another event loop.
        """
        try:
            item = await super().recv()
        except ChannelDecodeError:
            self._mark_current_bad()
            self._count_current()  # it verified; only its content is broken
            raise
        self._count_current()
        return item

    def _count_current(self) -> None:
        """Records the frame just handed out for duplicate tracking, once it verified."""
        if self._current is not None and self._consumer is not None:
            self._consumer.verified(self._current)

    def reject(self, reason: BaseException | str) -> None:
        """Counts a frame that failed verification and dead-letters the message it came in.

        Args:
            reason: Why the frame was dropped (an exception or a message), for the log.
        """
        self._mark_current_bad()
        super().reject(reason)

    def _mark_current_bad(self) -> None:
        current = self._current
        if current is not None:
            current.bad = True

    _current: Delivery | None = None

    async def recv_bytes(self) -> bytes:
        """Receives the next frame, waiting for one or for the end of the connection.

        Raises:
            ChannelClosedError: When the connection has ended or this channel is closed.
            ChannelError: If this channel was made by `connect_send()` or belongs to
                another event loop.
        """
        self._check_loop()
        consumer = self._consumer
        if consumer is None:
            raise ChannelError("this channel was made by connect_send(): it cannot receive")
        if self._membership is None and not self._bare_started and not self._is_closed:
            self._bare_started = True  # a channel made directly: subscribe on first use
            await consumer.start()
        while True:
            if self._is_closed:
                raise ChannelClosedError("RabbitMQChannel is closed: cannot receive")
            if self._ended:
                raise ChannelClosedError("every sender has closed and all was delivered")
            self._wakeup.clear()
            got = consumer.next_frame()
            if isinstance(got, tuple):
                self._current, frame = got
                return frame
            self._current = None
            if got is not None:
                bad = await self._steps.run(
                    "settle", partial(self._end.settle_special, consumer, got)
                )
                if bad is not None:
                    super().reject(bad)
                continue
            if await self._steps.run("over", partial(self._end.connection_over, consumer)):
                self._ended = True
                try:
                    await asyncio.shield(self._release())
                except Exception as exc:  # cleanup is best effort; the stream has ended
                    _log.warning("could not release a finished receiver: %r", exc)
                continue
            if consumer.fifo:
                continue
            limit, self._end.wait_limit = self._end.wait_limit, None
            if limit is None:
                await self._wakeup.wait()
            else:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(limit):
                        await self._wakeup.wait()

    # -- closing ------------------------------------------------------------------------

    async def close(self) -> None:
        """Closes the RabbitMQChannel; closing twice is harmless.

        A sender flushes (waits for every confirm), then announces its close and sends its
        end-of-stream marker. A receiver acknowledges what it handed out and returns the
        rest to the broker. The last party of the connection deletes its broker objects.

        Raises:
            ChannelSerializationError: If the broker refused an item as too large (the
                channel is closed all the same).
            ChannelError: If a sender's buffered items could not be published (the broker
                stayed unreachable past `CONNECTOR_RABBITMQ_UNREACHABLE_TIMEOUT`), or the
                channel belongs to another event loop.
        """
        self._check_loop()
        if self._closing is None:
            self._is_closed = True
            self._wakeup.set()
            if self._publisher is not None:
                self._publisher.wake()
            self._closing = asyncio.get_running_loop().create_task(self._close())
        await asyncio.shield(self._closing)

    async def _close(self) -> None:
        if self._consumer is not None:
            await self._release()
        else:
            await close_sender(self._publisher, self._membership, self._unreachable_timeout)

    def _release(self) -> asyncio.Task[None]:
        """The task that takes this receiver out of the connection (started once)."""
        if self._releasing is None:
            self._releasing = asyncio.get_running_loop().create_task(self._release_receiver())
        return self._releasing

    async def _release_receiver(self) -> None:
        """Acks what was handed out, returns the rest, leaves the log, cleans up if last.

        Runs when the receiver closes, or as soon as it has seen the end of the connection
        (so a receiver that is iterated to the end and never closed still lets the last
        party delete the connection's broker objects).
        """
        assert self._consumer is not None
        await leave(self._consumer, self._membership, self._unreachable_timeout)

    # -- statistics ---------------------------------------------------------------------

    def _buffered(self) -> int:
        buffered = 0
        if self._publisher is not None:
            buffered += self._publisher.buffered
        if self._consumer is not None:
            buffered += self._consumer.pending_frames()
        return buffered

    def _peer_counts(self) -> tuple[int, int]:
        membership = self._membership
        if membership is None:
            return (int(self._publisher is not None), int(self._consumer is not None))
        state = membership.log.state
        return (len(state.open_senders()), len(state.live_receivers()))

    def __reduce__(self) -> Any:
        raise TypeError(
            "a RabbitMQChannel holds a live broker connection and cannot be pickled; pickle "
            "the RabbitMQConnector and connect in the other process"
        )
