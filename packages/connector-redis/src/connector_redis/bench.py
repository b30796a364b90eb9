"""Benchmark the Redis backend against a bare redis-py loop, in the same run.

Everything runs in one process and one event loop against the server at `REDIS_URL`
(default `redis://localhost:6379/0`); each scenario measures the bare loop and then the
backend:

- ``pipeline 1x1``: one sender, one receiver through `RedisConnector` (``maxsize=2000``).
  Baseline: the bare redis-py loop the issue names: a producer awaits one ``XADD`` per
  pickled item; a consumer in a consumer group awaits ``XREADGROUP ... COUNT 1`` (one entry)
  and then ``XACK`` for each. Its latency is measured too, for both.
- ``pubsub 1x4``: one sender, four subscribers, each drained by its own task. An item counts
  once per ``send()``; a run ends when every subscriber has every item. Baseline: the same
  bare producer, with four consumer groups on the stream, each read and acked one entry at
  a time.
- ``latency``: one item (an int) at a time, ``send()`` then awaiting ``recv()`` through a
  pipeline 1x1, 500 round trips (200 with ``--quick``), beside the bare loop doing the same
  round trip (``XADD``, then a blocked ``XREADGROUP COUNT 1`` returns it, ``XACK``). The
  ratio is bare p50 / our p50.

Throughput is counted from the first send to the last item received. Latency (the pipeline
row's p50/p99 too) is measured separately, without load: one item is sent and received
before the next, so p50/p99 are one hop from ``send()`` called to ``recv()`` returned, in
microseconds.

`connector bench` finds `run()` in the `connector.benchmarks` entry points
(``uv run connector bench --backends redis --quick``).

Beside those, the scenarios of `connector_core.benchmarking.machine` measure it against the
machine's floor in one process: ``vs_queue`` and ``batch`` (``send_many``/``recv_many`` of
1000) beside a bare ``asyncio.Queue(1000)``, ``pubsub_vs_pipeline`` beside its own pipeline,
and ``large`` (16 MiB items) beside HMAC-SHA256 over the same bytes, with issue 14's targets
(`MACHINE_TARGETS`).
"""

from __future__ import annotations

import asyncio
import pickle
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from connector_core import ConnectorMode, ConnectorSpec
from connector_core.benchmarking import (
    RATIO_OF_P50,
    Comparison,
    Measurement,
    Row,
    connector_round_trips,
    connector_throughput,
    expect_count,
    machine_scenarios,
    round_trips,
    run_scenarios,
)
from connector_redis.connector import RedisConnector
from connector_redis.settings import RedisSettings

__all__ = ["latency", "pipeline", "pubsub", "run"]

SUBSCRIBERS = 4
MAXSIZE = 2000
BASELINE = "redis-py: XADD per item, XREADGROUP COUNT 1, XACK each"
BASELINE_FANOUT = f"redis-py: XADD per item, {SUBSCRIBERS} groups, XREADGROUP COUNT 1, XACK each"

PIPELINE_TARGET = 20.0
"""Minimum ratio (channel msgs/s over baseline msgs/s) that issue 16 asks for."""
LATENCY_TARGET = 0.8
"""Minimum bare p50 / our p50 for one item in flight (the bar issue 17 sets for the brokers)."""

_BLOCK_MS = 1000
"""How long one bare blocking read waits before it looks again."""


@dataclass(frozen=True)
class Sizes:
    """How much work one run does."""

    channel_messages: int
    baseline_messages: int
    latency_samples: int


QUICK = Sizes(channel_messages=20_000, baseline_messages=1_500, latency_samples=200)
FULL = Sizes(channel_messages=200_000, baseline_messages=10_000, latency_samples=2_000)


def _item(i: int) -> tuple[int, str]:
    return (i, "payload-0123456789")


def _tag() -> str:
    return uuid.uuid4().hex[:8]


def _connector(mode: ConnectorMode) -> RedisConnector:
    tag = _tag()
    spec = ConnectorSpec(f"bench-{tag}.out", f"bench-{tag}.in", mode)
    return RedisConnector(spec, maxsize=MAXSIZE, job_id=f"bench-{tag}")


# -- the backend ---------------------------------------------------------------------------


# -- the bare redis-py baseline --------------------------------------------------------------


@asynccontextmanager
async def _bare_client() -> AsyncIterator[Redis]:
    client = Redis.from_url(RedisSettings().url.get_secret_value())
    try:
        yield client
    finally:
        await client.aclose()


async def _consume_one_by_one(client: Redis, stream: str, group: str, count: int) -> int:
    """Reads one entry at a time from `group`, unpickles and acks it; returns how many."""
    got = 0
    while got < count:
        reply: Any = await client.xreadgroup(group, "c", {stream: ">"}, count=1, block=_BLOCK_MS)
        for _, entries in reply or []:
            for entry_id, fields in entries:
                pickle.loads(fields[b"d"])
                await client.xack(stream, group, entry_id)
                got += 1
    return got


