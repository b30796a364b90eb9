"""A connector passed into Ray tasks and actors connects them to this process.

The tasks and actors here are user code: they run on this interpreter (`WORKER_ENV`), as the
README advises for a user's own tasks under `uv run`. Ray's `uv run` integration would
otherwise start them through `uv run` in a copy of the working directory, which never works
under `uv run --no-sync pytest`. The connector's hub actors need no such help.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from typing import Any

import pytest
import ray

from connector_core import ConnectorMode, ConnectorSpec
from connector_core.testing import drain
from connector_ray import RayConnector

pytestmark = pytest.mark.ray

WORKER_ENV = {"py_executable": sys.executable}


def _spec(mode: ConnectorMode) -> ConnectorSpec:
    tag = uuid.uuid4().hex[:8]
    return ConnectorSpec(f"src-{tag}.out", f"dst-{tag}.in", mode)


@ray.remote(num_cpus=0, runtime_env=WORKER_ENV)
def send_in_task(connector: RayConnector, count: int) -> int:
    async def body() -> None:
        channel = await connector.connect_send()
        for i in range(count):
            await channel.send(i)
        await channel.close()

    asyncio.run(body())
    return count


class _Subscriber:
    async def connect(self, connector: RayConnector) -> bool:
        self.channel = await connector.connect_recv()
        return True

    async def drain(self) -> list[Any]:
        items = [item async for item in self.channel]
        await self.channel.close()
        return items


Subscriber: Any = ray.remote(num_cpus=0, runtime_env=WORKER_ENV)(_Subscriber)


@pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)
async def test_sender_in_a_ray_task_reaches_this_process(mode: ConnectorMode) -> None:
    connector = RayConnector(_spec(mode))
    receiver = await connector.connect_recv()
    sent = send_in_task.remote(connector, 500)
    assert await drain(receiver) == list(range(500))
    assert await sent == 500
    await receiver.close()


async def test_subscribers_in_ray_actors_get_every_message() -> None:
    connector = RayConnector(_spec(ConnectorMode.PUBSUB))
    actors = [Subscriber.remote() for _ in range(2)]
    assert await asyncio.gather(*(a.connect.remote(connector) for a in actors)) == [True, True]
    local = await connector.connect_recv()
    sender = await connector.connect_send()
    for i in range(300):
        await sender.send(i)
    await sender.close()
    results = await asyncio.gather(*(a.drain.remote() for a in actors))
    assert results == [list(range(300))] * 2
    assert await drain(local) == list(range(300))
    await local.close()
    for actor in actors:
        ray.kill(actor)


async def test_pipeline_receiver_in_a_ray_actor_competes_with_this_process() -> None:
    connector = RayConnector(_spec(ConnectorMode.PIPELINE), batch_size=16)
    actor = Subscriber.remote()
    assert await actor.connect.remote(connector)
    local = await connector.connect_recv()
    sender = await connector.connect_send()
    remote_items = actor.drain.remote()
    for i in range(400):
        await sender.send(i)
    await sender.close()
    mine = await drain(local)
    theirs = await remote_items
    assert sorted(mine + theirs) == list(range(400))
    await local.close()
    ray.kill(actor)
