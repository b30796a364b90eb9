"""A pipeline receiver killed with SIGKILL: a survivor claims what it held; nothing is lost.

Both processes run with a short `CONNECTOR_REDIS_CLAIM_IDLE` (read by `RedisSettings` in each
process), so the survivor claims the dead receiver's entries after 2 s instead of 30 s.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import NamedTuple

import pytest
from redis.asyncio import Redis

from connector_core.spec import ConnectorMode
from connector_core.testing import PROCESS_TIMEOUT, drain, unique_spec
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

# A receiver in its own interpreter: reads the pickled connector from stdin, prints "ready",
# then one line per item, and stops asking after `TAKEN` items, holding what it read (its
# entries stay unacknowledged) until it is killed.
_STALLING_RECEIVER = """
import asyncio, pickle, sys
connector = pickle.load(sys.stdin.buffer)
stop_after = int(sys.argv[1])
async def main():
    channel = await connector.connect_recv()
    print("ready", flush=True)
    for _ in range(stop_after):
        print(await channel.recv(), flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


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
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _STALLING_RECEIVER,
        str(TAKEN),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "CONNECTOR_REDIS_CLAIM_IDLE": CLAIM_IDLE},
    )
    assert child.stdin is not None
    assert child.stdout is not None
    try:
        child.stdin.write(pickle.dumps(connector))
        await child.stdin.drain()
        child.stdin.close()
        async with asyncio.timeout(PROCESS_TIMEOUT):
            assert (await child.stdout.readline()).strip() == b"ready"
        producer = asyncio.create_task(_produce(connector))
        taken_by_child = []
        async with asyncio.timeout(PROCESS_TIMEOUT):
            for _ in range(TAKEN):
                taken_by_child.append(int(await child.stdout.readline()))
        # The child now holds entries it read and did not acknowledge; it dies with them.
        held_by_child = (await raw.xpending(connector.keys.data, WORK_GROUP))["pending"]
        survivor = await connector.connect_recv()
        child.send_signal(signal.SIGKILL)
        await child.wait()
        got = await drain(survivor, timeout=PROCESS_TIMEOUT)
        await producer
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
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