async def bare_throughput(client: Redis, count: int, groups: int) -> float:
    """Seconds for the bare loop to move `count` items to `groups` acking consumer groups."""
    stream = f"bench-bare-{_tag()}"
    names = [f"g{n}" for n in range(groups)]
    for name in names:
        await client.xgroup_create(stream, name, id="0", mkstream=True)
    readers = [Redis.from_url(RedisSettings().url.get_secret_value()) for _ in names]
    try:
        start = time.perf_counter()
        consumers = [
            asyncio.create_task(_consume_one_by_one(reader, stream, name, count))
            for reader, name in zip(readers, names, strict=True)
        ]
        for i in range(count):
            body = pickle.dumps(_item(i), protocol=pickle.HIGHEST_PROTOCOL)
            await client.xadd(stream, {b"d": body})
        for got in await asyncio.gather(*consumers):
            expect_count("bare redis-py", got, count)
        return time.perf_counter() - start
    finally:
        for reader in readers:
            await reader.aclose()
        await client.delete(stream)


async def bare_round_trips(client: Redis, count: int) -> Measurement:
    """The bare loop's round trips: ``XADD``, a blocked ``XREADGROUP COUNT 1``, ``XACK``."""
    stream = f"bench-bare-{_tag()}"
    await client.xgroup_create(stream, "g", id="0", mkstream=True)
    reader = Redis.from_url(RedisSettings().url.get_secret_value())

    async def send(i: int) -> None:
        await client.xadd(stream, {b"d": pickle.dumps(i, protocol=pickle.HIGHEST_PROTOCOL)})

    async def recv() -> Any:
        while True:
            reply: Any = await reader.xreadgroup("g", "c", {stream: ">"}, count=1, block=_BLOCK_MS)
            for _, entries in reply or []:
                for entry_id, fields in entries:
                    await reader.xack(stream, "g", entry_id)
                    return pickle.loads(fields[b"d"])

    try:
        return await round_trips(send, recv, count)
    finally:
        await reader.aclose()
        await client.delete(stream)


# -- the scenarios: each measures the bare loop and the backend in the same run ---------------


def _sizes(quick: bool) -> Sizes:
    return QUICK if quick else FULL


async def pipeline(quick: bool) -> Comparison:
    """One sender, one receiver, against the bare loop; throughput and unloaded latency."""
    sizes = _sizes(quick)
    async with _bare_client() as client:
        bare = await bare_throughput(client, sizes.baseline_messages, 1)
        bare_lat = await bare_round_trips(client, sizes.latency_samples)
    ours = await connector_throughput(
        _connector(ConnectorMode.PIPELINE), sizes.channel_messages, 1, _item
    )
    lat = await connector_round_trips(_connector(ConnectorMode.PIPELINE), sizes.latency_samples)
    return Comparison(
        "pipeline 1x1",
        BASELINE,
        Measurement(sizes.channel_messages, ours, lat.latencies_ns),
        Measurement(sizes.baseline_messages, bare, bare_lat.latencies_ns),
        PIPELINE_TARGET,
    )


async def pubsub(quick: bool) -> Comparison:
    """One sender, four subscribers, against the bare loop with four consumer groups."""
    sizes = _sizes(quick)
    async with _bare_client() as client:
        bare = await bare_throughput(client, sizes.baseline_messages, SUBSCRIBERS)
    ours = await connector_throughput(
        _connector(ConnectorMode.PUBSUB), sizes.channel_messages, SUBSCRIBERS, _item
    )
    return Comparison(
        f"pubsub 1x{SUBSCRIBERS}",
        BASELINE_FANOUT,
        Measurement(sizes.channel_messages, ours),
        Measurement(sizes.baseline_messages, bare),
    )


async def latency(quick: bool) -> Comparison:
    """One item at a time, ours beside the bare loop in the same run."""
    count = 200 if quick else 500
    async with _bare_client() as client:
        bare = await bare_round_trips(client, count)
    ours = await connector_round_trips(_connector(ConnectorMode.PIPELINE), count)
    baseline = "redis-py: XADD, blocked XREADGROUP COUNT 1, XACK, one in flight"
    return Comparison("latency 1x1", baseline, ours, bare, LATENCY_TARGET, RATIO_OF_P50)


def run(quick: bool) -> list[Row]:
    """Runs every scenario; returns one row each (`connector_core.benchmarking.ROW_KEYS`)."""
    machine = machine_scenarios(_machine_connector, MACHINE_TARGETS)
    return run_scenarios("redis", [pipeline, pubsub, latency, *machine], quick)


MACHINE_TARGETS = {"vs_queue": None, "batch": 0.5, "pubsub_vs_pipeline": 0.5, "large": None}
"""Targets for the scenarios of `connector_core.benchmarking.machine` (issue 14's for
RabbitMQ and Ray where it sets one for every backend)."""


def _machine_connector(mode: ConnectorMode, maxsize: int) -> RedisConnector:
    tag = _tag()
    spec = ConnectorSpec(f"bench-{tag}.out", f"bench-{tag}.in", mode)
    return RedisConnector(spec, maxsize=maxsize, job_id=f"bench-{tag}")
