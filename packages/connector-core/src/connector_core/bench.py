"""Benchmark of the in-process backend: AsyncioChannel against a bare `asyncio.Queue`.

Registered as `asyncio` in the `connector.benchmarks` entry points: `connector bench` runs
it (``uv run connector bench --backends asyncio --quick``). Everything runs in one process
and one event loop, with one producer task; each scenario measures the channel and the bare
queues in the same run:

- ``pipeline``: one producer, one consumer, through `AsyncioConnector` (``maxsize=1000``).
  Baseline: a bare ``asyncio.Queue(maxsize=1000)`` with ``put()``/``get()``.
- ``pubsub-1`` and ``pubsub-4``: one producer, one or four subscribers, each drained by its
  own task. A message counts once per ``send()``; the run ends when every subscriber has
  received every message. Each is compared with the same bare single-queue baseline as the
  pipeline (the issue's target is stated against it); ``pubsub-4`` also, for information,
  with a hand-written fan-out that puts each item into four bare queues.
- ``batch`` (`connector_core.benchmarking.machine`): ``send_many()``/``recv_many()`` of
  lists of 1000 small dicts, beside a bare ``asyncio.Queue(1000)`` moving them one per await.
- ``latency``: one item at a time, ``send()`` then awaiting ``recv()``, pipeline 1x1,
  500 round trips (200 with ``--quick``), beside a bare ``asyncio.Queue`` doing the same
  round trip (``put()`` then ``get()``); p50/p99 are round trips and the ratio is bare p50 /
  our p50.

Throughput is the best of several trials; each channel trial runs right next to its baseline
trial so both see the same load on a shared machine. Latency is measured separately, without
load: the producer sends one timestamped item and waits until every receiver has it before
the next, so p50/p99 are one hop (``send()`` called to ``recv()`` returned in the other task),
one sample per delivery.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial

from connector_core import AsyncioConnector, ConnectorMode, ConnectorSpec
from connector_core.benchmarking import (
    Comparison,
    Measurement,
    Row,
    best_of,
    expect_count,
    latency_scenario,
    machine_scenarios,
    round_trips,
    run_scenarios,
)

__all__ = ["run"]

QUEUE_MAXSIZE = 1000
SUBSCRIBERS = 4
BASELINE_QUEUE = f"asyncio.Queue(maxsize={QUEUE_MAXSIZE})"
BASELINE_FANOUT = f"{SUBSCRIBERS}x asyncio.Queue fan-out"

PIPELINE_TARGET = 0.5
PUBSUB_TARGET = 0.1
"""Minimum ratios (channel msgs/s over bare queue msgs/s) that issue 2 asks for."""


@dataclass(frozen=True)
class Sizes:
    """How much work one run does."""

    pipeline_messages: int
    pubsub_messages: int
    latency_samples: int
    trials: int


QUICK = Sizes(pipeline_messages=50_000, pubsub_messages=20_000, latency_samples=2_000, trials=3)
FULL = Sizes(pipeline_messages=400_000, pubsub_messages=100_000, latency_samples=20_000, trials=5)

_END = None  # the bare queues' end-of-stream sentinel


def _spec(mode: ConnectorMode) -> ConnectorSpec:
    return ConnectorSpec("bench.out", "bench.in", mode=mode)


def _connector(mode: ConnectorMode, maxsize: int) -> AsyncioConnector:
    return AsyncioConnector(_spec(mode), maxsize=maxsize)


# -- throughput: one trial each, returns seconds ------------------------------------------------


async def _queue_pipeline(n: int) -> float:
    queue: asyncio.Queue[int | None] = asyncio.Queue(maxsize=QUEUE_MAXSIZE)

    async def produce() -> None:
        for i in range(n):
            await queue.put(i)
        await queue.put(_END)

    async def consume() -> int:
        count = 0
        while await queue.get() is not _END:
            count += 1
        return count

    start = time.perf_counter()
    count, _ = await asyncio.gather(consume(), produce())
    elapsed = time.perf_counter() - start
    expect_count("asyncio.Queue pipeline", count, n)
    return elapsed


async def _channel_run(mode: ConnectorMode, n: int, receivers: int = 1) -> float:
    connector = _connector(mode, QUEUE_MAXSIZE)
    tx = await connector.connect_send()
    rxs = [await connector.connect_recv() for _ in range(receivers)]

    async def produce() -> None:
        for i in range(n):
            await tx.send(i)
        await tx.close()

    async def consume(index: int) -> int:
        count = 0
        async for _ in rxs[index]:
            count += 1
        return count

    start = time.perf_counter()
    producer = asyncio.create_task(produce())
    counts = await asyncio.gather(*(consume(i) for i in range(receivers)))
    await producer
    elapsed = time.perf_counter() - start
    for count in counts:
        expect_count(f"AsyncioChannel {mode.value} receiver", count, n)
    return elapsed


async def _queue_fanout(n: int) -> float:
    queues: list[asyncio.Queue[int | None]] = [
        asyncio.Queue(maxsize=QUEUE_MAXSIZE) for _ in range(SUBSCRIBERS)
    ]

    async def produce() -> None:
        for i in range(n):
            for queue in queues:
                await queue.put(i)
        for queue in queues:
            await queue.put(_END)

    async def consume(queue: asyncio.Queue[int | None]) -> int:
        count = 0
        while await queue.get() is not _END:
            count += 1
        return count

    start = time.perf_counter()
    producer = asyncio.create_task(produce())
    counts = await asyncio.gather(*(consume(q) for q in queues))
    await producer
    elapsed = time.perf_counter() - start
    for count in counts:
        expect_count("asyncio.Queue fan-out subscriber", count, n)
    return elapsed


# -- latency: unloaded, one hop, returns samples in ns -----------------------------------------


async def _channel_latency(mode: ConnectorMode, receivers: int, samples: int) -> list[int]:
    connector = _connector(mode, QUEUE_MAXSIZE)
    tx = await connector.connect_send()
    rxs = [await connector.connect_recv() for _ in range(receivers)]
    return await _latency(tx.send, tx.close, [rx.recv for rx in rxs], samples)


async def _queue_latency(receivers: int, samples: int) -> list[int]:
    queues: list[asyncio.Queue[int | None]] = [
        asyncio.Queue(maxsize=QUEUE_MAXSIZE) for _ in range(receivers)
    ]

    async def send(item: int | None) -> None:
        for queue in queues:
            await queue.put(item)

    async def close() -> None:
        await send(_END)

    return await _latency(send, close, [q.get for q in queues], samples)


async def _latency(
    send: Callable[[int | None], Awaitable[None]],
    close: Callable[[], Awaitable[None]],
    recvs: Sequence[Callable[[], Awaitable[int | None]]],
    samples: int,
) -> list[int]:
    """Sends `samples` timestamps one at a time; each waits until every receiver has it."""
    results: list[int] = []
    delivered = asyncio.Event()
    pending = 0

    async def consume(recv: Callable[[], Awaitable[int | None]]) -> None:
        nonlocal pending
        for _ in range(samples):
            sent_ns = await recv()
            if sent_ns is None:
                raise RuntimeError("latency run ended early")
            results.append(time.perf_counter_ns() - sent_ns)
            pending -= 1
            if pending == 0:
                delivered.set()

    async def produce() -> None:
        nonlocal pending
        for _ in range(samples):
            pending = len(recvs)
            delivered.clear()
            await send(time.perf_counter_ns())
            await delivered.wait()
        await close()

    await asyncio.gather(*(consume(recv) for recv in recvs), produce())
    expect_count("latency run deliveries", len(results), samples * len(recvs))
    return results


# -- the scenarios: each measures the channel and the bare queues in the same run -------------


def _sizes(quick: bool) -> Sizes:
    return QUICK if quick else FULL


async def pipeline(quick: bool) -> Comparison:
    """One producer, one consumer: `AsyncioConnector` against a bare queue."""
    sizes = _sizes(quick)
    n = sizes.pipeline_messages
    ours, bare = await best_of(
        sizes.trials, lambda: _channel_run(ConnectorMode.PIPELINE, n), lambda: _queue_pipeline(n)
    )
    lat = await _channel_latency(ConnectorMode.PIPELINE, 1, sizes.latency_samples)
    bare_lat = await _queue_latency(1, sizes.latency_samples)
    return Comparison(
        "pipeline",
        BASELINE_QUEUE,
        Measurement(n, ours, lat),
        Measurement(n, bare, bare_lat),
        PIPELINE_TARGET,
    )


async def _pubsub(quick: bool, subscribers: int, fanout: bool) -> Comparison:
    sizes = _sizes(quick)
    n = sizes.pubsub_messages
    ours, bare = await best_of(
        sizes.trials,
        partial(_channel_run, ConnectorMode.PUBSUB, n, subscribers),
        partial(_queue_fanout if fanout else _queue_pipeline, n),
    )
    lat = await _channel_latency(ConnectorMode.PUBSUB, subscribers, sizes.latency_samples)
    bare_lat = await _queue_latency(SUBSCRIBERS if fanout else 1, sizes.latency_samples)
    target = PUBSUB_TARGET if subscribers == SUBSCRIBERS and not fanout else None
    return Comparison(
        f"pubsub-{subscribers}",
        BASELINE_FANOUT if fanout else BASELINE_QUEUE,
        Measurement(n, ours, lat),
        Measurement(n, bare, bare_lat),
        target,
    )


async def pubsub_1(quick: bool) -> Comparison:
    """One producer, one subscriber, against a bare queue."""
    return await _pubsub(quick, 1, fanout=False)


async def pubsub_4(quick: bool) -> Comparison:
    """One producer, four subscribers, against a bare queue (the issue's target)."""
    return await _pubsub(quick, SUBSCRIBERS, fanout=False)


async def pubsub_4_fanout(quick: bool) -> Comparison:
    """One producer, four subscribers, against a hand-written fan-out to four bare queues."""
    return await _pubsub(quick, SUBSCRIBERS, fanout=True)


async def _queue_round_trips(count: int) -> Measurement:
    queue: asyncio.Queue[int] = asyncio.Queue(maxsize=QUEUE_MAXSIZE)
    return await round_trips(queue.put, queue.get, count)


latency = latency_scenario(_connector, _queue_round_trips, BASELINE_QUEUE, maxsize=QUEUE_MAXSIZE)
"""One item at a time through the channel, beside the same round trip on a bare queue."""


def run(quick: bool) -> list[Row]:
    """Runs every scenario and returns one row each (`connector_core.benchmarking.ROW_KEYS`).

    Args:
        quick: Run a short version (a few seconds) instead of the full one.

    Raises:
        RuntimeError: If a run loses or duplicates messages.
    """
    scenarios = [pipeline, pubsub_1, pubsub_4, pubsub_4_fanout, latency]
    return run_scenarios(
        "asyncio", [*scenarios, *machine_scenarios(_connector, {}, only=["batch"])], quick
    )
