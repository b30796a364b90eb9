"""The largest item: what one stream entry holds, refused at `send()` with nothing sent.

Redis refuses a value longer than its `proto-max-bulk-len` (512 MiB by default) and drops
the connection that sent it, so a sender checks each item before it queues it. The tests
lower the limit with `CONNECTOR_REDIS_MAX_ITEM_SIZE` rather than on the shared server. That
an item over it fails its send, and a `send_many()` with one sends none, is the conformance
suite's (`SizeLimitTests`, lowered the same way in `test_conformance.py`).
"""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from connector_core.spec import ConnectorMode
from connector_core.testing import drain, transport_of, unique_spec
from connector_redis import RedisConnector
from connector_redis.keys import Keys
from connector_redis.sender import ENTRY_OVERHEAD, RedisSender
from connector_redis.store import DEFAULT_LARGEST_VALUE, Store

pytestmark = [pytest.mark.redis, pytest.mark.asyncio(loop_scope="session")]

LARGEST = 64 * 1024
"""`CONNECTOR_REDIS_MAX_ITEM_SIZE` in these tests."""


@pytest.fixture
def small_items(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECTOR_REDIS_MAX_ITEM_SIZE", str(LARGEST))


@pytest.mark.usefixtures("redis_url", "small_items")
async def test_items_just_under_the_largest_item_arrive_in_entries_the_server_takes() -> None:
    connector = RedisConnector(unique_spec(ConnectorMode.PIPELINE))
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    items = [bytes([n]) * (LARGEST - 200) for n in range(3)]
    for item in items:
        await sender.send(item)
    await sender.close()
    assert await drain(receiver) == items


async def test_a_sender_takes_the_largest_item_from_the_server(raw: Redis) -> None:
    connector = RedisConnector(unique_spec(ConnectorMode.PIPELINE))
    sender = await connector.connect_send()
    (value,) = (await raw.config_get("proto-max-bulk-len")).values()
    assert value is not None
    assert transport_of(sender, RedisSender).max_item_size == int(value) - ENTRY_OVERHEAD
    await sender.close()


class _ConfigRefused:
    """A client of a server where `CONFIG` is disabled (as on some hosted servers)."""

    async def config_get(self, pattern: str) -> dict[str, str]:
        raise ResponseError(f"unknown command 'CONFIG', with args beginning with: {pattern}")


async def test_the_servers_limit_is_redis_default_when_config_is_refused(raw: Redis) -> None:
    store = Store(raw, Keys.of("job", "a..b"), pubsub=False)
    store._redis = _ConfigRefused()
    assert await store.largest_value() == DEFAULT_LARGEST_VALUE
