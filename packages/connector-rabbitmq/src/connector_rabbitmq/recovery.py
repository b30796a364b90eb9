"""Waiting for a robust AMQP channel to come back after the broker dropped the connection.

The wait is bounded: a broker that stays unreachable for `RabbitMQSettings.unreachable_timeout`
seconds (`CONNECTOR_RABBITMQ_UNREACHABLE_TIMEOUT`) raises `BrokerUnreachableError`, so a
sender's `send()` and `close()` report it instead of retrying forever.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from aio_pika.abc import AbstractRobustChannel

__all__ = ["BrokerUnreachableError", "ChannelGoneError", "ShieldedSteps", "wait_until_open"]


class ChannelGoneError(Exception):
    """The channel was closed on purpose (or its connection was): it will not come back."""


class BrokerUnreachableError(Exception):
    """The broker connection was lost and did not come back within the deadline."""

    def __init__(self, timeout: float) -> None:
        """Creates the error for a deadline of `timeout` seconds."""
        super().__init__(
            f"the RabbitMQ broker has been unreachable for {timeout:g} s "
            "(CONNECTOR_RABBITMQ_UNREACHABLE_TIMEOUT)"
        )
        self.timeout = timeout


async def wait_until_open(channel: AbstractRobustChannel, timeout: float | None = None) -> None:
    """Returns once `channel` is open and restored; at once if it is open now.

    aio-pika reopens a robust channel after a reconnect and then calls its
    `reopen_callbacks`: that is the signal waited for (no polling).

    Args:
        channel: The robust channel.
        timeout: Optional; seconds to wait at most (None: no limit).

    Raises:
        ChannelGoneError: If the channel or its connection was closed with `close()`.
        BrokerUnreachableError: If the channel is not back within `timeout` seconds.
    """
    try:
        async with asyncio.timeout(timeout):
            await _wait_until_open(channel)
    except TimeoutError:
        if timeout is None:
            raise
        raise BrokerUnreachableError(timeout) from None


async def _wait_until_open(channel: AbstractRobustChannel) -> None:
    loop = asyncio.get_running_loop()
    while channel.is_closed:
        if getattr(channel, "_close_called", False) or _connection_closed(channel):
            raise ChannelGoneError(f"{channel!r} was closed")
        reopened: asyncio.Future[None] = loop.create_future()

        def on_reopen(*_: Any, fut: asyncio.Future[None] = reopened) -> None:
            if not fut.done():
                fut.set_result(None)

        channel.reopen_callbacks.add(on_reopen)
        try:
            if channel.is_closed:
                await reopened
        finally:
            with contextlib.suppress(Exception):
                channel.reopen_callbacks.discard(on_reopen)
    await channel.ready()


def _connection_closed(channel: AbstractRobustChannel) -> bool:
    connection = getattr(channel, "_connection", None)
    return bool(getattr(connection, "close_called", False))


_T = TypeVar("_T")


class ShieldedSteps:
    """Runs steps that talk to the broker so that cancelling their caller cannot cut them.

    aiormq closes an AMQP channel whose RPC is cancelled half-way, so each step runs in a
    task of its own; a caller cancelled while it runs leaves it running, and the next call
    of the same name waits for the same task instead of starting another.
    """

    def __init__(self) -> None:
        """Creates the runner with no step in flight."""
        self._tasks: dict[str, asyncio.Task[Any]] = {}

    async def run(self, name: str, step: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
        """Runs `step()` as the step `name`, or waits for the one already running.

        Args:
            name: Which step (one task at a time per name).
            step: Makes the step's coroutine.
        """
        task = self._tasks.get(name)
        if task is None:
            task = self._tasks[name] = asyncio.get_running_loop().create_task(step())
        try:
            return await asyncio.shield(task)
        finally:
            if task.done():
                self._tasks.pop(name, None)
