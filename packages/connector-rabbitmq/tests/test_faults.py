"""Faults on loopback: a receiver SIGKILLed, every connection dropped, forged messages."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
import pytest

from connector_core.codec import TAG_SIZE
from connector_core.di import container
from connector_core.exceptions import ChannelDecodeError, ChannelSetupError
from connector_core.settings import Settings
from connector_core.spec import ConnectorMode
from connector_core.testing import (
    PROCESS_TIMEOUT,
    STEP_TIMEOUT,
    drain,
    stalling_receiver,
    unique_spec,
)
from connector_rabbitmq import RabbitMQChannel, RabbitMQConnector, purge
from connector_rabbitmq.cleanup import leftovers, queue_length
from connector_rabbitmq.connector import _open_channel

pytestmark = [
    pytest.mark.rabbitmq,
    pytest.mark.fault,
    pytest.mark.asyncio(loop_scope="session"),
]


async def _conn() -> Any:
    return await container.rabbitmq_conn()


def _connector(mode: ConnectorMode, **kwargs: Any) -> RabbitMQConnector:
    return RabbitMQConnector(unique_spec(mode), settings=Settings(end_grace=0.2), **kwargs)


async def _produce(sender: RabbitMQChannel, count: int) -> None:
    for i in range(count):
        await sender.send(i)
    await sender.close()


async def test_killed_receivers_unacknowledged_messages_go_to_the_others(broker: str) -> None:
    connector = _connector(ConnectorMode.PIPELINE, maxsize=400)
    async with stalling_receiver(connector, stop_after=20) as child:
        sender = await connector.connect_send()
        producer = asyncio.create_task(_produce(sender, 2000))
        taken_by_child = [int(line) for line in await child.read_lines(20)]
        # The child now holds its prefetch window unacknowledged; a survivor connects.
        survivor = await connector.connect_recv()
        await child.kill()
        got = await drain(survivor, timeout=PROCESS_TIMEOUT)
        await producer
    counts = Counter(got)
    assert max(counts.values()) == 1, "the survivor got an item twice"
    assert set(got) | set(taken_by_child) == set(range(2000)), "items were lost"
    await survivor.close()
    # The killed receiver never left, so its run's objects stay until purged.
    conn = await _conn()
    assert await leftovers(conn, connector.names)
    await purge(connector.job_id, [connector], conn)
    assert await leftovers(conn, connector.names) == []


@pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)
async def test_stream_survives_the_broker_dropping_every_connection(
    drop_every_connection: Callable[[], Awaitable[None]], mode: ConnectorMode
) -> None:
    connector = _connector(mode, maxsize=500)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    producer = asyncio.create_task(_produce(sender, 5000))
    got: list[int] = []
    async with asyncio.timeout(PROCESS_TIMEOUT):
        while len(got) < 500:
            got.append(await receiver.recv())
        # The sender is blocked by backpressure now, with messages in flight, queued and
        # prefetched: drop every connection before taking more.
        await drop_every_connection()
        assert not producer.done()
        got += await drain(receiver, timeout=PROCESS_TIMEOUT)
        await producer
    assert sorted(got) == list(range(5000)), "items were lost or duplicated"
    await receiver.close()
    assert await leftovers(await _conn(), connector.names) == []


async def _dead_letters(connector: RabbitMQConnector, count: int) -> list[bytes]:
    """Waits until `count` messages sit in the connection's dead-letter queue; their bodies."""
    conn = await _conn()
    channel = await conn.channel()
    await channel.set_qos(prefetch_count=count + 1)
    queue = await channel.declare_queue(connector.names.dead_letters, passive=True)
    bodies: list[bytes] = []
    arrived = asyncio.Event()

    async def take(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        bodies.append(message.body)
        if len(bodies) >= count:
            arrived.set()

    tag = await queue.consume(take)
    async with asyncio.timeout(STEP_TIMEOUT):
        await arrived.wait()
    await queue.cancel(tag)
    await channel.close()  # unacknowledged: they stay dead-lettered
    return bodies


async def test_forged_message_is_dead_lettered_once_and_the_stream_goes_on(broker: str) -> None:
    connector = _connector(ConnectorMode.PIPELINE)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    channel = await (await _conn()).channel()
    await channel.default_exchange.publish(
        aio_pika.Message(b"not a batch of frames"), routing_key=connector.names.work
    )
    await channel.close()
    await sender.send("genuine")
    async with asyncio.timeout(STEP_TIMEOUT):
        assert await receiver.recv() == "genuine"
    assert receiver.statistics().rejected == 1
    assert await _dead_letters(connector, 1) == [b"not a batch of frames"]
    await sender.close()
    assert await drain(receiver) == []
    await receiver.close()


async def test_a_forged_frame_is_dead_lettered_when_it_arrives_before_any_recv(
    broker: str,
) -> None:
    connector = _connector(ConnectorMode.PUBSUB)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.send_bytes(b"\0" * TAG_SIZE + b"forged")
    await sender.flush()  # alone in its AMQP message
    # No recv() yet: the receiver checked the message on arrival and dead-lettered it.
    assert len(await _dead_letters(connector, 1)) == 1
    assert receiver.statistics().rejected == 1
    await sender.send("next")
    async with asyncio.timeout(STEP_TIMEOUT):
        assert await receiver.recv() == "next"
    await sender.close()
    assert await drain(receiver) == []
    await receiver.close()


async def test_an_undecodable_item_raises_once_and_its_message_is_acknowledged(
    broker: str,
) -> None:
    connector = _connector(ConnectorMode.PUBSUB)
    reader = await connector.connect_recv()
    # An idle receiver keeps the connection (and its dead-letter queue) on the broker.
    idle = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.send_bytes(sender.seal_bytes(b"\x80\x05not a pickle"))
    await sender.flush()
    await sender.send("next")
    async with asyncio.timeout(STEP_TIMEOUT):
        with pytest.raises(ChannelDecodeError):
            await reader.recv()
        assert await reader.recv() == "next"
    await sender.close()
    assert await drain(reader) == []
    await reader.close()  # its acks reached the broker
    # Signed by a member, so retrying cannot help: acknowledged, not dead-lettered.
    assert await _dead_letter_count(connector) == 0
    assert reader.statistics().rejected == 0
    with pytest.raises(ChannelDecodeError):
        await idle.recv()
    assert await drain(idle) == ["next"]
    await idle.close()


async def _dead_letter_count(connector: RabbitMQConnector) -> int | None:
    conn = await _conn()
    channel = await conn.channel()
    try:
        underlay = await channel.get_underlay_channel()
        return await queue_length(underlay, connector.names.dead_letters)
    finally:
        await channel.close()


class _ReconnectingConnection:
    """Just what `_open_channel` uses of a robust connection that is reconnecting."""

    is_closed = False

    def __init__(self) -> None:
        self.connected = asyncio.Event()

    def channel(self, publisher_confirms: bool = True) -> Any:
        if not self.connected.is_set():
            raise RuntimeError("Connection was not opened")  # what aio-pika raises then
        return _FakeChannel()


class _FakeChannel:
    async def initialize(self) -> None:
        return None


async def test_opening_a_channel_while_the_connection_reconnects_waits_for_it() -> None:
    conn = _ReconnectingConnection()
    opening = asyncio.create_task(_open_channel(conn, timeout=PROCESS_TIMEOUT))  # type: ignore[arg-type]
    await asyncio.sleep(0)  # one step: it runs up to its wait
    assert not opening.done()  # it raised ChannelSetupError at once before
    conn.connected.set()
    async with asyncio.timeout(STEP_TIMEOUT):
        assert isinstance(await opening, _FakeChannel)


async def test_a_connection_that_never_comes_back_fails_the_connect_with_advice() -> None:
    conn = _ReconnectingConnection()
    with pytest.raises(ChannelSetupError, match="reconnecting for 0.05s"):
        await _open_channel(conn, timeout=0.05)  # type: ignore[arg-type]
