"""The dead-letter queue: only messages found bad end up there, and it is bounded."""

from __future__ import annotations

from typing import Any

import pytest

from connector_core.di import container
from connector_core.settings import Settings
from connector_core.spec import ConnectorMode
from connector_core.testing import drain, unique_spec
from connector_rabbitmq import RabbitMQConnector
from connector_rabbitmq.cleanup import queue_length
from connector_rabbitmq.topology import DEAD_LETTER_LIMIT

pytestmark = [pytest.mark.rabbitmq, pytest.mark.asyncio(loop_scope="session")]


async def _dead_letters(connector: RabbitMQConnector) -> int | None:
    conn: Any = await container.rabbitmq_conn()
    channel = await conn.channel()
    try:
        return await queue_length(
            await channel.get_underlay_channel(), connector.names.dead_letters
        )
    finally:
        await channel.close()


async def test_a_clean_pubsub_run_dead_letters_nothing(broker: str) -> None:
    connector = RabbitMQConnector(
        unique_spec(ConnectorMode.PUBSUB), settings=Settings(end_grace=0.2)
    )
    reader = await connector.connect_recv()
    # An idle receiver keeps the connection (and its dead-letter queue) on the broker.
    idle = await connector.connect_recv()
    sender = await connector.connect_send()
    for i in range(10):
        await sender.send(i)
    await sender.close()
    assert await drain(reader) == list(range(10))
    await reader.close()  # its acks, and any reject, reached the broker
    assert await _dead_letters(connector) == 0
    await drain(idle)
    await idle.close()


async def test_the_dead_letter_queue_is_bounded(broker: str) -> None:
    connector = RabbitMQConnector(
        unique_spec(ConnectorMode.PIPELINE), settings=Settings(end_grace=0.2)
    )
    receiver = await connector.connect_recv()
    conn: Any = await container.rabbitmq_conn()
    channel = await conn.channel()
    # Declaring with other arguments than the existing queue's would close the channel.
    await channel.declare_queue(
        connector.names.dead_letters,
        durable=True,
        arguments={"x-max-length": DEAD_LETTER_LIMIT},
        passive=False,
    )
    await channel.close()
    sender = await connector.connect_send()
    await sender.close()
    await drain(receiver)
    await receiver.close()
