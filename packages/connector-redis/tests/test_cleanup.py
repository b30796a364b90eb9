"""What a connection leaves in Redis: nothing after a normal close, and `purge()` for a crash."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import pytest
from redis.asyncio import Redis

from connector_core.spec import ConnectorMode
from connector_core.testing import connector_child, drain, unique_spec
from connector_redis import RedisConnector, purge

pytestmark = [pytest.mark.redis, pytest.mark.asyncio(loop_scope="session")]

JobKeys = Callable[[str], Awaitable[list[str]]]

# A run that crashes: a sender and a receiver in their own interpreter (the connector comes
# pickled on stdin); it sends, takes one item without finishing, prints "ready" and waits to
# be killed, so its streams, groups, counters and heartbeat stay behind.
_CRASHING_RUN = """
import asyncio, pickle, sys
connector = pickle.load(sys.stdin.buffer)
async def main():
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    for i in range(10):
        await sender.send(i)
    await receiver.recv()
    print("ready", flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


def _connector(mode: ConnectorMode) -> RedisConnector:
    return RedisConnector(unique_spec(mode), job_id=f"cleanup-{uuid.uuid4().hex}")


@pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)
async def test_a_normal_close_of_every_side_leaves_no_keys(
    mode: ConnectorMode, job_keys: JobKeys
) -> None:
    connector = _connector(mode)
    receivers = [await connector.connect_recv() for _ in range(2)]
    senders = [await connector.connect_send() for _ in range(2)]
    assert await job_keys(connector.job_id)  # the connection lives in Redis meanwhile
    for n, sender in enumerate(senders):
        for i in range(50):
            await sender.send((n, i))
    for sender in senders:
        await sender.close()
    got = [item for received in await asyncio.gather(*map(drain, receivers)) for item in received]
    for receiver in receivers:
        await receiver.close()

    assert len(got) == (100 if mode is ConnectorMode.PIPELINE else 200)
    assert await job_keys(connector.job_id) == []


async def test_purge_removes_the_keys_of_a_crashed_run_and_no_other_jobs(
    raw: Redis, job_keys: JobKeys
) -> None:
    crashed = _connector(ConnectorMode.PIPELINE)
    bystander = _connector(ConnectorMode.PIPELINE)
    alive = await bystander.connect_send()
    async with connector_child(_CRASHING_RUN, crashed) as child:
        await child.kill()
    left = await job_keys(crashed.job_id)
    assert crashed.keys.data in left
    assert crashed.keys.ctl in left

    purged = await purge(crashed.job_id)

    assert set(left) <= set(purged)
    assert await job_keys(crashed.job_id) == []
    assert bystander.keys.ctl in await job_keys(bystander.job_id)
    await alive.close()
    assert await job_keys(bystander.job_id) == []


async def test_purge_of_named_connections_keeps_the_other_connections_of_the_job(
    job_keys: JobKeys,
) -> None:
    job = f"cleanup-{uuid.uuid4().hex}"
    gone = RedisConnector(unique_spec(ConnectorMode.PIPELINE), job_id=job)
    kept = RedisConnector(unique_spec(ConnectorMode.PIPELINE), job_id=job)
    for connector in (gone, kept):
        sender = await connector.connect_send()
        await sender.send("left behind")
        await sender.close()  # no receiver took the item: its keys wait for one

    purged = await purge(job, specs=[gone])

    assert purged
    assert all(key.startswith(gone.keys.prefix + ":") for key in purged)
    assert kept.keys.data in await job_keys(job)
    await purge(job, specs=[kept.spec.id])
    assert await job_keys(job) == []
