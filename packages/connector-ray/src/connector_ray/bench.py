"""Benchmark the Ray backend against `ray.util.queue.Queue`, in one run, on one Ray session.

Scenarios (small dicts; the producer and consumers are coroutines of this driver process, so
every message crosses to an actor and back, for the baseline and for the connector alike),
each measuring the bare queue and then the connector:

- the baseline, a `ray.util.queue.Queue` used one item per call (`await put_async(item)` /
  `await get_async()`), the way the reference backend used an actor;
- ``pipeline 1x1``: `RayConnector` in pipeline mode, one sender and one receiver;
- ``pubsub 1x4``: `RayConnector` in pubsub mode, one sender and four subscribers (throughput
  counts each item once, when the last subscriber has it);
- ``latency 1x1``: one item (an int) in flight at a time (``send()``, then awaiting
  ``recv()``, then the next), 500 round trips (200 with ``--quick``), for the connector and
  for the queue (``put_async`` then ``get_async``): the latency of a message that has no
  batch to join. The ratio is bare p50 / our p50.

Throughput is items / (time the last consumer got the last item - time the producer
started). Latency samples come from the send timestamp carried in every 16th item (round trips
for ``latency 1x1``). Ray is started here with `num_cpus=2`, without the dashboard.
The baseline queue's actor starts as the hubs do (on this interpreter, also under `uv run`),
so the comparison stays fair.

`run(quick)` returns the rows; `connector bench` finds it in the `connector.benchmarks` entry
points (``uv run connector bench --backends ray --quick``).

Beside those, the scenarios of `connector_core.benchmarking.machine` measure it against the
machine's floor in one process: ``vs_queue`` and ``batch`` (``send_many``/``recv_many`` of
1000) beside a bare ``asyncio.Queue(1000)``, ``pubsub_vs_pipeline`` beside its own pipeline,
and ``large`` (16 MiB items) beside HMAC-SHA256 over the same bytes, with issue 14's targets
(`MACHINE_TARGETS`).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from connector_core import ConnectorMode
from connector_core.benchmarking import (
    RATIO_OF_P50,
    Comparison,
    Measurement,
    Row,
    expect_count,
    machine_scenarios,
    round_trips,
    run_scenarios,
)

__all__ = ["latency", "pipeline", "pubsub", "run"]

BASELINE = "ray.util.queue.Queue, 1 item per call"


def _item(i: int) -> dict[str, Any]:
    return {"i": i, "t": time.monotonic_ns(), "name": "reading", "value": i * 0.5}


async def _queue() -> Any:
    """A bare queue whose actor is up, started the way the connector's hubs are."""
    from ray.util.queue import Queue

    from connector_ray.runtime import own_actor_options

    queue = Queue(maxsize=2000, actor_options=own_actor_options({"num_cpus": 0}))
    actor: Any = queue.actor
    await actor.qsize.remote()  # the actor is up before the clock starts
    return queue


async def _bare_queue(count: int) -> tuple[float, list[int]]:
    queue = await _queue()
    latencies: list[int] = []

    async def produce() -> None:
        for i in range(count):
            await queue.put_async(_item(i))

    async def consume() -> float:
        for n in range(count):
            item = await queue.get_async()
            if n % 16 == 0:
                latencies.append(time.monotonic_ns() - item["t"])
        return time.monotonic()

    started = time.monotonic()
    _, ended = await asyncio.gather(produce(), consume())
    queue.shutdown()
    return ended - started, latencies


async def _queue_round_trips(count: int) -> Measurement:
    queue = await _queue()
    try:
        return await round_trips(queue.put_async, queue.get_async, count)
    finally:
        queue.shutdown()


async def _connector_round_trips(count: int) -> Measurement:
    from connector_core import ConnectorSpec
    from connector_ray import RayConnector

    tag = uuid.uuid4().hex[:8]
    connector = RayConnector(ConnectorSpec(f"lone-{tag}.out", f"sink-{tag}.in"))
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    try:
        return await round_trips(sender.send, receiver.recv, count)
    finally:
        await sender.close()
        await receiver.close()


async def _connector(mode: str, count: int, receivers: int) -> tuple[float, list[int]]:
    from connector_core import ConnectorSpec
    from connector_ray import RayConnector

    tag = uuid.uuid4().hex[:8]
    connector = RayConnector(ConnectorSpec(f"bench-{tag}.out", f"sink-{tag}.in", mode))
    channels = [await connector.connect_recv() for _ in range(receivers)]
    sender = await connector.connect_send()
    latencies: list[int] = []

    async def produce() -> None:
        for i in range(count):
            await sender.send(_item(i))
        await sender.close()

    async def consume(index: int) -> float:
        channel = channels[index]
        n = 0
        async for item in channel:
            if index == 0 and n % 16 == 0:
                latencies.append(time.monotonic_ns() - item["t"])
            n += 1
        await channel.close()
        if mode == "pubsub":
            expect_count(f"subscriber {index}", n, count)
        return time.monotonic()

    started = time.monotonic()
    results = await asyncio.gather(produce(), *(consume(i) for i in range(receivers)))
    ended = max(t for t in results if t is not None)
    return ended - started, latencies


async def _pair(quick: bool, mode: str, receivers: int) -> tuple[Measurement, Measurement]:
    bare_count = 300 if quick else 1500
    count = 10_000 if quick else 60_000
    bare = Measurement(bare_count, *await _bare_queue(bare_count))
    await _connector(mode, 200, receivers)  # warm-up: imports, worker pool
    return Measurement(count, *await _connector(mode, count, receivers)), bare


async def pipeline(quick: bool) -> Comparison:
    """One sender, one receiver, against the bare queue (the issue asks for 50x)."""
    ours, bare = await _pair(quick, "pipeline", 1)
    return Comparison("pipeline 1x1", BASELINE, ours, bare, 50.0)


async def pubsub(quick: bool) -> Comparison:
    """One sender, four subscribers, against the bare queue."""
    ours, bare = await _pair(quick, "pubsub", 4)
    return Comparison("pubsub 1x4", BASELINE, ours, bare)


async def latency(quick: bool) -> Comparison:
    """One item in flight at a time, through the connector and the bare queue (asks 1.0)."""
    count = 200 if quick else 500
    bare = await _queue_round_trips(count)
    ours = await _connector_round_trips(count)
    baseline = "ray.util.queue.Queue put_async/get_async, one in flight"
    return Comparison("latency 1x1", baseline, ours, bare, 1.0, RATIO_OF_P50)


def run(quick: bool) -> list[Row]:
    """Runs every scenario on a fresh local Ray (2 CPUs); returns one row each.

    The rows have the keys in `connector_core.benchmarking.ROW_KEYS`.
    """
    import ray

    started_here = not ray.is_initialized()
    if started_here:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        machine = machine_scenarios(_machine_connector, MACHINE_TARGETS)
        return run_scenarios("ray", [pipeline, pubsub, latency, *machine], quick)
    finally:
        if started_here:
            ray.shutdown()


MACHINE_TARGETS = {"vs_queue": 0.10, "batch": 0.5, "pubsub_vs_pipeline": 0.5, "large": 0.5}
"""Issue 14's targets for the scenarios of `connector_core.benchmarking.machine`."""


def _machine_connector(mode: ConnectorMode, maxsize: int) -> Any:
    from connector_core import ConnectorSpec
    from connector_ray import RayConnector

    tag = uuid.uuid4().hex[:8]
    return RayConnector(ConnectorSpec(f"bench-{tag}.out", f"sink-{tag}.in", mode), maxsize=maxsize)
