"""Benchmark the RabbitMQ backend against a bare aio-pika loop, in the same run.

Everything runs in one process and one event loop against the broker at ``RABBITMQ_URL``
(default ``amqp://guest:guest@127.0.0.1:5672/``); each scenario measures the bare loop and
then the backend:

- ``pipeline``: one sender, one receiver through `RabbitMQConnector` (``maxsize=2000``:
  batches of up to 250 items, publisher confirms, acks). Baseline: the bare aio-pika loop
  the issue names: publish one pickled item per persistent message to a durable queue and
  await its publisher confirm, then the next; a consumer (prefetch 100) acks each message.
  Its latency is measured too, for both.
- ``pubsub-4``: one sender, four subscribers, each drained by its own task. A message counts
  once per ``send()``; a run ends when every subscriber has every message. Baseline: the
  same bare loop publishing to a fanout exchange with four queues, each consumer acking.
- ``latency``: one item (an int) at a time, ``send()`` then awaiting ``recv()`` through a
  pipeline 1x1, 500 round trips (200 with ``--quick``), beside the bare loop doing the same
  round trip: publish a persistent message to a durable queue awaiting its confirm, the
  consumer acks it and hands it over. The ratio is bare p50 / our p50.

Throughput is counted from the first send to the last item received (the end-of-stream
grace period is not included). Latency is measured separately, without load: one item is
sent and received before the next, so p50/p99 are one hop from ``send()`` called to
``recv()`` returned, in microseconds.

`connector bench` finds `run()` in the `connector.benchmarks` entry points
(``uv run connector bench --backends rabbitmq --quick``).

Beside those, the scenarios of `connector_core.benchmarking.machine` measure it against the
machine's floor in one process: ``vs_queue`` and ``batch`` (``send_many``/``recv_many`` of
1000) beside a bare ``asyncio.Queue(1000)``, ``pubsub_vs_pipeline`` beside its own pipeline,
and ``large`` (16 MiB items) beside HMAC-SHA256 over the same bytes, with issue 14's targets
(`MACHINE_TARGETS`).
"""

from __future__ import annotations

import asyncio
import os
import pickle
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractRobustConnection

from connector_core import ConnectorMode, ConnectorSpec
from connector_core.benchmarking import (
    RATIO_OF_P50,
    Comparison,
    Measurement,
    Row,
    connector_round_trips,
    connector_throughput,
    machine_scenarios,
    round_trips,
    run_scenarios,
)
from connector_rabbitmq import RabbitMQChannel, RabbitMQConnector

__all__ = ["latency", "pipeline", "pubsub", "run"]

SUBSCRIBERS = 4
MAXSIZE = 2000
BASELINE = "aio-pika: 1 pickled item/message, confirm each, ack each"
BASELINE_FANOUT = f"aio-pika fanout to {SUBSCRIBERS} queues, confirm each, ack each"
DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/"

PIPELINE_TARGET = 20.0
"""Minimum ratio (channel msgs/s over baseline msgs/s) that issue 4 asks for."""


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


def _connector(mode: ConnectorMode) -> RabbitMQConnector:
    tag = uuid.uuid4().hex[:8]
    return RabbitMQConnector(
        ConnectorSpec(f"bench-{tag}.out", f"bench-{tag}.in", mode), maxsize=MAXSIZE
    )


async def _confirmed(sender: RabbitMQChannel) -> None:
    await sender.flush()  # the broker confirmed every item: part of the timed work


# -- the bare aio-pika baseline -------------------------------------------------------------


async def bare_throughput(conn: AbstractRobustConnection, count: int, queues: int) -> float:
    """Seconds for the bare loop to move `count` items to `queues` acking consumers."""
    name = f"bench-bare-{uuid.uuid4().hex[:8]}"
    pub = await conn.channel(publisher_confirms=True)
    sub = await conn.channel()
    await sub.set_qos(prefetch_count=100)
    if queues == 1:
        exchange = pub.default_exchange
        declared = [await sub.declare_queue(name, durable=True)]
        routing_key = name
    else:
        exchange = await pub.declare_exchange(name, aio_pika.ExchangeType.FANOUT)
        declared = []
        for q in range(queues):
            queue = await sub.declare_queue(f"{name}.{q}", durable=True)
            await queue.bind(name)
            declared.append(queue)
        routing_key = ""
    done = [asyncio.Event() for _ in declared]
    counts = [0] * len(declared)

    def consumer(index: int) -> Any:
        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            pickle.loads(message.body)
            await message.ack()
            counts[index] += 1
            if counts[index] == count:
                done[index].set()

        return on_message

    tags = [await queue.consume(consumer(index)) for index, queue in enumerate(declared)]
    start = time.perf_counter()
    for i in range(count):
        body = pickle.dumps(_item(i), protocol=pickle.HIGHEST_PROTOCOL)
        await exchange.publish(
            aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=routing_key,
        )
    for event in done:
        await event.wait()
    elapsed = time.perf_counter() - start
    for queue, tag in zip(declared, tags, strict=True):
        await queue.cancel(tag)
        await queue.delete(if_unused=False, if_empty=False)
    if queues > 1:
        await pub.exchange_delete(name)
    await pub.close()
    await sub.close()
    return elapsed


