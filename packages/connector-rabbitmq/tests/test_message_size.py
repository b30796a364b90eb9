"""Items larger than one broker message go in parts; a bare channel refuses them."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from connector_core.di import container
from connector_core.exceptions import ChannelSerializationError
from connector_core.settings import Settings
from connector_core.spec import ConnectorMode
from connector_core.testing import STEP_TIMEOUT, drain, transport_of, unique_spec
from connector_rabbitmq import RabbitMQChannel, RabbitMQConnector
from connector_rabbitmq.sender import RabbitMQSender
from connector_rabbitmq.settings import OVERHEAD, RabbitMQSettings

pytestmark = [pytest.mark.rabbitmq, pytest.mark.asyncio(loop_scope="session")]

BROKER_DEFAULT_LIMIT = 128 * 1024 * 1024
"""RabbitMQ 3.x's default max_message_size."""


def _connector(max_message_size: int, **settings: Any) -> RabbitMQConnector:
    return RabbitMQConnector(
        unique_spec(ConnectorMode.PIPELINE),
        settings=Settings(end_grace=0.2),
        rabbitmq_settings=RabbitMQSettings(max_message_size=max_message_size, **settings),
    )


async def test_an_item_over_the_message_size_setting_goes_in_parts(broker: str) -> None:
    connector = _connector(1024)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    big = bytes(range(256)) * 20  # 5120 bytes: parts of 1016 bytes
    await sender.send(big)
    await sender.send("next")
    await sender.close()
    assert await drain(receiver) == [big, "next"]
    await receiver.close()
    parts = transport_of(sender, RabbitMQSender).publisher.parts
    assert parts is not None
    assert (parts.part_size, parts.sent) == (1024 - OVERHEAD, 1)


async def test_send_many_of_items_that_fit_a_message_alone_goes_through_under_a_small_setting(
    broker: str,
) -> None:
    # Together (one frame of send_many) they would be five times the broker's limit.
    connector = _connector(64 * 1024)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    items = [bytes([i]) * (60 * 1024) for i in range(5)]
    await sender.send_many(items)
    await sender.close()
    assert await drain(receiver) == items
    await receiver.close()


async def test_a_message_the_broker_refuses_as_too_large_goes_again_in_parts_that_fit(
    broker: str,
) -> None:
    # The settings are above the broker's limit, so the broker itself refuses the message.
    connector = _connector(4 * BROKER_DEFAULT_LIMIT, part_size=2 * BROKER_DEFAULT_LIMIT)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    big = b"\x01" * (BROKER_DEFAULT_LIMIT + 1)
    await sender.send(big)
    await sender.send("next")
    async with asyncio.timeout(STEP_TIMEOUT):
        await sender.flush()
    await sender.close()
    got = await drain(receiver)
    assert len(got) == 2
    assert got[0] == big
    assert got[1] == "next"
    await receiver.close()
    publisher = transport_of(sender, RabbitMQSender).publisher
    assert publisher.parts is not None
    assert publisher.parts.part_size == BROKER_DEFAULT_LIMIT - OVERHEAD  # the limit, learnt
    assert publisher.retries == 0


async def test_a_bare_channel_refuses_an_item_over_a_message_at_send(broker: str) -> None:
    conn: Any = await container.rabbitmq_conn()
    amqp = await conn.channel()
    queue = await amqp.declare_queue(f"connector-test-bare-{uuid.uuid4().hex[:8]}")
    sender = RabbitMQChannel(
        send_exchange=amqp.default_exchange, topic=queue.name, max_message_size=1024
    )
    receiver = RabbitMQChannel(recv_queue=queue, codec=sender.codec)
    with pytest.raises(ChannelSerializationError, match=r"is \d{4} bytes .* 1024 bytes"):
        await sender.send(b"x" * 2000)
    await sender.send("next")
    await sender.flush()
    async with asyncio.timeout(STEP_TIMEOUT):
        assert await receiver.recv() == "next"
    await sender.close()
    await receiver.close()
    await queue.delete(if_unused=False, if_empty=False)
    await amqp.close()


async def test_a_bare_channel_reports_a_message_the_broker_refused_once_not_republished(
    broker: str,
) -> None:
    # The setting is above the broker's limit, so the broker itself refuses the message.
    conn: Any = await container.rabbitmq_conn()
    amqp = await conn.channel()
    queue = await amqp.declare_queue(f"connector-test-bare-{uuid.uuid4().hex[:8]}")
    sender = RabbitMQChannel(
        send_exchange=amqp.default_exchange,
        topic=queue.name,
        max_message_size=4 * BROKER_DEFAULT_LIMIT,
    )
    receiver = RabbitMQChannel(recv_queue=queue, codec=sender.codec)
    await sender.send(bytes(BROKER_DEFAULT_LIMIT + 1))
    async with asyncio.timeout(STEP_TIMEOUT):
        with pytest.raises(ChannelSerializationError, match=r"max_message_size is \d+ bytes"):
            await sender.flush()
    with pytest.raises(ChannelSerializationError, match="nothing was sent"):
        await sender.send(bytes(BROKER_DEFAULT_LIMIT + 1))  # the broker's limit, learnt
    await sender.send("next")
    await sender.flush()
    async with asyncio.timeout(STEP_TIMEOUT):
        assert await receiver.recv() == "next"
    assert transport_of(sender, RabbitMQSender).publisher.retries == 0
    await sender.close()
    await receiver.close()
    await queue.delete(if_unused=False, if_empty=False)
    await amqp.close()
