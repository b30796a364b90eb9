"""Waiting for a robust AMQP channel to come back after the broker dropped the connection."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aio_pika.abc import AbstractRobustChannel

__all__ = ["ChannelGoneError", "wait_until_open"]


class ChannelGoneError(Exception):
    """The channel was closed on purpose (or its connection was): it will not come back."""


async def wait_until_open(channel: AbstractRobustChannel) -> None:
    """Returns once `channel` is open and restored; at once if it is open now.

    aio-pika reopens a robust channel after a reconnect and then calls its
    `reopen_callbacks`: that is the signal waited for (no polling).

    Raises:
        ChannelGoneError: If the channel or its connection was closed with `close()`.
    """
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
