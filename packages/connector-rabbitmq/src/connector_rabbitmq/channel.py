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

The channel is core's `TransportChannel` (codec, counters, closed flag, event loop, close):
a channel made by `connect_send()` has a send transport (`connector_rabbitmq.sender`), one
made by `connect_recv()` a receive transport (`connector_rabbitmq.receiver`).

Delivery is at least once end to end and exactly once in normal operation: persistent
messages, publisher confirms (`connector_rabbitmq.publisher`), `basic.consume` with a
prefetch window, every frame verified on arrival and acknowledgement after hand-over
(`connector_rabbitmq.consumer`), duplicates after a redelivery dropped by message id.

Close: each connection has a control log (`connector_rabbitmq.control`). A sender's
`close()` flushes and waits for every confirm, appends `close` to the log and then (pubsub)
publishes its end-of-stream marker behind its data. Once every sender that opened has closed
and no new one opened for `end_grace` seconds, a receiver appends `end`: the connection has ended
(the grace lets senders in processes that are still starting join the stream; a sender
connecting after the end is refused). How each receiver knows it has everything is in
`connector_rabbitmq.ending`; then `recv()` raises `ChannelClosedError` in every receiver.

What a closing sender or receiver does is in `connector_rabbitmq.sender` and
`connector_rabbitmq.receiver`; how the last party cleans up in `connector_rabbitmq.membership`.

Large items: an item larger than `RabbitMQSettings.part_size` (serialized and signed)
crosses the broker in parts, in a queue of its own named by a small claim message that
takes the item's place in the queue (`connector_rabbitmq.parts`). Bounds: a broker
unreachable for `RabbitMQSettings.unreachable_timeout` seconds makes `send()` and `close()`
raise `ChannelError`; an item larger than `RabbitMQSettings.max_item_size` fails its
`send()` (or `send_many()`, at the frame that holds it) with `ChannelSerializationError`.

What a crash loses: nothing the broker confirmed. A sender killed before `close()` returned
can lose what it had buffered (at most one batch plus its buffer) and the connection never
ends; a killed receiver's unacknowledged messages are redelivered to the others. A crashed
run's leftovers are removed with `connector_rabbitmq.purge`.
"""

from __future__ import annotations

from typing import Any

from aio_pika.abc import AbstractExchange, AbstractQueue

from connector_core.channel import CHAN_MAXSIZE
from connector_core.codec import Codec
from connector_core.transport import Verifier
from connector_core.transport_channel import TransportChannel
from connector_rabbitmq.receiver import RabbitMQReceiver
from connector_rabbitmq.sender import RabbitMQSender
from connector_rabbitmq.topology import limits

__all__ = ["RabbitMQChannel"]


class RabbitMQChannel(TransportChannel):
    """RabbitMQChannel for sending and receiving messages via RabbitMQ AMQP broker.

    Channels are normally made by `RabbitMQConnector.connect_send()` / `connect_recv()`,
    which also tie them to the connection's control log (close semantics, cleanup). A
    channel made directly from an exchange and/or a queue is a bare transport: it batches,
    confirms, verifies, acknowledges and deduplicates the same way, but only its own
    `close()` ends its `recv()`.
    """

    def __init__(
        self,
        *args: Any,
        send_exchange: AbstractExchange | None = None,
        recv_queue: AbstractQueue | None = None,
        topic: str = "",
        maxsize: int = CHAN_MAXSIZE,
        codec: Codec | None = None,
        unreachable_timeout: float | None = None,
        max_message_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Instantiates a RabbitMQChannel.

        Uses the RabbitMQ AMQP message broker to provide communication between components
        on different processes. Requires a broker at `RABBITMQ_URL`.

        Args:
            *args: Passed to `TransportChannel`.
            send_exchange: Optional; The RabbitMQ exchange for sending messages (its
                channel must have publisher confirms on, aio-pika's default).
            recv_queue: Optional; The RabbitMQ queue for receiving messages.
            topic: Optional; The routing key of sent messages, defaults to "" (a fanout
                exchange ignores it).
            maxsize: Optional; The message capacity (see `connector_rabbitmq.topology`).
            codec: Optional; how items become frames (default: pickle with a fresh key).
            unreachable_timeout: Optional; seconds to wait for a lost broker connection
                before `send()`/`close()` raise `ChannelError` (None: no limit).
            max_message_size: Optional; the broker's largest message in bytes: a larger
                item makes `send()` raise `ChannelSerializationError` (None: no limit
                known until the broker refuses one).
            **kwargs: Passed to `TransportChannel` (`sender=`/`receiver=` transports made
                by the connector, `loop=`).
        """
        codec = codec if codec is not None else Codec.generate()
        lim = limits(maxsize)
        if send_exchange is not None:
            kwargs["sender"] = RabbitMQSender(
                send_exchange,
                topic,
                lim,
                unreachable_timeout=unreachable_timeout,
                max_message_size=max_message_size,
            )
        if recv_queue is not None:
            verifier = Verifier(codec, "RabbitMQChannel")
            kwargs["receiver"] = RabbitMQReceiver(
                recv_queue, lim.prefetch, verifier, timeout=unreachable_timeout
            )
        super().__init__(*args, maxsize=maxsize, codec=codec, **kwargs)
        self.topic = topic

    @property
    def duplicates(self) -> int:
        """Frames this receiver skipped as already handed out (redelivered copies)."""
        rx = self._rx
        return rx.duplicates if isinstance(rx, RabbitMQReceiver) else 0

    async def flush(self) -> None:
        """Waits until the broker has confirmed everything this channel sent so far.

        Raises:
            ChannelSerializationError: If the broker refused an item as too large.
            ChannelError: If publishing failed for good (the broker stayed unreachable
                past `CONNECTOR_RABBITMQ_UNREACHABLE_TIMEOUT`), or the channel belongs to
                another event loop.
        """
        self._check_loop()
        if isinstance(self._tx, RabbitMQSender):
            await self._tx.flush()
