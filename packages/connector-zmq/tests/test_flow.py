"""Backpressure and delivery under load: slow subscribers, receivers that quit mid-stream."""

from __future__ import annotations

import asyncio
from typing import Any

from connector_core.channel import Channel
from connector_core.spec import ConnectorMode
from connector_core.testing import STEP_TIMEOUT, assert_delivered_once, drain, transport_of
from connector_core.testing import unique_spec as spec
from connector_zmq import ZMQConnector
from connector_zmq import protocol as p
from connector_zmq.receiver import ReceiverLink


async def test_slow_subscriber_holds_the_publisher_back_and_loses_nothing() -> None:
    maxsize, total = 8, 300
    connector = ZMQConnector(spec(ConnectorMode.PUBSUB), maxsize=maxsize)
    fast = await connector.connect_recv()
    slow = await connector.connect_recv()
    sender = await connector.connect_send()
    fast_items: list[Any] = []
    fast_has_window = asyncio.Event()

    async def take_fast() -> None:
        async for item in fast:
            fast_items.append(item)
            if len(fast_items) == maxsize:
                fast_has_window.set()

    async def produce() -> None:
        for i in range(total):
            await sender.send(i)
        await sender.close()

    fast_task = asyncio.create_task(take_fast())
    producer = asyncio.create_task(produce())
    async with asyncio.timeout(10):
        await fast_has_window.wait()
    # The slow subscriber has taken nothing: the publisher must wait for it, not drop.
    done, _ = await asyncio.wait({producer}, timeout=0.5)
    assert not done, "the publisher ran ahead of a stalled subscriber"
    assert len(fast_items) == maxsize
    assert sender.statistics().sent == maxsize
    slow_items = await drain(slow)
    await producer
    await fast_task
    assert slow_items == list(range(total))
    assert fast_items == list(range(total))
    await fast.close()
    await slow.close()


async def test_pipeline_receiver_quitting_mid_stream_loses_nothing() -> None:
    total = 3000
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE), maxsize=64)
    quitter = await connector.connect_recv()
    stayers = [await connector.connect_recv() for _ in range(2)]
    senders = [await connector.connect_send() for _ in range(2)]

    async def produce(index: int) -> None:
        for i in range(total // 2):
            await senders[index].send((index, i))
        await senders[index].close()

    async def quit_early(channel: Channel) -> list[Any]:
        taken = [await channel.recv() for _ in range(100)]
        await channel.close()
        return taken

    producers = [asyncio.create_task(produce(i)) for i in range(2)]
    results = await asyncio.gather(quit_early(quitter), *(drain(r) for r in stayers))
    await asyncio.gather(*producers)
    expected = [(s, i) for s in range(2) for i in range(total // 2)]
    assert_delivered_once(results, expected, ConnectorMode.PIPELINE)
    for channel in stayers:
        await channel.close()


async def test_receiver_that_joins_late_gets_items_sent_before_it_in_a_pipeline() -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE), maxsize=8)
    sender = await connector.connect_send()
    for i in range(4):  # fits the sender's own queue: nobody is receiving yet
        await sender.send(i)
    closing = asyncio.create_task(sender.close())
    receiver = await connector.connect_recv()
    assert await drain(receiver) == [0, 1, 2, 3]
    await closing
    await receiver.close()


async def test_items_sent_while_no_receiver_exists_wait_for_the_next_one() -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE), maxsize=8)
    first = await connector.connect_recv()
    await first.close()
    sender = await connector.connect_send()
    for i in range(4):
        await sender.send(i)
    await sender.close()  # no receiver: the items go to the rendezvous
    second = await connector.connect_recv()
    assert await drain(second) == [0, 1, 2, 3]
    await second.close()


async def test_items_of_one_frame_spend_one_credit_each_and_hold_the_next_send() -> None:
    maxsize = 64
    window = p.open_window(maxsize, pubsub=False)  # what an open sender spends per receiver
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE), maxsize=maxsize)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.send_many(range(window))  # fewer frames than credits, as many items
    await sender.send(window)
    link = transport_of(receiver, ReceiverLink)
    async with asyncio.timeout(STEP_TIMEOUT):
        while receiver.statistics().buffered < window:
            await link._wait_changed()
    assert sender.statistics().buffered == 1, "an item went beyond the receiver's credit"
    async with asyncio.timeout(STEP_TIMEOUT):
        taken = await receiver.recv_many(window)  # gives credits back: the item follows
        while len(taken) <= window:
            taken += await receiver.recv_many(window)
    assert taken == list(range(window + 1))
    await sender.close()
    assert await drain(receiver) == []


async def test_a_closing_sender_hands_up_to_maxsize_items_to_an_idle_receiver() -> None:
    maxsize = 16
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE), maxsize=maxsize)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    for i in range(maxsize):  # more than an open sender's window: most wait in its queue
        await sender.send(i)
    async with asyncio.timeout(STEP_TIMEOUT):
        await sender.close()  # the receiver takes nothing until it has returned
    assert await drain(receiver) == list(range(maxsize))


async def test_items_a_closing_receiver_returns_keep_their_count_at_the_next() -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE), maxsize=64)
    first = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.send_many(range(10))  # one frame of ten items, all to `first`
    async with asyncio.timeout(STEP_TIMEOUT):
        while first.statistics().buffered < 10:
            await transport_of(first, ReceiverLink)._wait_changed()
    second = await connector.connect_recv()
    await first.close()  # hands the frame back, sealed again, to the rendezvous
    link = transport_of(second, ReceiverLink)
    async with asyncio.timeout(STEP_TIMEOUT):
        while second.statistics().buffered < 10:
            await link._wait_changed()
    assert second.statistics().buffered == 10
    await sender.close()
    assert await drain(second) == list(range(10))
