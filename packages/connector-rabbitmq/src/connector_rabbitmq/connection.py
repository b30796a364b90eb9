"""The process's broker connection: one robust aio-pika connection per process and event loop.

`connector_core.di.DI.rabbitmq_conn` is a lazy resource that calls `rabbitmq_connection()`
the first time a connector in this process connects a channel; every channel of every
`RabbitMQConnector` in the process then shares that one TCP connection (each channel opens
its own AMQP channels on it). The connection is *robust*: when the broker drops it, aio-pika
reconnects, reopens the AMQP channels and re-declares their queues, exchanges, bindings and
consumers; `RabbitMQChannel` retries what was in flight (see `connector_rabbitmq.channel`).

The URL comes from `Settings.rabbitmq_url` (`RABBITMQ_URL`). Connecting fails fast with a
`ChannelSetupError`: immediately when the URL is unset, and within
`Settings.rabbitmq_connect_timeout` seconds when the broker cannot be reached.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import aio_pika
from aio_pika.abc import AbstractRobustConnection
from aio_pika.connection import make_url

from connector_core.exceptions import ChannelSetupError
from connector_core.settings import Settings

__all__ = ["EXAMPLE_URL", "RECONNECT_INTERVAL", "connect", "rabbitmq_connection", "redact"]

EXAMPLE_URL = "amqp://guest:guest@127.0.0.1:5672/"
"""The URL of a broker on this machine with the default account, as an example."""

RECONNECT_INTERVAL = 0.5
"""Seconds between reconnection attempts after the broker dropped the connection."""


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


def _url(settings: Settings) -> str:
    if settings.rabbitmq_url is None:
        raise ChannelSetupError(
            "RABBITMQ_URL is not set: set it to the broker's URL with credentials, for "
            f"example `export RABBITMQ_URL={EXAMPLE_URL}` (or CONNECTOR_RABBITMQ_URL)"
        )
    url = settings.rabbitmq_url.get_secret_value()
    if not url.startswith(("amqp://", "amqps://")):
        raise ChannelSetupError(
            f"RABBITMQ_URL must start with amqp:// or amqps://, got {redact(url)!r}; for "
            f"example {EXAMPLE_URL}"
        )
    return url


async def connect(settings: Settings) -> AbstractRobustConnection:
    """Opens a robust connection to the broker named by `settings`.

    Args:
        settings: Where the broker is (`rabbitmq_url`) and how long to try
            (`rabbitmq_connect_timeout`).

    Returns:
        The open connection; the caller closes it.

    Raises:
        ChannelSetupError: If `RABBITMQ_URL` is unset or malformed, or the broker cannot be
            reached (or refuses the credentials) within the timeout.
    """
    url = _url(settings)
    timeout = settings.rabbitmq_connect_timeout
    try:
        return await _connect(url, timeout)
    except TimeoutError as exc:
        raise ChannelSetupError(
            f"RabbitMQ at {redact(url)} did not answer within {timeout:g} s "
            "(CONNECTOR_RABBITMQ_CONNECT_TIMEOUT): start the broker or fix RABBITMQ_URL"
        ) from exc
    except Exception as exc:
        raise ChannelSetupError(
            f"cannot connect to RabbitMQ at {redact(url)}: {exc!r}; start the broker "
            "(e.g. `rabbitmq-server -detached`) or fix RABBITMQ_URL"
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


async def rabbitmq_connection(settings: Settings) -> AsyncIterator[AbstractRobustConnection]:
    """Yields a robust connection to the broker and closes it afterwards.

    This is the body of the `DI.rabbitmq_conn` resource: the container calls it once per
    process (lazily, inside the running event loop) and closes it on
    `container.shutdown_resources()`.

    Args:
        settings: The settings that name the broker.

    Yields:
        The process's robust connection.

    Raises:
        ChannelSetupError: If `RABBITMQ_URL` is unset or the broker cannot be reached
            within `settings.rabbitmq_connect_timeout`.
    """
    connection = await connect(settings)
    try:
        yield connection
    finally:
        with contextlib.suppress(Exception):
            await connection.close()
