"""The publisher without a broker: how it packs frames into messages, how a failure reaches
the caller."""

from __future__ import annotations

import asyncio
from typing import Any

import aiormq
import pytest

from connector_core.codec import Codec
from connector_core.framing import unpack_frames
from connector_rabbitmq.messages import OVERHEAD, open_claim
from connector_rabbitmq.parts import PartSender, PartSettings
from connector_rabbitmq.publisher import Publisher
from connector_rabbitmq.recovery import ChannelGoneError
from connector_rabbitmq.topology import Names

pytestmark = pytest.mark.asyncio(loop_scope="session")


class ClosedChannel:
    """A robust channel that was closed on purpose: it will not come back."""

    is_closed = True
    _close_called = True


async def test_a_failed_publisher_reports_to_its_caller_not_to_the_event_loop() -> None:
    channel: Any = ClosedChannel()
    publisher = Publisher(channel, channel, "", "s-1", batch_items=8, buffer_limit=8)
    assert publisher.outbox.offer(b"frame")
    publisher.start()
    task = publisher._task
    assert task is not None
    await asyncio.wait([task])
    assert task.exception() is None  # nothing for "Task exception was never retrieved"
    with pytest.raises(ChannelGoneError):
        await publisher.flush()


class OpenChannel:
    """A robust channel that is open."""

    is_closed = False


class RecordingExchange:
    """An exchange whose broker confirms every message at once; it keeps their bodies."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def publish(self, message: Any, routing_key: str, mandatory: bool) -> None:
        self.bodies.append(message.body)


async def test_a_message_carries_at_most_batch_items_items_whatever_its_frames_weigh() -> None:
    channel: Any = OpenChannel()
    exchange: Any = RecordingExchange()
    publisher = Publisher(channel, exchange, "", "s-1", batch_items=4, buffer_limit=4)
    weights = {b"three-a": 3, b"three-b": 3, b"two": 2}
    for frame, items in weights.items():
        assert publisher.outbox.offer(frame, items)  # 3 frames, 8 items: all queued
    publisher.start()
    await publisher.flush()
    await publisher.stop()
    messages = [unpack_frames(body) for body in exchange.bodies]
    assert [f for frames in messages for f in frames] == list(weights)
    assert [sum(weights[f] for f in frames) for frames in messages] == [3, 3, 2]


class SmallBroker:
    """An AMQP channel (robust and underlying at once) whose broker refuses bodies over
    `limit` bytes as RabbitMQ does; it keeps the parts it accepted and the queues deleted."""

    is_closed = False

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[Any] = []
        self.deleted: list[str] = []

    async def get_underlay_channel(self) -> SmallBroker:
        return self

    async def ready(self) -> None:
        pass

    async def exchange_declare(self, *args: Any, **kwargs: Any) -> None:
        pass

    async def queue_declare(self, *args: Any, **kwargs: Any) -> None:
        pass

    async def queue_bind(self, *args: Any, **kwargs: Any) -> None:
        pass

    async def queue_delete(self, name: str) -> None:
        self.deleted.append(name)

    async def basic_publish(self, body: bytes, **properties: Any) -> None:
        if len(body) > self.limit:
            raise aiormq.exceptions.ChannelPreconditionFailed(
                f"PRECONDITION_FAILED - message size {len(body)} is larger than configured "
                f"max size {self.limit}"
            )
        self.parts.append(properties["properties"].message_id)


async def test_a_part_the_broker_refuses_cuts_the_frame_again_in_parts_that_fit() -> None:
    broker: Any = SmallBroker(limit=1000)
    exchange: Any = RecordingExchange()
    names = Names("job", "a.out..b.in")
    codec = Codec.generate()
    parts = PartSender(broker, names, PartSettings(4000, 10**6, 60.0), codec, "s-1")
    publisher = Publisher(broker, exchange, "", "s-1", 8, 8, parts=parts)
    assert publisher.outbox.offer(bytes(10_000))
    publisher.start()
    await publisher.flush()
    await publisher.stop()
    assert parts.part_size == 1000 - OVERHEAD
    assert broker.deleted == [names.part_queue("s-1.0")]  # the first try's parts
    assert broker.parts == [f"s-1.0.{index}" for index in range(11)]
    assert publisher.take_refused() is None
    (body,) = exchange.bodies
    claim = open_claim(codec, body, "s-1.0", "s-1")
    assert (claim.parts, claim.size, claim.part_size) == (11, 10_000, 1000 - OVERHEAD)
