"""The send and receive transports without a broker: core's protocols, errors, the bare channel."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from connector_core.exceptions import ChannelError, ChannelSerializationError
from connector_core.testing import STEP_TIMEOUT
from connector_core.transport import RecvTransport, SendTransport
from connector_rabbitmq import RabbitMQChannel
from connector_rabbitmq.receiver import RabbitMQReceiver
from connector_rabbitmq.sender import RabbitMQSender
from connector_rabbitmq.topology import limits

pytestmark = pytest.mark.asyncio(loop_scope="session")


class ClosedChannel:
    """A robust AMQP channel that was closed on purpose: it will not come back."""

    is_closed = True
    _close_called = True


class FakeExchange:
    channel: Any = ClosedChannel()


class FakeQueue:
    name = "q-transports"
    channel: Any = ClosedChannel()


def _sender(maxsize: int = 16, max_message_size: int | None = None) -> RabbitMQSender:
    exchange: Any = FakeExchange()
    return RabbitMQSender(exchange, "", limits(maxsize), max_message_size=max_message_size)


async def _send_forever(sender: RabbitMQSender) -> None:
    while True:
        await sender.send(b"more")


async def test_the_transports_implement_cores_protocols() -> None:
    queue: Any = FakeQueue()
    channel = RabbitMQChannel(send_exchange=FakeExchange(), recv_queue=queue)  # type: ignore[arg-type]
    assert isinstance(channel._tx, RabbitMQSender)
    assert isinstance(channel._tx, SendTransport)
    assert isinstance(channel._rx, RabbitMQReceiver)
    assert isinstance(channel._rx, RecvTransport)
    assert channel._rx.verifier.codec is channel.codec  # one codec signs and verifies


async def test_a_frame_larger_than_a_broker_message_is_refused_before_it_is_queued() -> None:
    sender = _sender(max_message_size=100)
    with pytest.raises(ChannelSerializationError, match="nothing was sent"):
        sender.try_send(bytes(100))
    assert sender.buffered() == 0
    assert sender.try_send(bytes(10))
    assert sender.buffered() == 1


async def test_a_failed_publisher_fails_the_next_send_with_a_channel_error() -> None:
    sender = _sender()
    assert sender.try_send(b"frame")  # the flusher meets a channel that will not come back
    async with asyncio.timeout(STEP_TIMEOUT):
        with pytest.raises(ChannelError, match="publishing to RabbitMQ failed"):
            await _send_forever(sender)
    with pytest.raises(ChannelError, match="publishing to RabbitMQ failed"):
        await sender.close()
