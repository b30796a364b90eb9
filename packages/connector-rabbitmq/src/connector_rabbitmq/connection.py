"""Broker connections: one robust aio-pika connection per event loop, made on first use.

`connector_core.di.DI.rabbitmq_conn` calls `loop_connection()` each time a connector
connects a channel. The first call in a running event loop opens a connection; every
channel of every `RabbitMQConnector` in that loop then shares it (each channel opens its own
AMQP channels on it), and `release()` hands it back when the channel closes. The connection
follows the loop, with nothing for the user to call:

- it closes when the last channel of its loop closes (a later channel opens a new one);
- it closes when its loop shuts down (`asyncio.run` finalizes asynchronous generators
  before it closes the loop: each connection registers one that closes it), even if
  channels were left open;
- a process may run several loops, one after another (`asyncio.run` twice, a notebook, a
  test suite with a loop per test) or at the same time in threads: each gets its own.

The connection is *robust*: when the broker drops it, aio-pika reconnects, reopens the AMQP
channels and re-declares their queues, exchanges, bindings and consumers;
`RabbitMQChannel` retries what was in flight for at most
`RabbitMQSettings.unreachable_timeout` seconds (see `connector_rabbitmq.channel`).

The URL comes from `RabbitMQSettings.url` (`RABBITMQ_URL`); when it is unset, the local
broker's default account, `amqp://guest:guest@localhost:5672/` (as aio-pika, kombu and
FastStream do; RabbitMQ accepts `guest` only from localhost), logged once at INFO.
Connecting fails fast with a `ChannelSetupError` within
`RabbitMQSettings.connect_timeout` seconds when the broker cannot be reached.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncGenerator
from typing import Final
from urllib.parse import urlsplit, urlunsplit

import aio_pika
from aio_pika.abc import AbstractRobustConnection
from aio_pika.connection import make_url

from connector_core.exceptions import ChannelSetupError
from connector_rabbitmq.settings import DEFAULT_URL, RabbitMQSettings

__all__ = [
    "DEFAULT_URL",
    "RECONNECT_INTERVAL",
    "broker_url",
    "connect",
    "loop_connection",
    "redact",
    "release",
]

_log = logging.getLogger(__name__)

RECONNECT_INTERVAL: Final = 0.5
"""Seconds between reconnection attempts after the broker dropped the connection."""

CLOSE_TIMEOUT: Final = 5.0
"""Seconds closing a connection may take before its socket is dropped."""

_default_logged = False


def redact(url: str) -> str:
    """Returns `url` with its password replaced by `***`, for error messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def broker_url(settings: RabbitMQSettings) -> str:
    """Returns the broker URL that `settings` name (`DEFAULT_URL` when unset).

    Args:
        settings: The settings (`url`).

    Raises:
        ChannelSetupError: If the URL does not start with amqp:// or amqps://.
    """
    global _default_logged
    if settings.url is None:
        if not _default_logged:
            _default_logged = True
            _log.info("RABBITMQ_URL is not set: using the local broker at %s", redact(DEFAULT_URL))
        return DEFAULT_URL
    url = settings.url.get_secret_value()
    if not url.startswith(("amqp://", "amqps://")):
        raise ChannelSetupError(
            f"RABBITMQ_URL must start with amqp:// or amqps://, got {redact(url)!r}; for "
            f"example {DEFAULT_URL}"
        )
    return url


async def connect(settings: RabbitMQSettings) -> AbstractRobustConnection:
    """Opens a robust connection to the broker named by `settings`.

    Args:
        settings: Where the broker is (`url`) and how long to try (`connect_timeout`).

    Returns:
        The open connection; the caller closes it.

    Raises:
        ChannelSetupError: If `RABBITMQ_URL` is malformed, or the broker cannot be
            reached (or refuses the credentials) within the timeout.
    """
    url = broker_url(settings)
    timeout = settings.connect_timeout
    unset = " (RABBITMQ_URL is unset: this is the local default)" if url == DEFAULT_URL else ""
    try:
        return await _connect(url, timeout)
    except TimeoutError as exc:
        raise ChannelSetupError(
            f"RabbitMQ at {redact(url)}{unset} did not answer within {timeout:g} s "
            "(CONNECTOR_RABBITMQ_CONNECT_TIMEOUT): start the broker or set RABBITMQ_URL"
        ) from exc
    except Exception as exc:
        raise ChannelSetupError(
            f"cannot connect to RabbitMQ at {redact(url)}{unset}: {exc!r}; start the broker "
            "(e.g. `rabbitmq-server -detached`) or set RABBITMQ_URL"
        ) from exc


