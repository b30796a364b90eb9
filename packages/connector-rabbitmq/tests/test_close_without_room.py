"""A sender's `close()` when the broker has no room left for its last messages.

The broker counts messages, not items: a receiver that reads nothing leaves room for
`prefetch + queue_length` of them (`connector_rabbitmq.topology.limits`), and each sender's
close needs two (its last batch, its end-of-stream marker). With more senders than that
room holds, some closes wait, as a `send()` waits under backpressure, until a receiver
reads; then they all finish and nothing is lost.
"""

from __future__ import annotations

import asyncio

import pytest

from connector_core.channel import CHAN_MAXSIZE
from connector_core.settings import Settings
from connector_core.spec import ConnectorMode
from connector_core.testing import STEP_TIMEOUT, drain, unique_spec
from connector_rabbitmq import RabbitMQConnector
from connector_rabbitmq.topology import limits

pytestmark = [pytest.mark.rabbitmq, pytest.mark.asyncio(loop_scope="session")]


@pytest.mark.usefixtures("broker")
async def test_closes_beyond_the_brokers_room_finish_once_a_receiver_reads() -> None:
    room = limits(CHAN_MAXSIZE)
    assert room.queue_length is not None
    count = (room.prefetch + room.queue_length) // 2 + 1  # one close more than fits
    connector = RabbitMQConnector(
        unique_spec(ConnectorMode.PIPELINE), settings=Settings(end_grace=0.2)
    )
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
