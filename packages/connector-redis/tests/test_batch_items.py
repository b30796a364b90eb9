"""A frame of `send_many()` counts as its items in Redis, not as one: in the stream and buffers.

Asserted through the stream's counters and the transports' own counts, never through timing:
an entry is seen with a blocking read of the data stream, and a sender says it waits for room
by blocking for a wake-up.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from connector_core.channel import Channel
from connector_core.spec import ConnectorMode
from connector_core.testing import STEP_TIMEOUT, drain, transport_of, unique_spec
from connector_redis import RedisConnector
from connector_redis.entries import open_entry
from connector_redis.keys import parse_id
from connector_redis.receiver import RedisReceiver
from connector_redis.sender import RedisSender

pytestmark = [pytest.mark.redis, pytest.mark.asyncio(loop_scope="session")]

MAXSIZE = 8


def _pipeline(maxsize: int) -> RedisConnector:
    spec = unique_spec(ConnectorMode.PIPELINE)
    return RedisConnector(spec, maxsize=maxsize, job_id=f"batch-{uuid.uuid4().hex}")


def _items_of(connector: RedisConnector, entry: Any) -> int:
    """The item count an entry's signed envelope states (verified with the connection's key)."""
    entry_id, fields = entry
    return open_entry(connector.codec, fields[b"e"], parse_id(entry_id)).items


async def test_one_send_many_frame_of_maxsize_items_fills_the_streams_room(
    raw: Redis,
    waits_for_room: Callable[[Channel], asyncio.Event],
) -> None:
    connector = _pipeline(MAXSIZE)
    keys = connector.keys
    receiver = await connector.connect_recv()  # takes nothing until the end
    first, second = await connector.connect_send(), await connector.connect_send()
    await first.send_many(range(MAXSIZE))
    reply: Any = await raw.xread({keys.data: "0-0"}, count=1, block=int(STEP_TIMEOUT * 1000))
    [(_, [entry])] = reply
    assert _items_of(connector, entry) == MAXSIZE  # one entry: the frame of MAXSIZE items

    # The other sender's outbox is empty, but the stream has no room for one more item.
    waiting = waits_for_room(second)
    await second.send("late")
    async with asyncio.timeout(STEP_TIMEOUT):
        await waiting.wait()

    assert int(await raw.get(keys.held) or 0) == MAXSIZE
    assert await raw.xlen(keys.data) == 1
    assert transport_of(second, RedisSender).buffered() == 1
    receiving = asyncio.create_task(drain(receiver))
    await first.close()
    await second.close()
    assert await receiving == [*range(MAXSIZE), "late"]


async def test_a_receiver_counts_the_items_of_the_frames_it_buffers() -> None:
    connector = _pipeline(2 * MAXSIZE)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.send_many(range(4))
    await sender.send_many(range(4, 8))
    await sender.close()  # both frames are in the stream: the first read takes them all

    async with asyncio.timeout(STEP_TIMEOUT):
        assert await receiver.recv() == 0

    assert transport_of(receiver, RedisReceiver).buffered() == 4  # the second frame, unopened
    assert receiver.statistics().buffered == 7  # and the first one's rest, in the channel
    assert await drain(receiver) == list(range(1, 8))


async def test_a_closing_pipeline_receiver_hands_on_the_rest_of_a_batch_as_its_items(
    raw: Redis,
) -> None:
    connector = _pipeline(2 * MAXSIZE)
    keys = connector.keys
    first = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.send_many(range(MAXSIZE))
    async with asyncio.timeout(STEP_TIMEOUT):
        assert await first.recv() == 0

    await first.close()  # the channel holds the other MAXSIZE - 1 items of the frame

    assert int(await raw.get(keys.held) or 0) == MAXSIZE - 1
    entries: Any = await raw.xrange(keys.data)  # redis-py types replies loosely
    [entry] = entries
    assert _items_of(connector, entry) == MAXSIZE - 1
    second = await connector.connect_recv()
    await sender.close()
    assert await drain(second) == list(range(1, MAXSIZE))
