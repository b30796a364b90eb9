"""Benchmark the Redis backend against a bare redis-py loop, in the same run.

`connector_core.benchmarking.scenarios` and `connector_core.benchmarking.machine` drive the
scenarios, in one process and one event loop against the server at `REDIS_URL` (default
`redis://localhost:6379/0`). Here are `RedisConnector` (``maxsize=2000``) and the bare loop
issue 16 names: a producer awaits one ``XADD`` per pickled item; each consumer, in its own
consumer group on the stream, awaits ``XREADGROUP ... COUNT 1`` (one entry) and then ``XACK``
for it, with its own client.

- ``pipeline 1x1``: one consumer group; the row's latency is the round trip below.
- ``pubsub 1x4``: four consumer groups, each read and acked one entry at a time.
- ``latency 1x1``: ``XADD`` of a pickled int, a blocked ``XREADGROUP COUNT 1`` returns it,
  ``XACK``, one in flight.
- ``large_vs_server``: 16 MiB ``bytes`` items (`LARGE_BYTES`) through the connector beside
  the bare loop moving the same bytes as they are (nothing pickled): what the server itself
  allows for large items (the machine's ``large`` compares with HMAC).

Targets: `TARGETS`. Run: ``uv run connector bench --backends redis --quick``.
"""

from __future__ import annotations

import asyncio
import pickle
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis

from connector_core import ConnectorMode, ConnectorSpec
from connector_core import benchmarking as kit
from connector_core.benchmarking.machine import LARGE_BYTES
from connector_redis.connector import RedisConnector
from connector_redis.settings import RedisSettings

__all__ = [
    "SCENARIOS",
    "bare_large_seconds",
    "bare_round_trips",
    "bare_throughput",
    "large_vs_server",
    "run",
]

MAXSIZE = 2000
LABELS = (
    "redis-py: XADD per item, XREADGROUP COUNT 1, XACK each",
    f"redis-py: XADD per item, {kit.SUBSCRIBERS} groups, XREADGROUP COUNT 1, XACK each",
    "redis-py: XADD, blocked XREADGROUP COUNT 1, XACK, one in flight",
)
"""What the bare loop does in the pipeline, pubsub and latency scenarios (for the rows)."""
TARGETS = {"pipeline": 20.0, "latency": 0.8, "batch": 0.5, "pubsub_vs_pipeline": 0.5}
"""The lowest ratio asked for, per scenario: issue 16's for the pipeline (channel msgs/s
over baseline msgs/s), issue 17's bar for the brokers' latency (bare p50 / our p50), and
issue 14's for RabbitMQ and Ray where it sets one for every backend (no ``vs_queue`` or
``large`` target here)."""

_BLOCK_MS = 1000
"""How long one bare blocking read waits before it looks again."""


def _tag() -> str:
    return uuid.uuid4().hex[:8]


def _connector(mode: ConnectorMode, maxsize: int) -> RedisConnector:
    tag = _tag()
    spec = ConnectorSpec(f"bench-{tag}.out", f"bench-{tag}.in", mode)
    return RedisConnector(spec, maxsize=maxsize, job_id=f"bench-{tag}")


# -- the bare redis-py loop -------------------------------------------------------------------


def _client() -> Redis:
    return Redis.from_url(RedisSettings().url.get_secret_value())


@asynccontextmanager
async def _bare_stream(groups: int) -> AsyncIterator[tuple[Redis, str, list[Redis]]]:
    """A writer, a fresh stream with `groups` consumer groups (``g0``...), a reader for each."""
    stream = f"bench-bare-{_tag()}"
    writer = _client()
    readers: list[Redis] = []
    try:
        for group in range(groups):
            await writer.xgroup_create(stream, f"g{group}", id="0", mkstream=True)
        readers = [_client() for _ in range(groups)]
        yield writer, stream, readers
    finally:
        for reader in readers:
            await reader.aclose()
        await writer.delete(stream)
        await writer.aclose()


