"""A pipeline receiver killed with SIGKILL: a survivor claims what it held; nothing is lost.

Both processes run with a short `CONNECTOR_REDIS_CLAIM_IDLE` (read by `RedisSettings` in each
process), so the survivor claims the dead receiver's entries after 2 s instead of 30 s.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import NamedTuple

import pytest
from redis.asyncio import Redis

from connector_core.spec import ConnectorMode
from connector_core.testing import PROCESS_TIMEOUT, drain, stalling_receiver, unique_spec
from connector_redis import RedisConnector, purge
from connector_redis.keys import WORK_GROUP

pytestmark = [
    pytest.mark.redis,
    pytest.mark.fault,
    pytest.mark.crossprocess,
    pytest.mark.asyncio(loop_scope="session"),
]

CLAIM_IDLE = "2"
ITEMS = 2000
TAKEN = 20
JobKeys = Callable[[str], Awaitable[list[str]]]


async def _produce(connector: RedisConnector) -> None:
    sender = await connector.connect_send()
    for i in range(ITEMS):
        await sender.send(i)
    await sender.close()


class Crash(NamedTuple):
    """What a run whose first receiver was killed left: who got what, and the connector."""

    connector: RedisConnector
    taken_by_child: list[int]
    held_by_child: int
    got: list[int]


async def _run_with_a_killed_receiver(raw: Redis) -> Crash:
    """A stalling receiver process is SIGKILLed mid-stream; a survivor drains and closes."""
    connector = RedisConnector(
        unique_spec(ConnectorMode.PIPELINE), maxsize=400, job_id=f"kill-{uuid.uuid4().hex}"
    )
    stalled = stalling_receiver(
        connector, stop_after=TAKEN, env={**os.environ, "CONNECTOR_REDIS_CLAIM_IDLE": CLAIM_IDLE}
    )
    async with stalled as child:
        producer = asyncio.create_task(_produce(connector))
        taken_by_child = [int(line) for line in await child.read_lines(TAKEN)]
        # The child now holds entries it read and did not acknowledge; it dies with them.
        held_by_child = (await raw.xpending(connector.keys.data, WORK_GROUP))["pending"]
        survivor = await connector.connect_recv()
        await child.kill()
        got = await drain(survivor, timeout=PROCESS_TIMEOUT)
        await producer
    await survivor.close()
    return Crash(connector, taken_by_child, held_by_child, got)


async def test_a_killed_receivers_entries_are_claimed_by_a_survivor_and_none_is_lost(
    monkeypatch: pytest.MonkeyPatch, raw: Redis
) -> None:
    monkeypatch.setenv("CONNECTOR_REDIS_CLAIM_IDLE", CLAIM_IDLE)

    crash = await _run_with_a_killed_receiver(raw)

    got = crash.got
    assert crash.held_by_child > 0  # there was something to claim
    assert max(Counter(got).values()) == 1, "the survivor delivered an item twice"
    assert set(got) | set(crash.taken_by_child) == set(range(ITEMS)), "items were lost"
    assert set(range(TAKEN, ITEMS)) <= set(got)  # what the child never handed: the survivor's
    await purge(crash.connector.job_id)


async def test_the_last_receiver_out_takes_out_a_killed_one_and_no_key_is_left(
    monkeypatch: pytest.MonkeyPatch, raw: Redis, job_keys: JobKeys
) -> None:
    monkeypatch.setenv("CONNECTOR_REDIS_CLAIM_IDLE", CLAIM_IDLE)

    crash = await _run_with_a_killed_receiver(raw)

    assert await job_keys(crash.connector.job_id) == []
