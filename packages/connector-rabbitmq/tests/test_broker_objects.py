"""What a connection leaves on the broker: nothing after a clean close, its queue meanwhile."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from connector_core.di import container
from connector_core.exceptions import ChannelClosedError
from connector_core.settings import Settings
from connector_core.spec import ConnectorMode
from connector_core.testing import STEP_TIMEOUT, drain, transport_of, unique_spec
from connector_rabbitmq import RabbitMQChannel, RabbitMQConnector
from connector_rabbitmq.cleanup import leftovers
from connector_rabbitmq.receiver import RabbitMQReceiver
from connector_rabbitmq.sender import RabbitMQSender

pytestmark = [pytest.mark.rabbitmq, pytest.mark.asyncio(loop_scope="session")]


async def _conn() -> Any:
    return await container.rabbitmq_conn()


async def _take(channel: Any, count: int) -> list[Any]:
    return [await channel.recv() for _ in range(count)]


def _connector(mode: ConnectorMode, **kwargs: Any) -> RabbitMQConnector:
    return RabbitMQConnector(unique_spec(mode), settings=Settings(end_grace=0.2), **kwargs)


@pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)
@pytest.mark.usefixtures("broker")
async def test_nothing_is_left_on_the_broker_when_every_side_has_closed(
    mode: ConnectorMode,
) -> None:
    connector = _connector(mode)
    receivers = [await connector.connect_recv() for _ in range(2)]
    queues = tuple(transport_of(r, RabbitMQReceiver).consumer.queue.name for r in receivers)
    senders = [await connector.connect_send() for _ in range(2)]
    conn = await _conn()
    assert await leftovers(conn, connector.names, queues)
    for index, sender in enumerate(senders):
        await sender.send(index)
        await sender.close()
    await asyncio.gather(*(drain(r) for r in receivers))
    for receiver in receivers:
        await receiver.close()
    assert await leftovers(conn, connector.names, queues) == []


async def test_a_closing_receiver_leaves_the_shared_queue_to_the_others(broker: str) -> None:
    connector = _connector(ConnectorMode.PIPELINE)
    quitter = await connector.connect_recv()
    stayer = await connector.connect_recv()
    sender = await connector.connect_send()
    await quitter.close()
    assert f"queue {connector.names.work}" in await leftovers(await _conn(), connector.names)
    await sender.send("after the quitter left")
    await sender.close()
    assert await drain(stayer) == ["after the quitter left"]
    await stayer.close()


async def test_pipeline_messages_wait_for_a_receiver_that_connects_later(broker: str) -> None:
    connector = _connector(ConnectorMode.PIPELINE)
    sender = await connector.connect_send()
    for i in range(5):
        await sender.send(i)
    await sender.close()
    assert f"queue {connector.names.work}" in await leftovers(await _conn(), connector.names)
    late = await connector.connect_recv()
    assert await drain(late) == [0, 1, 2, 3, 4]
    await late.close()
    assert await leftovers(await _conn(), connector.names) == []


async def test_items_a_lone_receiver_gave_back_wait_for_a_receiver_that_connects_later(
    broker: str,
) -> None:
    connector = _connector(ConnectorMode.PIPELINE)
    quitter = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.send_many(range(5))  # one frame: the quitter's channel keeps four
    await sender.close()
    assert await quitter.recv() == 0
    await quitter.close()  # gives 1..4 back to the returns queue; nobody else is here
    assert f"queue {connector.names.returns}" in await leftovers(await _conn(), connector.names)
    late = await connector.connect_recv()
    assert await drain(late) == [1, 2, 3, 4]
    await late.close()
    assert await leftovers(await _conn(), connector.names) == []


async def test_job_ids_keep_runs_apart(broker: str) -> None:
    spec = unique_spec(ConnectorMode.PUBSUB)
    grace = Settings(end_grace=0.2)
    ours = RabbitMQConnector(spec, job_id="job-ours", settings=grace)
    theirs = RabbitMQConnector(spec, job_id="job-theirs", settings=grace)
    receiver = await ours.connect_recv()
    other = await theirs.connect_recv()
    their_sender = await theirs.connect_send()
    our_sender = await ours.connect_send()
    await their_sender.send("theirs")
    await their_sender.close()
    await our_sender.send("ours")
    await our_sender.close()
    assert await drain(receiver) == ["ours"]
    assert await drain(other) == ["theirs"]
    await receiver.close()
    await other.close()


async def test_a_sender_connecting_after_the_end_is_refused(broker: str) -> None:
    connector = _connector(ConnectorMode.PUBSUB)
    receiver = await connector.connect_recv()
    idle = await connector.connect_recv()  # never receives: the connection stays on the broker
    sender = await connector.connect_send()
    await sender.close()
    assert await drain(receiver) == []
    with pytest.raises(ChannelClosedError, match="has ended"):
        await connector.connect_send()
    await idle.close()
    await receiver.close()
    assert await leftovers(await _conn(), connector.names) == []


async def test_a_receiver_iterated_to_the_end_releases_the_broker_objects_unclosed(
    broker: str,
) -> None:
    connector = _connector(ConnectorMode.PIPELINE)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.send("only")
    await sender.close()
    assert [item async for item in receiver] == ["only"]
    assert await leftovers(await _conn(), connector.names) == []


async def test_many_sends_share_few_amqp_messages_and_a_lone_one_goes_at_once(broker: str) -> None:
    connector = _connector(ConnectorMode.PIPELINE)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    taking = asyncio.create_task(_take(receiver, 5000))
    for i in range(5000):
        await sender.send(i)
    await sender.flush()
    messages = transport_of(sender, RabbitMQSender).publisher.messages
    assert messages <= 5000 // 20, f"{messages} AMQP messages for 5000 items"
    assert await taking == list(range(5000))
    await sender.send("lone")
    async with asyncio.timeout(5):
        assert await receiver.recv() == "lone"
    await sender.close()
    await drain(receiver)
    await receiver.close()


@pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)
async def test_unbounded_maxsize_streams_everything(broker: str, mode: ConnectorMode) -> None:
    connector = _connector(mode, maxsize=0)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    for i in range(3000):
        await sender.send(i)  # never waits: nothing bounds the buffers
    await sender.close()
    assert await drain(receiver) == list(range(3000))
    await receiver.close()


async def test_a_channel_made_directly_from_an_exchange_and_a_queue_works(broker: str) -> None:
    conn = await _conn()
    amqp = await conn.channel()
    queue = await amqp.declare_queue(f"connector-test-bare-{uuid.uuid4().hex[:8]}")
    sender = RabbitMQChannel(send_exchange=amqp.default_exchange, topic=queue.name)
    receiver = RabbitMQChannel(recv_queue=queue, codec=sender.codec)
    for i in range(10):
        await sender.send(i)
    await sender.flush()
    async with asyncio.timeout(STEP_TIMEOUT):
        assert [await receiver.recv() for _ in range(10)] == list(range(10))
    await sender.close()
    await receiver.close()
    await queue.delete(if_unused=False, if_empty=False)
    await amqp.close()


@pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)
async def test_the_largest_accepted_maxsize_works_on_the_broker(
    broker: str, mode: ConnectorMode
) -> None:
    connector = _connector(mode, maxsize=RabbitMQConnector.maxsize_limit)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.send("fits")
    await sender.close()
    assert await drain(receiver) == ["fits"]
    await receiver.close()
