"""Items too large for one broker message fail their send(); the channel goes on."""

from __future__ import annotations

import asyncio

import pytest

from connector_core.exceptions import ChannelSerializationError
from connector_core.settings import Settings
from connector_core.spec import ConnectorMode
from connector_core.testing import STEP_TIMEOUT, drain, transport_of, unique_spec
from connector_rabbitmq import RabbitMQConnector
from connector_rabbitmq.sender import RabbitMQSender
from connector_rabbitmq.settings import RabbitMQSettings

pytestmark = [pytest.mark.rabbitmq, pytest.mark.asyncio(loop_scope="session")]

BROKER_DEFAULT_LIMIT = 128 * 1024 * 1024
"""RabbitMQ 3.x's default max_message_size."""


def _connector(max_message_size: int) -> RabbitMQConnector:
    return RabbitMQConnector(
        unique_spec(ConnectorMode.PIPELINE),
        settings=Settings(end_grace=0.1),
        rabbitmq_settings=RabbitMQSettings(max_message_size=max_message_size),
    )


async def test_an_item_over_the_message_size_setting_fails_its_send_and_the_channel_goes_on(
    broker: str,
) -> None:
    connector = _connector(1024)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    with pytest.raises(ChannelSerializationError, match=r"is \d{4} bytes .* 1024 bytes"):
        await sender.send(b"x" * 2000)
    await sender.send("next")
    await sender.close()
    assert await drain(receiver) == ["next"]
    await receiver.close()


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


async def test_a_message_the_broker_refuses_as_too_large_is_reported_once_not_republished(
    broker: str,
) -> None:
    # The setting is above the broker's limit, so the broker itself refuses the message.
    connector = _connector(4 * BROKER_DEFAULT_LIMIT)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.send(bytes(BROKER_DEFAULT_LIMIT + 1))
    async with asyncio.timeout(STEP_TIMEOUT):
        with pytest.raises(ChannelSerializationError, match=r"max_message_size is \d+ bytes"):
            await sender.flush()
    with pytest.raises(ChannelSerializationError, match="nothing was sent"):
        await sender.send(bytes(BROKER_DEFAULT_LIMIT + 1))  # the broker's limit, learnt
    await sender.send("next")
    await sender.close()
    assert await drain(receiver) == ["next"]
    await receiver.close()
    assert transport_of(sender, RabbitMQSender).publisher.retries == 0
