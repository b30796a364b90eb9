"""A sender's `close()` when the broker has little or no room left for its last messages.

The broker counts messages, not items: a receiver that reads nothing leaves room for
`prefetch + queue_length` of them (`connector_rabbitmq.topology.limits`). A pipeline
sender's close needs one (its last batch: it publishes no end-of-stream marker), a pubsub
sender's two (its last batch and its marker). With more senders than that room holds, some
closes wait, as a `send()` waits under backpressure, until a receiver reads; then they all
finish and nothing is lost.
"""

from __future__ import annotations

import asyncio

import pytest

from connector_core.channel import CHAN_MAXSIZE
from connector_core.di import container
from connector_core.settings import Settings
from connector_core.spec import ConnectorMode
from connector_core.testing import STEP_TIMEOUT, drain, unique_spec
from connector_rabbitmq import RabbitMQConnector
from connector_rabbitmq.cleanup import queue_length
from connector_rabbitmq.topology import limits

pytestmark = [pytest.mark.rabbitmq, pytest.mark.asyncio(loop_scope="session")]

_MESSAGES_PER_CLOSE = {ConnectorMode.PIPELINE: 1, ConnectorMode.PUBSUB: 2}


def _room(mode: ConnectorMode) -> int:
    """Messages a receiver that reads nothing leaves room for, at the default maxsize."""
    lim = limits(CHAN_MAXSIZE, mode)
    assert lim.queue_length is not None
    return lim.prefetch + lim.queue_length


def _connector(mode: ConnectorMode) -> RabbitMQConnector:
    return RabbitMQConnector(unique_spec(mode), settings=Settings(end_grace=0.2))


@pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)
@pytest.mark.usefixtures("broker")
async def test_closes_beyond_the_brokers_room_finish_once_a_receiver_reads(
    mode: ConnectorMode,
) -> None:
    count = _room(mode) // _MESSAGES_PER_CLOSE[mode] + 1  # one close more than fits
    connector = _connector(mode)
    receiver = await connector.connect_recv()
    senders = [await connector.connect_send() for _ in range(count)]
    closing = []
    for index, sender in enumerate(senders):
        await sender.send(index)
        closing.append(asyncio.create_task(sender.close()))
    got = await drain(receiver)
    async with asyncio.timeout(STEP_TIMEOUT):
        await asyncio.gather(*closing)
    assert sorted(got) == list(range(count))
    await receiver.close()


@pytest.mark.usefixtures("broker")
async def test_pipeline_closes_need_no_room_beyond_their_data() -> None:
    count = _room(ConnectorMode.PIPELINE)  # as many one-message senders as the room holds
    connector = _connector(ConnectorMode.PIPELINE)
    receiver = await connector.connect_recv()
    senders = [await connector.connect_send() for _ in range(count)]
    async with asyncio.timeout(STEP_TIMEOUT):  # nobody reads until every close returned
        for index, sender in enumerate(senders):
            await sender.send(index)
            await sender.close()
    assert sorted(await drain(receiver)) == list(range(count))
    await receiver.close()


@pytest.mark.usefixtures("broker")
async def test_a_pipeline_senders_close_publishes_nothing_behind_its_data() -> None:
    connector = _connector(ConnectorMode.PIPELINE)
    sender = await connector.connect_send()
    await sender.send("only")
    await sender.close()
    conn = await container.rabbitmq_conn()
    channel = await conn.channel()
    try:
        assert await queue_length(await channel.get_underlay_channel(), connector.names.work) == 1
    finally:
        await channel.close()
    receiver = await connector.connect_recv()
    assert await drain(receiver) == ["only"]
    await receiver.close()
