"""The send and receive transports without a broker: core's protocols, errors, the bare channel."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from connector_core.exceptions import ChannelError, ChannelSerializationError
from connector_core.testing import STEP_TIMEOUT
from connector_core.transport import RecvTransport, SendTransport
from connector_core.transport_channel import BATCH_BYTES
from connector_rabbitmq import RabbitMQChannel
from connector_rabbitmq.messages import OVERHEAD
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


async def test_a_frame_of_several_items_takes_that_many_items_of_room() -> None:
    sender = _sender(maxsize=8)  # batches of 2 items: the outbox holds 4
    assert sender.try_send(b"three", 3)
    assert sender.buffered() == 3
    assert not sender.try_send(b"two", 2)
    assert sender.try_send(b"one", 1)
    assert sender.buffered() == 4


async def test_a_frame_carries_at_most_one_published_message_of_items() -> None:
    for maxsize in (4, 64, 2000, 0):
        assert _sender(maxsize).batch_items == limits(maxsize).batch_items


async def test_a_message_size_setting_below_a_batch_frame_makes_frames_of_one_item() -> None:
    assert _sender(2000, max_message_size=BATCH_BYTES + OVERHEAD).batch_items > 1
    assert _sender(2000, max_message_size=BATCH_BYTES + OVERHEAD - 1).batch_items == 1


async def test_a_failed_publisher_fails_the_next_send_with_a_channel_error() -> None:
    sender = _sender()
    assert sender.try_send(b"frame")  # the flusher meets a channel that will not come back
    async with asyncio.timeout(STEP_TIMEOUT):
        with pytest.raises(ChannelError, match="publishing to RabbitMQ failed"):
            await _send_forever(sender)
    with pytest.raises(ChannelError, match="publishing to RabbitMQ failed"):
        await sender.close()