async def _add(writer: Redis, stream: str, item: Any) -> None:
    await writer.xadd(stream, {b"d": pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)})


async def _read_one(reader: Redis, stream: str, group: str, raw: bool = False) -> list[Any]:
    """Reads at most one entry of `group` (blocking a while), acks it; its item, or none.

    Args:
        reader: The group's client.
        stream: The stream.
        group: The group.
        raw: Optional; the entry holds bytes as they are (returned so, not unpickled).
    """
    reply: Any = await reader.xreadgroup(group, "c", {stream: ">"}, count=1, block=_BLOCK_MS)
    for _, entries in reply or []:
        for entry_id, fields in entries:
            await reader.xack(stream, group, entry_id)
            return [fields[b"d"] if raw else pickle.loads(fields[b"d"])]
    return []


async def bare_throughput(count: int, groups: int) -> float:
    """Seconds for the bare loop to move `count` items to `groups` acking consumer groups.

    Args:
        count: Items to add.
        groups: Consumer groups, each with its own reader taking every item.
    """
    async with _bare_stream(groups) as (writer, stream, readers):

        async def consume(reader: Redis, group: str) -> int:
            got = 0
            while got < count:
                got += len(await _read_one(reader, stream, group))
            return got

        start = time.perf_counter()
        consumers = [
            asyncio.create_task(consume(reader, f"g{group}"))
            for group, reader in enumerate(readers)
        ]
        for i in range(count):
            await _add(writer, stream, kit.pair_item(i))
        for got in await asyncio.gather(*consumers):
            kit.expect_count("bare redis-py", got, count)
        return time.perf_counter() - start


async def bare_round_trips(count: int) -> kit.Measurement:
    """The bare loop's round trips: ``XADD``, a blocked ``XREADGROUP COUNT 1``, ``XACK``.

    Args:
        count: Timed round trips.
    """
    async with _bare_stream(1) as (writer, stream, (reader,)):

        async def send(i: int) -> None:
            await _add(writer, stream, i)

        async def recv() -> Any:
            while not (got := await _read_one(reader, stream, "g0")):
                pass
            return got[0]

        return await kit.round_trips(send, recv, count)


async def bare_large_seconds(payload: bytes, count: int) -> float:
    """Seconds for the bare loop to move `count` copies of `payload` to one acking group.

    Each copy is one ``XADD`` of the bytes as they are (nothing pickled, nothing signed),
    read with ``XREADGROUP COUNT 1`` and acked, the reader beside the writer as in
    `bare_throughput`.
    """
    async with _bare_stream(1) as (writer, stream, (reader,)):

        async def consume() -> int:
            got = 0
            while got < count:
                got += len(await _read_one(reader, stream, "g0", raw=True))
            return got

        start = time.perf_counter()
        consumer = asyncio.create_task(consume())
        for _ in range(count):
            await writer.xadd(stream, {b"d": payload})
        kit.expect_count("bare redis-py, large items", await consumer, count)
        return time.perf_counter() - start


large_vs_server = kit.large_scenario(
    "large_vs_server",
    _connector,
    bare_large_seconds,
    f"{LARGE_BYTES // 2**20} MiB items vs server",
    "redis-py: XADD of the bytes per item, XREADGROUP COUNT 1, XACK each",
)
"""16 MiB items through the connector beside the bare loop moving the same bytes."""


# -- the scenarios: the kit's, each measuring the bare loop and then the backend ---------------

BARE = kit.BareBroker(bare_throughput, bare_round_trips, LABELS)
SCENARIOS = [
    *kit.broker_scenarios(_connector, BARE, TARGETS, MAXSIZE),
    *kit.machine_scenarios(_connector, TARGETS),
    large_vs_server,
]


def run(quick: bool) -> list[kit.Row]:
    """Runs `SCENARIOS` on the server at `REDIS_URL`; one row each (keys: `kit.ROW_KEYS`).

    Args:
        quick: Short runs (seconds) instead of the full ones.
    """
    return kit.run_scenarios("redis", SCENARIOS, quick)
