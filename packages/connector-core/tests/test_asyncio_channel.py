from __future__ import annotations

import asyncio
import pickle

import pytest

from connector_core import (
    AsyncioChannel,
    AsyncioConnector,
    ChannelClosedError,
    ChannelError,
    ConnectorMode,
    ConnectorSpec,
    available_backends,
)


def _connector(mode: ConnectorMode = ConnectorMode.PIPELINE, maxsize: int = 3) -> AsyncioConnector:
    return AsyncioConnector(ConnectorSpec("a.out", "b.in", mode), maxsize=maxsize)


async def _blocks(coro_task: asyncio.Task[None]) -> bool:
    for _ in range(20):  # let the task run until it parks on a future
        await asyncio.sleep(0)
    return not coro_task.done()


def test_connector_is_made_without_an_event_loop() -> None:
    assert _connector().id == "a.out..b.in"


def test_pickling_the_connector_raises_with_advice() -> None:
    others = [name for name in available_backends() if name != "asyncio"]
    with pytest.raises(TypeError, match="in-process only.*cross-process backend") as info:
        pickle.dumps(_connector())
    assert all(name in str(info.value) for name in others)  # the installed ones, by name


async def test_pickling_a_channel_raises_with_advice() -> None:
    channel = await _connector().connect_send()
    with pytest.raises(TypeError, match="in-process only"):
        pickle.dumps(channel)


async def test_standalone_channel_is_its_own_sender_and_receiver() -> None:
    channel = AsyncioChannel(maxsize=5)
    await channel.send(1)
    await channel.send(2)
    await channel.close()
    assert channel.is_closed
    assert [item async for item in channel] == [1, 2]


def test_standalone_channel_refuses_the_reference_queue_arguments() -> None:
    with pytest.raises(TypeError, match="does not take queue="):
        AsyncioChannel(queue=asyncio.Queue())


async def test_pipeline_holds_exactly_maxsize_items_then_send_waits() -> None:
    connector = _connector(maxsize=3)
    await connector.connect_recv()
    sender = await connector.connect_send()
    for i in range(3):
        await sender.send(i)
    assert sender.statistics().buffered == 3
    blocked = asyncio.create_task(sender.send(3))
    assert await _blocks(blocked)
    blocked.cancel()


async def test_maxsize_zero_is_unbounded() -> None:
    connector = _connector(maxsize=0)
    sender = await connector.connect_send()
    for i in range(10_000):
        await sender.send(i)
    assert sender.statistics().buffered == 10_000


async def test_blocked_sender_is_woken_when_its_channel_closes() -> None:
    connector = _connector(maxsize=1)
    await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.send(0)
    blocked = asyncio.create_task(sender.send(1))
    assert await _blocks(blocked)
    await sender.close()
    with pytest.raises(ChannelClosedError):
        await blocked


async def test_blocked_pipeline_sender_is_woken_when_every_receiver_closes() -> None:
    connector = _connector(maxsize=1)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.send(0)
    blocked = asyncio.create_task(sender.send(1))
    assert await _blocks(blocked)
    await receiver.close()
    with pytest.raises(ChannelClosedError, match="every receiver"):
        await blocked


async def test_blocked_receiver_is_woken_when_its_channel_closes() -> None:
    connector = _connector()
    receiver = await connector.connect_recv()
    await connector.connect_send()
    blocked = asyncio.create_task(receiver.recv())
    assert await _blocks(blocked)
    await receiver.close()
    with pytest.raises(ChannelClosedError):
        await blocked


async def test_closing_subscriber_unblocks_the_publisher() -> None:
    connector = _connector(ConnectorMode.PUBSUB, maxsize=1)
    slow = await connector.connect_recv()
    fast = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.send(0)
    assert await fast.recv() == 0
    blocked = asyncio.create_task(sender.send(1))
    assert await _blocks(blocked)
    await slow.close()
    await blocked
    assert await fast.recv() == 1


async def test_cancelled_pubsub_send_reaches_no_subscriber() -> None:
    connector = _connector(ConnectorMode.PUBSUB, maxsize=1)
    roomy = await connector.connect_recv()
    full = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.send(0)
    assert await roomy.recv() == 0
    blocked = asyncio.create_task(sender.send(1))
    assert await _blocks(blocked)
    blocked.cancel()
    with pytest.raises(asyncio.CancelledError):
        await blocked
    assert roomy.statistics().buffered == 0
    assert full.statistics().buffered == 1


async def test_connect_send_after_the_connection_ended_raises() -> None:
    connector = _connector()
    sender = await connector.connect_send()
    await sender.close()
    with pytest.raises(ChannelClosedError, match="build a new connector"):
        await connector.connect_send()


async def test_subscriber_joining_after_the_end_is_closed_at_once() -> None:
    connector = _connector(ConnectorMode.PUBSUB)
    sender = await connector.connect_send()
    await sender.close()
    late = await connector.connect_recv()
    with pytest.raises(ChannelClosedError):
        await late.recv()


async def test_receiving_channel_cannot_send_and_sending_channel_cannot_receive() -> None:
    connector = _connector()
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    with pytest.raises(ChannelError, match="cannot send"):
        await receiver.send(1)
    with pytest.raises(ChannelError, match="cannot receive"):
        await sender.recv()


async def test_statistics_count_open_senders_and_receivers() -> None:
    connector = _connector()
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    await connector.connect_send()
    assert receiver.statistics().senders == 2
    assert sender.statistics().receivers == 1
    await receiver.close()
    assert sender.statistics().receivers == 0


def test_maxsize_must_be_an_int() -> None:
    with pytest.raises(TypeError, match="maxsize must be an int"):
        AsyncioConnector(ConnectorSpec("a.out", "b.in"), maxsize="10")  # type: ignore[arg-type]
