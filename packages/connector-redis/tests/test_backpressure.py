"""The bound: a sender waits while `maxsize` of its items are unacknowledged by some group.

Asserted through the sender's statistics and the stream's counters, never through timing:
the sender says it waits for room by setting the connection's `wait` key.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import pytest
from redis.asyncio import Redis

from connector_core.channel import Channel
from connector_core.exceptions import ChannelClosedError
from connector_core.spec import ConnectorMode
from connector_core.testing import STEP_TIMEOUT, unique_spec
from connector_redis import RedisConnector
from connector_redis.keys import Keys

pytestmark = [pytest.mark.redis, pytest.mark.asyncio(loop_scope="session")]

MAXSIZE = 8
ITEMS = 3 * MAXSIZE


def _connector(mode: ConnectorMode) -> RedisConnector:
    return RedisConnector(unique_spec(mode), maxsize=MAXSIZE, job_id=f"bp-{uuid.uuid4().hex}")


async def _produce(sender: Channel) -> None:
    for i in range(ITEMS):
        await sender.send(i)
    await sender.close()


async def _held(raw: Redis, keys: Keys) -> int:
    return int(await raw.get(keys.held) or 0)


async def _take_all(channel: Channel, got: list[int], other: list[int] | None = None) -> list[int]:
    """Receives to the end into `got`; records how far ahead of `other` it was at each item."""
    ahead: list[int] = []
    while True:
        try:
            got.append(await channel.recv())
        except ChannelClosedError:
            return ahead
        if other is not None:
            ahead.append(len(got) - len(other))


async def test_a_sender_waits_at_maxsize_items_unacknowledged_by_its_slowest_group(
    raw: Redis,
    waits_for_room: Callable[[Channel], asyncio.Event],
) -> None:
    connector = _connector(ConnectorMode.PUBSUB)
    keys = connector.keys
    fast, slow = await connector.connect_recv(), await connector.connect_recv()
    sender = await connector.connect_send()
    waiting = waits_for_room(sender)
    fast_got: list[int] = []
    slow_got: list[int] = []
    producer = asyncio.create_task(_produce(sender))
    async with asyncio.timeout(STEP_TIMEOUT):
        for _ in range(MAXSIZE):
            fast_got.append(await fast.recv())

    async with asyncio.timeout(STEP_TIMEOUT):
        await waiting.wait()

    # The slow subscriber has taken nothing: the sender stopped at maxsize items.
    assert sender.statistics().sent == MAXSIZE
    assert await _held(raw, keys) == MAXSIZE
    assert not producer.done()

    fast_task = asyncio.create_task(_take_all(fast, fast_got, slow_got))
    async with asyncio.timeout(STEP_TIMEOUT):
        await _take_all(slow, slow_got)
        ahead = await fast_task
        await producer
    assert fast_got == slow_got == list(range(ITEMS))
    assert max(ahead) <= MAXSIZE  # the fast subscriber never ran more than maxsize ahead
    await fast.close()
    await slow.close()


async def test_a_pipeline_sender_waits_at_maxsize_items_no_receiver_took(
    raw: Redis,
    waits_for_room: Callable[[Channel], asyncio.Event],
) -> None:
    connector = _connector(ConnectorMode.PIPELINE)
    keys = connector.keys
    receiver = await connector.connect_recv()  # takes nothing until the sender waits
    sender = await connector.connect_send()
    waiting = waits_for_room(sender)
    producer = asyncio.create_task(_produce(sender))

    async with asyncio.timeout(STEP_TIMEOUT):
        await waiting.wait()

    assert sender.statistics().sent == MAXSIZE
    assert await _held(raw, keys) == MAXSIZE
    assert not producer.done()
    got: list[int] = []
    async with asyncio.timeout(STEP_TIMEOUT):
        await _take_all(receiver, got)
        await producer
    assert got == list(range(ITEMS))
    await receiver.close()
