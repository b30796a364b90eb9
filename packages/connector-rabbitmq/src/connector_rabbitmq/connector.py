"""`RabbitMQConnector`: hands out `RabbitMQChannel`s of one connection through a broker.

Making a connector does no I/O: it fixes the connection's names (job id + spec id, see
`connector_rabbitmq.topology`), its limits (from `maxsize`) and its codec (signing key).
Those travel when the connector is pickled; the broker connection does not: each process
(each event loop) gets its own from `DI.rabbitmq_conn` (see `connector_rabbitmq.connection`),
so an unpickled copy in another process joins the same queues and exchanges.

`connect_send()` declares what senders publish to, appends `open` to the control log and
returns once the log shows it. `connect_recv()` declares and binds the receiver's queue,
appends `join`, and subscribes before returning. See `connector_rabbitmq.channel` for the
delivery and close protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
import warnings
from collections.abc import AsyncIterator
from typing import Any, ClassVar, Final

import aio_pika
import aiormq
from aio_pika.abc import AbstractQueue, AbstractRobustChannel, AbstractRobustConnection
from dependency_injector.wiring import Provide, inject

from connector_core.di import DI, wire
from connector_core.exceptions import ChannelClosedError, ChannelSetupError
from connector_core.job_connector import JobConnector
from connector_core.settings import Settings
from connector_core.spec import ConnectorMode, ConnectorSpec
from connector_core.transport import Verifier
from connector_rabbitmq import di  # noqa: F401  (registers DI.rabbitmq_*, read below)
from connector_rabbitmq.channel import RabbitMQChannel
from connector_rabbitmq.connection import release
from connector_rabbitmq.control import CLOSE, JOIN, OPEN, ControlLog
from connector_rabbitmq.membership import Membership
from connector_rabbitmq.parts import part_settings
from connector_rabbitmq.receiver import RabbitMQReceiver
from connector_rabbitmq.sender import RabbitMQSender
from connector_rabbitmq.settings import DEFAULT_END_GRACE, RabbitMQSettings
from connector_rabbitmq.stream import StreamProbe
from connector_rabbitmq.topology import DEAD_LETTER_LIMIT, MAX_MAXSIZE, Limits, Names, limits

__all__ = ["DEFAULT_END_GRACE", "SUBSCRIBER_QUEUE_EXPIRES_MS", "RabbitMQConnector"]

SUBSCRIBER_QUEUE_EXPIRES_MS: Final = 10 * 60 * 1000
"""A subscriber queue without a consumer for this long is deleted by the broker (a crashed
subscriber's leftovers); a live subscriber deletes its queue itself when it closes."""


class RabbitMQConnector(JobConnector):
    """RabbitMQConnector connects components via RabbitMQ AMQP broker.

    Pipeline mode uses one durable queue that every receiver consumes (each message reaches
    one of them). Pubsub mode gives each subscriber its own queue bound to a fanout exchange
    (each message reaches all of them). Picklable: a copy in another process joins the
    same connection.
    """

    maxsize_limit: ClassVar[int | None] = MAX_MAXSIZE
    """`maxsize` sets each queue's `x-max-length`, a signed 64-bit integer on the broker."""
    scope: ClassVar[str] = "rabbitmq"
    pickled: ClassVar[tuple[str, ...]] = (
        "end_grace",
        "unreachable_timeout",
        "connect_timeout",
        "max_message_size",
        "parts",
    )

    @inject
    def __init__(
        self,
        spec: ConnectorSpec | dict[str, Any],
        *args: Any,
        end_grace: float | None = None,
        settings: Settings = Provide[DI.settings],
        rabbitmq_settings: RabbitMQSettings = Provide[DI.rabbitmq_settings],
        **kwargs: Any,
    ) -> None:
        """Creates the connector; does no I/O and needs no event loop.

        Args:
            spec: What to connect.
            *args: Passed to `JobConnector`.
            end_grace: Deprecated: use the `end_grace` setting (`CONNECTOR_END_GRACE`, or
                `settings=Settings(end_grace=...)`), which every backend reads; still
                honoured, with a `DeprecationWarning`. The seconds the connection must stay
                without an open sender before its receivers end it, so that senders in other
                processes that are still starting join the stream instead of finding it
                over; default `DEFAULT_END_GRACE`.
            settings: Optional; the common settings (from `DI.settings`): the serializer,
                signing, `end_grace`.
            rabbitmq_settings: Optional; connector-rabbitmq's own settings (from
                `DI.rabbitmq_settings`): `connect_timeout` (also how long a new control
                stream may take to become ready), `unreachable_timeout`,
                `max_message_size` and how large items cross in parts (`part_size`,
                `max_item_size`, `part_expires`: `connector_rabbitmq.parts`).
            **kwargs: Passed to `JobConnector`: `maxsize` (the capacity of each channel, in
                items; `<= 0`: unbounded), `job_id` (scopes the broker names of this run;
                default `DI.job_id`) and `serializer` (overrides `CONNECTOR_SERIALIZER`).

        Raises:
            ValueError: If `job_id` is not 1-64 letters, digits, `_` or `-`, or
                `end_grace` is negative.
            TypeError: If `spec` or `maxsize` is malformed.
        """
        super().__init__(spec, *args, settings=settings, **kwargs)
        if end_grace is None:
            end_grace = settings.grace(DEFAULT_END_GRACE)
        else:
            warnings.warn(
                "RabbitMQConnector(end_grace=...) is deprecated: set the end_grace setting "
                "(CONNECTOR_END_GRACE, or settings=Settings(end_grace=...)), which every "
                "backend reads",
                DeprecationWarning,
                stacklevel=3,  # the caller, beyond @inject's wrapper
            )
        if not end_grace >= 0:
            raise ValueError(f"end_grace must be a number of seconds >= 0, got {end_grace!r}")
        self.end_grace = float(end_grace)
        self.unreachable_timeout = rabbitmq_settings.unreachable_timeout
        self.connect_timeout = rabbitmq_settings.connect_timeout
        self.max_message_size = rabbitmq_settings.max_message_size
        self.parts = part_settings(rabbitmq_settings)
        """How large items cross the broker (`connector_rabbitmq.parts`)."""

    @property
    def names(self) -> Names:
        """The broker names of this connection."""
        return Names(self.job_id, self.spec.id)

    @property
    def limits(self) -> Limits:
        """The batch, prefetch and queue limits derived from `maxsize`."""
        return limits(self.maxsize, self.spec.mode)

    # -- connecting ---------------------------------------------------------------------

    async def _enter(
        self, rabbitmq_conn: AbstractRobustConnection, role: str
    ) -> tuple[AbstractRobustChannel, Membership]:
        """Opens a data channel and a control-log channel for one new sender or receiver."""
        channels: list[AbstractRobustChannel] = []
        try:
            conn = _check_connection(rabbitmq_conn)
            channels.append(await _open_channel(conn, self.unreachable_timeout))
            channels.append(await _open_channel(conn, self.unreachable_timeout))
        except BaseException:
            for channel in channels:
                with contextlib.suppress(Exception):  # best effort while reporting the error
                    await channel.close()
            await release(rabbitmq_conn)
            raise
        data, log_channel = channels
        membership = Membership(
            conn,
            self.names,
            self.spec.mode,
            f"{role}-{uuid.uuid4().hex[:12]}",
            ControlLog(
                log_channel,
                self.names.control,
                self.unreachable_timeout,
                StreamProbe(conn, self.connect_timeout),
                codec=self.codec,
            ),
            self.end_grace,
            channels=channels,
        )
        return data, membership

    @inject
    async def connect_send(
        self, rabbitmq_conn: AbstractRobustConnection = Provide[DI.rabbitmq_conn]
    ) -> RabbitMQChannel:
        """Returns a RabbitMQ channel for sending messages.

        Args:
            rabbitmq_conn: Optional; the process's robust broker connection, injected from
                `DI.rabbitmq_conn` (one per event loop, from `RABBITMQ_URL`).

        Raises:
            ChannelSetupError: If the broker cannot be reached or refuses the declarations.
            ChannelClosedError: If every sender of this connection has already closed.
        """
        data, membership = await self._enter(rabbitmq_conn, "s")
        party = membership.party
        async with _setting_up(membership, "connect a sender"):
            exchange = await self._declare_send(data)
            sender = RabbitMQSender(
                exchange,
                "",
                self.limits,
                membership,
                unreachable_timeout=self.unreachable_timeout,
                max_message_size=self.max_message_size,
                parts=self.parts,
            )
            channel = self._channel(sender=sender)
            log = membership.log
            await log.declare()
            await log.append(OPEN, party)
            await log.start()
            state = await log.wait_for(OPEN, party)
            await log.stop()
        if party in state.late:
            await log.append(CLOSE, party)
            await membership.close()
            raise ChannelClosedError(
                f"connection {self.id} has ended (every sender closed): make a new connector "
                "(or a new job id) for a new stream"
            )
        return channel

    @inject
    async def connect_recv(
        self, rabbitmq_conn: AbstractRobustConnection = Provide[DI.rabbitmq_conn]
    ) -> RabbitMQChannel:
        """Returns a RabbitMQ channel for receiving messages, subscribed on return.

        Args:
            rabbitmq_conn: Optional; the loop's broker connection, injected from
                `DI.rabbitmq_conn` as for `connect_send()`.

        Raises:
            ChannelSetupError: If the broker cannot be reached or refuses the declarations.
        """
        data, membership = await self._enter(rabbitmq_conn, "r")
        party = membership.party
        async with _setting_up(membership, "connect a receiver"):
            queue = await self._declare_recv(data, party)
            returns = None
            if self.spec.mode is ConnectorMode.PIPELINE:
                returns = await self._declare_returns(data)
            verifier = Verifier(self.codec, "RabbitMQChannel")
            receiver = RabbitMQReceiver(
                queue,
                self.limits.prefetch,
                verifier,
                membership,
                self.unreachable_timeout,
                self.parts,
                returns,
            )
            channel = self._channel(receiver=receiver)
            log = membership.log
            log.verifier = verifier  # forged control entries count in statistics().rejected
            await log.start()
            await log.append(JOIN, party, queue.name)
            await log.wait_for(JOIN, party)
            await receiver.start()
        return channel

    def _channel(self, **transport: Any) -> RabbitMQChannel:
        loop = asyncio.get_running_loop()
        return RabbitMQChannel(maxsize=self.maxsize, codec=self.codec, loop=loop, **transport)

    # -- topology -----------------------------------------------------------------------

    async def _declare_dead_letters(self, channel: AbstractRobustChannel) -> None:
        names = self.names
        dlx = await channel.declare_exchange(
            names.dead_letter_exchange, aio_pika.ExchangeType.FANOUT, durable=True
        )
        dead = await channel.declare_queue(
            names.dead_letters, durable=True, arguments={"x-max-length": DEAD_LETTER_LIMIT}
        )
        await dead.bind(dlx)

    def _queue_arguments(self) -> dict[str, Any]:
        arguments: dict[str, Any] = {"x-dead-letter-exchange": self.names.dead_letter_exchange}
        length = self.limits.queue_length
        if length is not None:
            arguments["x-max-length"] = length
            arguments["x-overflow"] = "reject-publish"
        return arguments

    async def _declare_work_queue(self, channel: AbstractRobustChannel) -> AbstractQueue:
        names = self.names
        await self._declare_dead_letters(channel)
        exchange = await channel.declare_exchange(
            names.work, aio_pika.ExchangeType.DIRECT, durable=True
        )
        queue = await channel.declare_queue(
            names.work, durable=True, arguments=self._queue_arguments()
        )
        await queue.bind(exchange, routing_key="")
        return queue

    async def _declare_returns(self, channel: AbstractRobustChannel) -> AbstractQueue:
        """Pipeline: the queue closing receivers give items back to (no length limit)."""
        arguments = {"x-dead-letter-exchange": self.names.dead_letter_exchange}
        return await channel.declare_queue(self.names.returns, durable=True, arguments=arguments)

    async def _declare_send(self, channel: AbstractRobustChannel) -> aio_pika.abc.AbstractExchange:
        if self.spec.mode is ConnectorMode.PIPELINE:
            await self._declare_work_queue(channel)
            return await channel.get_exchange(self.names.work)
        return await channel.declare_exchange(
            self.names.fanout, aio_pika.ExchangeType.FANOUT, durable=True
        )

    async def _declare_recv(self, channel: AbstractRobustChannel, party: str) -> AbstractQueue:
        if self.spec.mode is ConnectorMode.PIPELINE:
            return await self._declare_work_queue(channel)
        names = self.names
        await self._declare_dead_letters(channel)
        exchange = await channel.declare_exchange(
            names.fanout, aio_pika.ExchangeType.FANOUT, durable=True
        )
        arguments = {**self._queue_arguments(), "x-expires": SUBSCRIBER_QUEUE_EXPIRES_MS}
        queue = await channel.declare_queue(names.subscriber(party), arguments=arguments)
        await queue.bind(exchange)
        return queue


def _check_connection(conn: Any) -> AbstractRobustConnection:
    if not isinstance(conn, AbstractRobustConnection):
        raise ChannelSetupError(
            f"DI.rabbitmq_conn gave {conn!r}, not a robust aio-pika connection; override it "
            "with providers.Object(await aio_pika.connect_robust(url)) or leave the default"
        )
    loop = getattr(conn, "loop", None)
    if loop is not None and loop is not asyncio.get_running_loop():
        raise ChannelSetupError(
            "the RabbitMQ connection given through a DI.rabbitmq_conn override belongs to "
            "another event loop; open it in the loop that connects, or remove the override "
            "(the default opens one connection per event loop)"
        )
    return conn


async def _open_channel(conn: AbstractRobustConnection, timeout: float) -> AbstractRobustChannel:
    """Opens an AMQP channel, waiting (up to `timeout`) while the connection reconnects.

    The loop's connection is shared: another channel's broker-side failure, or a dropped
    TCP connection, leaves it reconnecting for a moment, and a channel opened then would
    fail at once.
    """
    connected: asyncio.Event | None = getattr(conn, "connected", None)
    if connected is not None and not connected.is_set() and not conn.is_closed:
        try:
            async with asyncio.timeout(timeout):
                await connected.wait()
        except TimeoutError:
            raise ChannelSetupError(
                f"the RabbitMQ connection has been reconnecting for {timeout:g}s "
                "(CONNECTOR_RABBITMQ_UNREACHABLE_TIMEOUT): is the broker up and reachable?"
            ) from None
    try:
        channel = conn.channel(publisher_confirms=True)
        await channel.initialize()
    except Exception as exc:
        raise ChannelSetupError(f"cannot open an AMQP channel: {exc!r}") from exc
    return channel


@contextlib.asynccontextmanager
async def _setting_up(membership: Membership, what: str) -> AsyncIterator[None]:
    """Closes `membership` when the setup inside fails, and raises the error that says so.

    A `ChannelSetupError` (or `ChannelClosedError`) and a `BaseException` such as a
    cancellation propagate as they are; any other error becomes a `ChannelSetupError` saying
    what could not be done (see `_setup_error`).
    """
    try:
        yield
    except BaseException as exc:
        await membership.close()
        error = _setup_error(exc, what)
        if error is exc:
            raise
        raise error from exc


def _setup_error(exc: BaseException, what: str) -> BaseException:
    if isinstance(exc, ChannelSetupError | ChannelClosedError) or not isinstance(exc, Exception):
        return exc
    if not isinstance(exc, aiormq.exceptions.ChannelPreconditionFailed):
        return ChannelSetupError(f"could not {what}: {exc!r}")
    return ChannelSetupError(
        f"could not {what}: the broker refused it ({exc!r}); a connection with the same job "
        "id and spec but a different maxsize, or leftovers of a crashed run, cause this: "
        "purge them with connector_rabbitmq.purge"
    )


wire(__name__)
