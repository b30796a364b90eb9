"""A subscriber's group exists before `connect_recv()` returns: no slow-joiner loss."""

from __future__ import annotations

import uuid

import pytest
from redis.asyncio import Redis

from connector_core.spec import ConnectorMode
from connector_core.testing import drain, transport_of, unique_spec
from connector_redis import RedisConnector, purge
from connector_redis.keys import subscriber_group
from connector_redis.receiver import RedisReceiver

pytestmark = [pytest.mark.redis, pytest.mark.asyncio(loop_scope="session")]


def _connector() -> RedisConnector:
    return RedisConnector(unique_spec(ConnectorMode.PUBSUB), job_id=f"sub-{uuid.uuid4().hex}")


async def test_a_subscribers_group_exists_when_connect_recv_returns(raw: Redis) -> None:
    connector = _connector()
    receiver = await connector.connect_recv()

    groups = await raw.xinfo_groups(connector.keys.data)

    me = transport_of(receiver, RedisReceiver).me
    assert [g["name"].decode() for g in groups] == [subscriber_group(me)]
    await receiver.close()
    await purge(connector.job_id)  # no sender ever came: the connection never ended


async def test_an_item_sent_right_after_connect_recv_returns_reaches_the_subscriber(
    redis_url: str,
) -> None:
    connector = _connector()
    sender = await connector.connect_send()  # the sender was there first
    receiver = await connector.connect_recv()
    await sender.send("right after")  # nothing waited between the two
    await sender.close()

    assert await drain(receiver) == ["right after"]
