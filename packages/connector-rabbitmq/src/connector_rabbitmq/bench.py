"""Benchmark the RabbitMQ backend against a bare aio-pika loop, in the same run.

Everything runs in one process and one event loop against the broker at ``RABBITMQ_URL``
(default ``amqp://guest:guest@127.0.0.1:5672/``):

- ``pipeline``: one sender, one receiver through `RabbitMQConnector` (``maxsize=2000``:
  batches of up to 250 items, publisher confirms, acks). Baseline: the bare aio-pika loop
  the issue names: publish one pickled item per persistent message to a durable queue and
  await its publisher confirm, then the next; a consumer (prefetch 100) acks each message.
- ``pubsub-4``: one sender, four subscribers, each drained by its own task. A message counts
  once per ``send()``; a run ends when every subscriber has every message. Baseline: the
  same bare loop publishing to a fanout exchange with four queues, each consumer acking.

Throughput is counted from the first send to the last item received (the end-of-stream
grace period is not included). Latency is measured separately, without load: one item is
sent and received before the next, so p50/p99 are one hop from ``send()`` called to
``recv()`` returned, in microseconds.

Run ``uv run python -m connector_rabbitmq.bench [--quick]`` (or
``tools/bench_rabbitmq.py``); `connector bench` finds `run()` in the `connector.benchmarks`
entry points.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pickle
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractRobustConnection

from connector_core import ConnectorMode, ConnectorSpec
from connector_core.di import container
from connector_rabbitmq import RabbitMQConnector

__all__ = ["TARGETS", "main", "run"]

BACKEND = "rabbitmq"
SUBSCRIBERS = 4
MAXSIZE = 2000
BASELINE = "aio-pika: 1 pickled item/message, confirm each, ack each"
BASELINE_FANOUT = f"aio-pika fanout to {SUBSCRIBERS} queues, confirm each, ack each"
DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/"

TARGETS: dict[tuple[str, str], float] = {("pipeline", BASELINE): 20.0}
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


def _percentile_us(samples_ns: Sequence[int], q: float) -> float:
    ordered = sorted(samples_ns)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index] / 1000


def _connector(mode: ConnectorMode) -> RabbitMQConnector:
    tag = uuid.uuid4().hex[:8]
    return RabbitMQConnector(
        ConnectorSpec(f"bench-{tag}.out", f"bench-{tag}.in", mode), maxsize=MAXSIZE
    )


# -- the backend ---------------------------------------------------------------------------


async def channel_throughput(mode: ConnectorMode, count: int, receivers: int) -> float:
    """Seconds to move `count` items from one sender to `receivers` receivers."""
    connector = _connector(mode)
    chans = [await connector.connect_recv() for _ in range(receivers)]
    sender = await connector.connect_send()

    async def take(channel: Any, expected: int) -> int:
        for _ in range(expected):
            await channel.recv()
        return expected

    start = time.perf_counter()
    if mode is ConnectorMode.PIPELINE:
        consumers = [asyncio.create_task(take(chans[0], count))]
    else:
        consumers = [asyncio.create_task(take(c, count)) for c in chans]
    for i in range(count):
        await sender.send(_item(i))
    await sender.flush()
    await asyncio.gather(*consumers)
    elapsed = time.perf_counter() - start
    await sender.close()
    for channel in chans:
        await channel.close()
    return elapsed


async def channel_latency(samples: int) -> list[int]:
    """One-hop latencies (ns) of a pipeline without load."""
    connector = _connector(ConnectorMode.PIPELINE)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    out = []
    for i in range(samples):
        start = time.perf_counter_ns()
        await sender.send(_item(i))
        await receiver.recv()
        out.append(time.perf_counter_ns() - start)
    await sender.close()
    await receiver.close()
    return out


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


# -- the run --------------------------------------------------------------------------------


def _row(
    scenario: str,
    baseline: str,
    messages: int,
    seconds: float,
    baseline_messages: int,
    baseline_seconds: float,
    latency: Sequence[int] | None,
) -> dict[str, object]:
    rate = messages / seconds
    base = baseline_messages / baseline_seconds
    return {
        "backend": BACKEND,
        "scenario": scenario,
        "baseline": baseline,
        "messages": messages,
        "msgs_per_s": round(rate, 1),
        "baseline_msgs_per_s": round(base, 1),
        "ratio": round(rate / base, 2),
        "p50_us": round(_percentile_us(latency, 50), 1) if latency else None,
        "p99_us": round(_percentile_us(latency, 99), 1) if latency else None,
    }


async def _run(sizes: Sizes) -> list[dict[str, object]]:
    os.environ.setdefault("RABBITMQ_URL", DEFAULT_URL)
    bare = await aio_pika.connect_robust(os.environ["RABBITMQ_URL"])
    try:
        base_pipe = await bare_throughput(bare, sizes.baseline_messages, 1)
        pipe = await channel_throughput(ConnectorMode.PIPELINE, sizes.channel_messages, 1)
        base_fan = await bare_throughput(bare, sizes.baseline_messages, SUBSCRIBERS)
        fan = await channel_throughput(ConnectorMode.PUBSUB, sizes.channel_messages, SUBSCRIBERS)
        base_lat = await bare_latency(bare, sizes.latency_samples)
        lat = await channel_latency(sizes.latency_samples)
    finally:
        await bare.close()
        result = container.shutdown_resources()
        if result is not None:
            await result
    return [
        _row(
            "pipeline",
            BASELINE,
            sizes.channel_messages,
            pipe,
            sizes.baseline_messages,
            base_pipe,
            lat,
        ),
        _row(
            f"pubsub-{SUBSCRIBERS}",
            BASELINE_FANOUT,
            sizes.channel_messages,
            fan,
            sizes.baseline_messages,
            base_fan,
            None,
        ),
        {
            "backend": BACKEND,
            "scenario": "latency-baseline",
            "baseline": BASELINE,
            "messages": sizes.latency_samples,
            "msgs_per_s": None,
            "baseline_msgs_per_s": None,
            "ratio": None,
            "p50_us": round(_percentile_us(base_lat, 50), 1),
            "p99_us": round(_percentile_us(base_lat, 99), 1),
        },
    ]


def run(quick: bool) -> list[dict[str, object]]:
    """Runs the benchmark and returns one row per scenario (see the module docstring)."""
    return asyncio.run(_run(QUICK if quick else FULL))


def _print_table(rows: list[dict[str, object]]) -> None:
    header = ("scenario", "msgs/s", "baseline msgs/s", "ratio", "p50 us", "p99 us", "baseline")
    print("{:<16} {:>10} {:>16} {:>8} {:>9} {:>9}  {}".format(*header))
    for row in rows:
        print(
            "{:<16} {:>10} {:>16} {:>8} {:>9} {:>9}  {}".format(
                *(
                    "-" if row[key] is None else str(row[key])
                    for key in (
                        "scenario",
                        "msgs_per_s",
                        "baseline_msgs_per_s",
                        "ratio",
                        "p50_us",
                        "p99_us",
                        "baseline",
                    )
                )
            )
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: prints the table; exits 1 if a target ratio is missed with --check."""
    parser = argparse.ArgumentParser(description="RabbitMQ backend vs bare aio-pika")
    parser.add_argument("--quick", action="store_true", help="a short run (< 30 s)")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)
    rows = run(args.quick)
    _print_table(rows)
    missed = []
    for row in rows:
        target = TARGETS.get((str(row["scenario"]), str(row["baseline"])))
        ratio = row["ratio"]
        if target is not None and isinstance(ratio, float) and ratio < target:
            missed.append(f"{row['scenario']}: ratio {ratio} < {target}")
    for line in missed:
        print(f"target missed: {line}", file=sys.stderr)
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