async def bare_latency(conn: AbstractRobustConnection, samples: int) -> list[int]:
    """One-hop latencies (ns) of the bare loop without load."""
    name = f"bench-bare-{uuid.uuid4().hex[:8]}"
    pub = await conn.channel(publisher_confirms=True)
    sub = await conn.channel()
    await sub.set_qos(prefetch_count=100)
    queue = await sub.declare_queue(name, durable=True)
    inbox: asyncio.Queue[Any] = asyncio.Queue()

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        item = pickle.loads(message.body)
        await message.ack()
        inbox.put_nowait(item)

    tag = await queue.consume(on_message)
    out = []
    for i in range(samples):
        start = time.perf_counter_ns()
        body = pickle.dumps(_item(i), protocol=pickle.HIGHEST_PROTOCOL)
        await pub.default_exchange.publish(
            aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=name,
        )
        await inbox.get()
        out.append(time.perf_counter_ns() - start)
    await queue.cancel(tag)
    await queue.delete(if_unused=False, if_empty=False)
    await pub.close()
    await sub.close()
    return out


# -- the scenarios: each measures the bare loop and the backend in the same run ---------------


@asynccontextmanager
async def _bare_connection() -> AsyncIterator[AbstractRobustConnection]:
    conn = await aio_pika.connect_robust(os.environ.get("RABBITMQ_URL", DEFAULT_URL))
    try:
        yield conn
    finally:
        await conn.close()


def _sizes(quick: bool) -> Sizes:
    return QUICK if quick else FULL


async def pipeline(quick: bool) -> Comparison:
    """One sender, one receiver, against the bare loop; throughput and unloaded latency."""
    sizes = _sizes(quick)
    async with _bare_connection() as conn:
        bare = await bare_throughput(conn, sizes.baseline_messages, 1)
        bare_lat = await bare_latency(conn, sizes.latency_samples)
    ours = await connector_throughput(
        _connector(ConnectorMode.PIPELINE), sizes.channel_messages, 1, _item, _confirmed
    )
    lat = await connector_round_trips(_connector(ConnectorMode.PIPELINE), sizes.latency_samples)
    return Comparison(
        "pipeline",
        BASELINE,
        Measurement(sizes.channel_messages, ours, lat.latencies_ns),
        Measurement(sizes.baseline_messages, bare, bare_lat),
        PIPELINE_TARGET,
    )


async def pubsub(quick: bool) -> Comparison:
    """One sender, four subscribers, against the bare loop publishing to a fanout exchange."""
    sizes = _sizes(quick)
    async with _bare_connection() as conn:
        bare = await bare_throughput(conn, sizes.baseline_messages, SUBSCRIBERS)
    ours = await connector_throughput(
        _connector(ConnectorMode.PUBSUB), sizes.channel_messages, SUBSCRIBERS, _item, _confirmed
    )
    return Comparison(
        f"pubsub-{SUBSCRIBERS}",
        BASELINE_FANOUT,
        Measurement(sizes.channel_messages, ours),
        Measurement(sizes.baseline_messages, bare),
    )


async def bare_round_trips(conn: AbstractRobustConnection, count: int) -> Measurement:
    """The bare loop's round trips: publish with confirm, consume, ack, one at a time."""
    name = f"bench-bare-{uuid.uuid4().hex[:8]}"
    pub = await conn.channel(publisher_confirms=True)
    sub = await conn.channel()
    await sub.set_qos(prefetch_count=100)
    queue = await sub.declare_queue(name, durable=True)
    inbox: asyncio.Queue[Any] = asyncio.Queue()

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        item = pickle.loads(message.body)
        await message.ack()
        inbox.put_nowait(item)

    async def send(i: int) -> None:
        body = pickle.dumps(i, protocol=pickle.HIGHEST_PROTOCOL)
        await pub.default_exchange.publish(
            aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=name,
        )

    tag = await queue.consume(on_message)
    try:
        return await round_trips(send, inbox.get, count)
    finally:
        await queue.cancel(tag)
        await queue.delete(if_unused=False, if_empty=False)
        await pub.close()
        await sub.close()


async def latency(quick: bool) -> Comparison:
    """One item at a time, ours beside the bare loop in the same run (the issue asks 0.8)."""
    count = 200 if quick else 500
    async with _bare_connection() as conn:
        bare = await bare_round_trips(conn, count)
    ours = await connector_round_trips(_connector(ConnectorMode.PIPELINE), count)
    baseline = "aio-pika: publish with confirm, consume, ack, one in flight"
    return Comparison("latency 1x1", baseline, ours, bare, 0.8, RATIO_OF_P50)


def run(quick: bool) -> list[Row]:
    """Runs every scenario; returns one row each (`connector_core.benchmarking.ROW_KEYS`)."""
    machine = machine_scenarios(_machine_connector, MACHINE_TARGETS)
    return run_scenarios("rabbitmq", [pipeline, pubsub, latency, *machine], quick)


MACHINE_TARGETS = {"vs_queue": 0.12, "batch": 0.5, "pubsub_vs_pipeline": 0.5, "large": 0.25}
"""Issue 14's targets for the scenarios of `connector_core.benchmarking.machine`."""


def _machine_connector(mode: ConnectorMode, maxsize: int) -> RabbitMQConnector:
    tag = uuid.uuid4().hex[:8]
    spec = ConnectorSpec(f"bench-{tag}.out", f"bench-{tag}.in", mode)
    return RabbitMQConnector(spec, maxsize=maxsize)
