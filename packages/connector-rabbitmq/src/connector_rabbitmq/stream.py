"""Making sure a new control stream is ready before a shared connection uses it.

When several connections declare the same new stream at once, RabbitMQ can answer a
`queue.declare` before the stream can be used. A `basic.consume` that arrives then fails
(`stream_not_found`, or PRECONDITION_FAILED "does not have a replica on the local node"),
and so does a publish (RESOURCE_ERROR "Stream not found"); for `stream_not_found` and the
publish, the broker closes the whole AMQP connection (INTERNAL_ERROR, RESOURCE_ERROR), with
every channel of the process on it. Parties that connect to a new connection at the same
moment, in several processes, hit this.

`StreamProbe.ensure()` therefore declares the stream on a short-lived connection of its own
and attaches a consumer to it there; only once one has attached does the caller use the
stream on the process's shared connection. A probe that meets the unready stream costs only
its own connection and is tried again at once on a fresh one, each try one round trip to
the broker, until `RabbitMQSettings.connect_timeout` runs out; then `ChannelSetupError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final

import aio_pika
import aiormq
from aio_pika.abc import AbstractConnection, AbstractIncomingMessage

from connector_core.exceptions import ChannelSetupError
from connector_rabbitmq.connection import CLOSE_TIMEOUT

__all__ = ["StreamProbe", "stream_unready"]

_log = logging.getLogger(__name__)

_UNREADY: Final = ("stream_not_found", "stream not found", "does not have a replica")
"""What the broker says about a stream it has declared but cannot serve yet."""


def stream_unready(exc: BaseException) -> bool:
    """True if `exc` is the broker's answer for a declared stream that is not ready yet.

    Args:
        exc: An error from declaring, consuming from or publishing to a stream.
    """
    if isinstance(exc, aiormq.exceptions.ConnectionInternalError):
        return True  # how the broker closes a connection after `stream_not_found`
    return any(words in str(exc).lower() for words in _UNREADY)


class StreamProbe:
    """Declares streams on short-lived connections to the broker of one shared connection."""

    def __init__(self, connection: AbstractConnection, timeout: float) -> None:
        """Creates the probe; does no I/O.

        Args:
            connection: The shared connection; probes go to its broker, with its URL
                (and its TLS context).
            timeout: Seconds `ensure()` may take
                (`RabbitMQSettings.connect_timeout`).
        """
        self.connection = connection
        self.timeout = timeout

    async def ensure(self, name: str) -> int:
        """Declares the stream `name` and returns once a consumer can attach to it.

        Args:
            name: The stream's name.

        Returns:
            How many probes it took (1 when the stream was ready at once).

        Raises:
            ChannelSetupError: If the stream is not ready within `timeout` seconds, or the
                broker refuses the stream or the probe's connection.
        """
        url = getattr(self.connection, "url", None)
        if url is None:
            raise ChannelSetupError(
                f"cannot probe the control stream {name!r}: {self.connection!r} has no URL; "
                "override DI.rabbitmq_conn with an aio-pika connection"
            )
        ssl_context = self.connection.kwargs.get("context")
        tries = 0
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    tries += 1
                    try:
                        await _probe(aio_pika.Connection(url, ssl_context=ssl_context), name)
                        return tries
                    except Exception as exc:
                        if not stream_unready(exc):
                            raise ChannelSetupError(
                                f"could not create the control stream {name!r}: {exc!r}"
                            ) from exc
                        _log.debug("stream %s is not ready (%r); probing again", name, exc)
        except TimeoutError as exc:
            raise ChannelSetupError(
                f"the control stream {name!r} was not ready (or the broker did not answer) "
                f"within {self.timeout:g} s, after {tries} tries "
                "(CONNECTOR_RABBITMQ_CONNECT_TIMEOUT); see the broker's log"
            ) from exc


async def _probe(connection: aio_pika.Connection, name: str) -> None:
    """Declares the stream and attaches a consumer to it, on `connection` (then closed)."""
    try:
        await connection.connect()
        channel = await connection.channel(publisher_confirms=False)
        await channel.set_qos(prefetch_count=1)
        queue = await channel.declare_queue(
            name, durable=True, arguments={"x-queue-type": "stream"}
        )
        await queue.consume(_ignore, arguments={"x-stream-offset": "next"})
    finally:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await connection.close()


async def _ignore(message: AbstractIncomingMessage) -> None:
    """The probe's consumer: it only shows that one can attach; the log is read elsewhere."""
