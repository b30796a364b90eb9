"""Large items: their buffers travel beside the frame, out of band, and arrive whole.

`connector_core.buffers`: with pickle, a top-level bytes-like item of `LEND_BYTES` or more,
or an item holding a numpy array that large, is sealed as a frame of its own and its
buffers follow as ZeroMQ parts (`protocol.BUFFERS`), sent without copies.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import numpy as np
import pytest

from connector_core.buffers import LEND_BYTES
from connector_core.exceptions import ChannelSerializationError
from connector_core.spec import ConnectorMode
from connector_core.testing import STEP_TIMEOUT, drain, spawned_receiver, transport_of
from connector_core.testing import unique_spec as spec
from connector_zmq import ZMQConnector
from connector_zmq import protocol as p
from connector_zmq.receiver import ReceiverLink

LARGE = 2 * LEND_BYTES


def _same(sent: Any, received: Any) -> bool:
    if isinstance(sent, dict):
        return sent.keys() == received.keys() and all(_same(sent[k], received[k]) for k in sent)
    if isinstance(sent, np.ndarray):
        return (
            isinstance(received, np.ndarray)
            and sent.dtype == received.dtype
            and bool((sent == received).all())
        )
    return bool(sent == received)


async def _round_trip(item: Any, mode: ConnectorMode = ConnectorMode.PIPELINE) -> Any:
    connector = ZMQConnector(spec(mode), maxsize=4)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.send(item)
    await sender.close()
    received = await drain(receiver)
    assert len(received) == 1
    assert receiver.statistics().rejected == 0
    return received[0]


async def test_large_bytes_arrive_as_bytes() -> None:
    item = bytes(range(256)) * (LARGE // 256)
    received = await _round_trip(item)
    assert type(received) is bytes
    assert received == item


async def test_a_large_bytearray_arrives_as_a_bytearray() -> None:
    item = bytearray(b"b" * LARGE)
    received = await _round_trip(item)
    assert type(received) is bytearray
    assert received == item


async def test_a_large_memoryview_arrives_as_bytes() -> None:
    data = b"m" * LARGE
    received = await _round_trip(memoryview(data))
    assert type(received) is bytes
    assert received == data


async def test_a_numpy_array_arrives_equal() -> None:
    item = np.arange(LARGE // 8, dtype=np.int64).reshape(-1, 64)
    received = await _round_trip(item)
    assert _same(item, received)
    assert received.shape == item.shape


async def test_a_received_numpy_array_is_writable() -> None:
    received = await _round_trip(np.zeros(LARGE // 8))
    received[0] = 1.0  # it was writable where it was sent
    assert received[0] == 1.0


async def test_a_dict_holding_numpy_arrays_arrives_equal() -> None:
    item = {
        "weights": np.ones((256, 128), dtype=np.float32),
        "bias": np.arange(10),  # small: it goes out of band beside the large one
        "name": "layer",
    }
    received = await _round_trip(item)
    assert _same(item, received)


async def test_a_bytearray_changed_after_send_arrives_as_it_was_sent() -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE), maxsize=4)
    sender = await connector.connect_send()  # no receiver yet: the item waits here
    item = bytearray(b"a" * LARGE)
    await sender.send(item)
    item[:] = b"z" * LARGE  # a writable buffer was copied when send() was called
    receiver = await connector.connect_recv()
    await sender.close()
    assert await drain(receiver) == [bytearray(b"a" * LARGE)]
    assert receiver.statistics().rejected == 0


async def test_large_and_small_items_keep_their_order() -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE), maxsize=8)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    items: list[Any] = []
    for i in range(12):
        items += [i, i + 0.5, bytes([i]) * LARGE] if i % 3 else [bytes([i]) * LARGE, str(i)]

    async def produce() -> None:
        for item in items:
            await sender.send(item)
        await sender.close()

    producer = asyncio.create_task(produce())
    assert await drain(receiver) == items
    await producer


async def test_pubsub_delivers_large_items_to_every_subscriber() -> None:
    connector = ZMQConnector(spec(ConnectorMode.PUBSUB), maxsize=4)
    subscribers = [await connector.connect_recv() for _ in range(3)]
    sender = await connector.connect_send()
    items = [bytes([i]) * LARGE for i in range(6)]

    async def produce() -> None:
        for item in items:
            await sender.send(item)
        await sender.close()

    producer = asyncio.create_task(produce())
    received = await asyncio.gather(*(drain(subscriber) for subscriber in subscribers))
    await producer
    assert received == [items] * 3


async def test_large_items_a_closing_sender_still_holds_reach_a_later_receiver() -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE), maxsize=8)
    first = await connector.connect_recv()
    await first.close()
    sender = await connector.connect_send()
    items = ["small", bytes([1]) * LARGE, np.ones(LARGE // 8), "last"]
    for item in items:
        await sender.send(item)
    await sender.close()  # no receiver: its leftovers go to the rendezvous, in one piece
    second = await connector.connect_recv()
    received = await drain(second)
    assert len(received) == len(items)
    assert all(_same(sent, got) for sent, got in zip(items, received, strict=True))
    assert second.statistics().rejected == 0


async def test_large_items_a_closing_receiver_had_not_handed_out_go_to_another() -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE), maxsize=16)
    first = await connector.connect_recv()
    sender = await connector.connect_send()
    items = [bytes([i]) * LARGE for i in range(3)]
    for item in items:
        await sender.send(item)
    async with asyncio.timeout(STEP_TIMEOUT):
        while first.statistics().buffered < len(items):
            await transport_of(first, ReceiverLink)._wait_changed()
    second = await connector.connect_recv()
    await first.close()  # returns them to the rendezvous, buffers joined in
    await sender.close()
    assert await drain(second) == items
    assert second.statistics().rejected == 0


async def test_large_items_a_receiver_gives_back_at_close_reach_another() -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE), maxsize=16)
    first = await connector.connect_recv()
    sender = await connector.connect_send()
    items = [bytes([i]) * LARGE for i in range(3)]
    await sender.send_many(items)  # one frame: the channel takes all three at once
    async with asyncio.timeout(STEP_TIMEOUT):
        assert await first.recv() == items[0]
    second = await connector.connect_recv()
    await first.close()  # gives the two it had not returned back
    await sender.close()
    assert await drain(second) == items[1:]


async def test_an_item_whose_buffers_add_up_to_over_the_limit_fails_its_send() -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE))
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    half = p.MAX_ITEM_BYTES // 2
    item = {"a": np.zeros(half, dtype=np.uint8), "b": np.zeros(half, dtype=np.uint8)}
    with pytest.raises(ChannelSerializationError, match="MAX_ITEM_BYTES"):
        await sender.send(item)  # each buffer fits; with the frame they do not
    assert sender.statistics().sent == 0
    await sender.send("small")
    await sender.close()
    assert await drain(receiver) == ["small"]


@pytest.mark.crossprocess
async def test_large_items_sent_to_another_process_all_arrive_before_the_end() -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE), maxsize=16)
    async with spawned_receiver(connector) as receiver:
        sender = await connector.connect_send()
        items = [os.urandom(4 * LARGE) for _ in range(8)]
        for item in items:
            await sender.send(item)
        await sender.close()
        assert await receiver.received() == items
