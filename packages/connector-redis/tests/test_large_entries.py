"""Large entries: once a receiver read one, it reads new entries outside Lua (`Store.fetch`).

What users see must not change with the way of reading: every item in order, the end of the
stream, and what a closing receiver gives back reaching the others.
"""

from __future__ import annotations

import pytest

from connector_core.spec import ConnectorMode
from connector_core.testing import drain, unique_spec
from connector_redis import RedisConnector
from connector_redis.store import LARGE_ENTRY

pytestmark = [pytest.mark.redis, pytest.mark.asyncio(loop_scope="session")]

MODES = pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)


def _items() -> list[object]:
    """Small items with large ones between them (each large one an entry of its own)."""
    large = [bytes([n]) * (LARGE_ENTRY + 1000) for n in range(3)]
    return [0, large[0], 1, 2, large[1], large[2], 3]


@pytest.mark.usefixtures("redis_url")
@MODES
async def test_large_items_between_small_ones_arrive_in_order_and_the_stream_ends(
    mode: ConnectorMode,
) -> None:
    connector = RedisConnector(unique_spec(mode))
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    for item in _items():
        await sender.send(item)
    await sender.close()

    assert await drain(receiver) == _items()


@pytest.mark.usefixtures("redis_url")
async def test_large_items_a_closing_receiver_held_reach_the_next_one() -> None:
    connector = RedisConnector(unique_spec(ConnectorMode.PIPELINE))
    first = await connector.connect_recv()
    sender = await connector.connect_send()
    for item in _items():
        await sender.send(item)
    assert await first.recv() == 0
    assert await first.recv() == _items()[1]  # a large entry read: new ones outside Lua

    await first.close()  # gives back what it read and did not hand out
    second = await connector.connect_recv()
    await sender.close()

    assert await drain(second) == _items()[2:]
