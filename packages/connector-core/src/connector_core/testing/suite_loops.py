"""Conformance: a channel belongs to the event loop it was made in.

A process may run several event loops, one after another (`asyncio.run` twice, a notebook, a
test suite with a loop per test) or at once in threads. A channel awaited from a loop other
than its own must fail at once with a clear `ChannelError`, never hang, and stay usable in
its own loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from connector_core.exceptions import ChannelClosedError, ChannelError
from connector_core.spec import ConnectorMode
from connector_core.testing.base import ConformanceBase
from connector_core.testing.harness import STEP_TIMEOUT, ConnectorFactory

__all__ = ["LoopTests", "error_in_another_loop"]


def error_in_another_loop(call: Callable[[], Awaitable[Any]]) -> BaseException | None:
    """Awaits `call()` in a fresh event loop of the calling thread; returns what it raised.

    Run it in another thread (`asyncio.to_thread`) so the channel's own loop stays alive.
    A hang counts as a failure after `STEP_TIMEOUT` (the `TimeoutError` is returned).

    Args:
        call: Makes the awaitable to try, e.g. `channel.recv`.
    """

    async def attempt() -> None:
        async with asyncio.timeout(STEP_TIMEOUT):
            await call()

    try:
        asyncio.run(attempt())
    except BaseException as exc:  # the caller asserts on what was raised
        return exc
    return None


class LoopTests(ConformanceBase):
    """Channels used from a foreign event loop fail fast and stay usable at home."""

    async def test_recv_from_another_event_loop_raises_channel_error(
        self, connector_factory: ConnectorFactory, mode: ConnectorMode
    ) -> None:
        """`recv()` awaited in another loop raises `ChannelError` at once, not a hang.

        Troubleshooting:
            - Remember the running loop when the channel is made, and compare it with
              `asyncio.get_running_loop()` at the top of every awaitable method.
            - Raise before touching any shared state, so the channel stays usable.
        """
        async with self.harness(connector_factory) as h:
            connector = h.connector(mode)
            receiver = await h.receiver(connector)
            sender = await h.sender(connector)
            error = await asyncio.to_thread(error_in_another_loop, receiver.recv)
            assert isinstance(error, ChannelError), f"expected a ChannelError, got {error!r}"
            assert not isinstance(error, ChannelClosedError), error
            assert "loop" in str(error), f"the error should name the event loop: {error}"
            await sender.send("at home")
            async with asyncio.timeout(STEP_TIMEOUT):
                assert await receiver.recv() == "at home"

    async def test_send_from_another_event_loop_raises_channel_error(
        self, connector_factory: ConnectorFactory, mode: ConnectorMode
    ) -> None:
        """`send()` awaited in another loop raises `ChannelError` at once, sending nothing.

        Troubleshooting:
            - See `test_recv_from_another_event_loop_raises_channel_error`.
        """
        async with self.harness(connector_factory) as h:
            connector = h.connector(mode)
            receiver = await h.receiver(connector)
            sender = await h.sender(connector)
            error = await asyncio.to_thread(error_in_another_loop, lambda: sender.send("away"))
            assert isinstance(error, ChannelError), f"expected a ChannelError, got {error!r}"
            assert not isinstance(error, ChannelClosedError), error
            assert "loop" in str(error), f"the error should name the event loop: {error}"
            await sender.send("at home")
            async with asyncio.timeout(STEP_TIMEOUT):
                assert await receiver.recv() == "at home"
            assert sender.statistics().sent == 1

    async def test_connectors_work_in_a_second_event_loop(
        self, connector_factory: ConnectorFactory, mode: ConnectorMode
    ) -> None:
        """A fresh connector works in a loop that runs after an earlier one has finished.

        This is `asyncio.run(main())` twice in one process: shared resources (a broker
        connection, a context) must follow the running loop.

        Troubleshooting:
            - Keep per-process resources per running loop: made on first use in a loop and
              released when that loop's work is done.
        """
        if not self.cross_process:
            pytest.skip("in-process backends hold no per-process resources")

        async def round_trip() -> Any:
            async with self.harness(connector_factory) as h:
                connector = h.connector(mode)
                receiver = await h.receiver(connector)
                sender = await h.sender(connector)
                await sender.send("again")
                async with asyncio.timeout(STEP_TIMEOUT):
                    return await receiver.recv()

        first = await asyncio.to_thread(asyncio.run, round_trip())
        second = await asyncio.to_thread(asyncio.run, round_trip())
        assert first == second == "again"
