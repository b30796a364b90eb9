"""The publisher without a broker: how it packs frames into messages, how a failure reaches
the caller."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from connector_core.framing import unpack_frames
from connector_rabbitmq.publisher import Publisher
from connector_rabbitmq.recovery import ChannelGoneError

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