async def _connect(url: str, timeout: float) -> AbstractRobustConnection:
    connection = aio_pika.RobustConnection(make_url(url), reconnect_interval=RECONNECT_INTERVAL)
    try:
        async with asyncio.timeout(timeout):
            await connection.connect(timeout=timeout)
        return connection
    except BaseException:
        # Stop its reconnection task: a failed first connect must not keep retrying.
        with contextlib.suppress(Exception):
            await connection.close()
        raise


class _Shared:
    """One event loop's connection to one broker and how many channels hold it."""

    def __init__(self, settings: RabbitMQSettings, url: str) -> None:
        self.settings = settings
        self.url = url
        self.users = 0
        self.connection: AbstractRobustConnection | None = None
        self.closed = False
        self._opening: asyncio.Task[AbstractRobustConnection] | None = None
        self._guard: AsyncGenerator[None, None] | None = None

    async def open(self) -> AbstractRobustConnection:
        if self._opening is None:
            self._opening = asyncio.get_running_loop().create_task(self._open())
        return await asyncio.shield(self._opening)

    async def _open(self) -> AbstractRobustConnection:
        connection = await connect(self.settings)
        self.connection = connection
        _OWNERS[connection] = self
        guard = _until_loop_ends(self)
        await guard.asend(None)  # registers it with the running loop's shutdown_asyncgens()
        self._guard = guard
        return connection

    async def close(self) -> None:
        """Closes the connection now (through its guard, which the loop then forgets)."""
        guard, self._guard = self._guard, None
        if guard is not None:
            await guard.aclose()
        else:
            await self._shutdown()

    async def _shutdown(self) -> None:
        if self.closed:
            return
        self.closed = True
        per_loop = _BY_LOOP.get(asyncio.get_running_loop(), {})
        if per_loop.get(self.url) is self:
            del per_loop[self.url]
        connection = self.connection
        if connection is None:
            return
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await connection.close()
        except Exception as exc:  # the loop is ending or the broker is gone: drop it
            _log.debug("closing the RabbitMQ connection failed: %r", exc)


async def _until_loop_ends(shared: _Shared) -> AsyncGenerator[None, None]:
    """Suspended while the connection is open; closing it (or the loop) closes the connection."""
    try:
        yield
    finally:
        await shared._shutdown()


_BY_LOOP: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Shared]] = (
    weakref.WeakKeyDictionary()
)
_OWNERS: weakref.WeakKeyDictionary[AbstractRobustConnection, _Shared] = weakref.WeakKeyDictionary()


async def loop_connection(settings: RabbitMQSettings) -> AbstractRobustConnection:
    """Returns the running loop's connection to the broker of `settings`, held once more.

    This is what `DI.rabbitmq_conn` provides. The first call in a loop opens the
    connection; each call counts one more holder, and `release()` one fewer: the last
    release closes it. Whatever is still held is closed when the loop shuts down.

    Args:
        settings: The settings that name the broker.

    Returns:
        The loop's open robust connection.

    Raises:
        ChannelSetupError: If `RABBITMQ_URL` is malformed or the broker cannot be reached
            within `settings.connect_timeout`.
    """
    loop = asyncio.get_running_loop()
    url = broker_url(settings)
    per_loop = _BY_LOOP.setdefault(loop, {})
    shared = per_loop.get(url)
    if shared is None or shared.closed:
        shared = per_loop[url] = _Shared(settings, url)
    shared.users += 1
    try:
        return await shared.open()
    except BaseException:
        shared.users -= 1
        if per_loop.get(url) is shared and shared.connection is None:
            del per_loop[url]  # it failed to open: the next call tries again
        raise


async def release(connection: AbstractRobustConnection) -> None:
    """Hands back a connection from `loop_connection()`; the last holder's call closes it.

    A connection that did not come from `loop_connection()` (one given through a DI
    override) is left alone: its owner closes it.

    Args:
        connection: The connection to hand back.
    """
    shared = _OWNERS.get(connection)
    if shared is None or shared.closed:
        return
    shared.users -= 1
    if shared.users <= 0:
        await shared.close()
