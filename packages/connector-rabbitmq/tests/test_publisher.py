"""The publisher without a broker: how a failure reaches the caller."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

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
