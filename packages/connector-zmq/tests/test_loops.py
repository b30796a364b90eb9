"""A ZMQ channel belongs to the event loop it was made in: elsewhere it fails at once."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any

import pytest

from connector_core.exceptions import ChannelClosedError, ChannelError
from connector_core.spec import ConnectorMode
from connector_core.testing import STEP_TIMEOUT, drain, error_in_another_loop
from connector_core.testing import unique_spec as spec
from connector_zmq import ZMQChannel, ZMQConnector


def _assert_foreign_loop_error(error: BaseException | None) -> None:
    assert isinstance(error, ChannelError), f"expected a ChannelError, got {error!r}"
    assert not isinstance(error, ChannelClosedError), error
    assert "another event loop" in str(error)
    assert "make channels" in str(error)


async def _pair() -> tuple[ZMQChannel, ZMQChannel]:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE))
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    return receiver, sender


async def test_recv_in_another_loop_raises_at_once() -> None:
    receiver, sender = await _pair()
    _assert_foreign_loop_error(await asyncio.to_thread(error_in_another_loop, receiver.recv))
    await sender.send("home")
    await sender.close()
    assert await drain(receiver) == ["home"]


async def test_send_in_another_loop_raises_at_once_and_sends_nothing() -> None:
    receiver, sender = await _pair()
    error = await asyncio.to_thread(error_in_another_loop, lambda: sender.send("away"))
    _assert_foreign_loop_error(error)
    assert sender.statistics().sent == 0
    await sender.close()
    assert await drain(receiver) == []


@pytest.mark.parametrize("side", ["sender", "receiver"])
async def test_close_in_another_loop_raises_and_leaves_the_channel_open(side: str) -> None:
    receiver, sender = await _pair()
    channel = sender if side == "sender" else receiver
    _assert_foreign_loop_error(await asyncio.to_thread(error_in_another_loop, channel.close))
    assert not channel.is_closed
    await sender.close()
    await drain(receiver)
    assert receiver.is_closed


async def test_a_channel_of_a_loop_running_in_another_thread_raises_here() -> None:
    home = asyncio.new_event_loop()
    thread = threading.Thread(target=home.run_forever, name="home-loop")
    thread.start()

    def at_home(call: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(call, home).result(STEP_TIMEOUT)

    try:
        receiver, sender = await asyncio.to_thread(at_home, _pair())
        async with asyncio.timeout(STEP_TIMEOUT):
            with pytest.raises(ChannelError, match="another event loop"):
                await receiver.recv()
        await asyncio.to_thread(at_home, sender.close())
        assert await asyncio.to_thread(at_home, drain(receiver)) == []
    finally:
        home.call_soon_threadsafe(home.stop)
        await asyncio.to_thread(thread.join, STEP_TIMEOUT)
        home.close()
