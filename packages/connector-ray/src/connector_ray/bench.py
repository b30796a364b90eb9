"""Benchmark the Ray backend against `ray.util.queue.Queue`, in one run, on one Ray session.

Ray is started here with `num_cpus=2`, without the dashboard. The bare queue's actor starts as
the hubs do (on this interpreter, also under `uv run`), so the comparison stays fair; it is
used one item per call (`await put_async(item)` / `await get_async()`), the way the reference
backend used an actor. The producer and consumers are coroutines of this driver process, so
every item crosses to an actor and back, for the queue and for `RayConnector` alike:

- ``pipeline 1x1`` and ``pubsub 1x4``: one sender, and one receiver or four subscribers
  (throughput counts each item once, when the last subscriber has it). Throughput is items /
  (time the last consumer got the last item, end of stream included - time the producer
  started); the latency samples come from the send time carried in every 16th item
  (`stamped_item`).
- ``latency 1x1``: the kit's (`connector_core.benchmarking.scenarios`), beside the queue's
  ``put_async`` then ``get_async``.
- ``large_signed``: 16 MiB items beside bare Ray moving them signed (`ray.put` and the
  queue, an HMAC-SHA256 on each side): what the object store allows a signed item.

With the machine's scenarios (`connector_core.benchmarking.machine`, issue 14's targets in
`TARGETS`). ``uv run connector bench --backends ray --quick`` runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import os
import pickle
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from connector_core import CHAN_MAXSIZE, ConnectorMode, ConnectorSpec
from connector_core import benchmarking as kit
from connector_core.benchmarking.machine import LARGE_BYTES

__all__ = ["large_signed", "latency", "pipeline", "pubsub", "run"]

BASELINE = "ray.util.queue.Queue, 1 item per call"
LONE_BASELINE = "ray.util.queue.Queue put_async/get_async, one in flight"
TARGETS = {
    "pipeline": 50.0,
    "latency": 1.0,
    "vs_queue": 0.10,
    "batch": 0.5,
    "pubsub_vs_pipeline": 0.5,
    "large": 0.5,
}
"""The lowest ratio the issues ask for, per scenario (issue 14's for the machine's)."""
LARGE_SIGNED_BASELINE = "ray.put + ray.util.queue.Queue(4), HMAC-SHA256 on each side"
LARGE_MAXSIZE = 4
"""``maxsize`` of ``large_signed`` on both sides, as in the machine's ``large``."""


def _make(mode: ConnectorMode, maxsize: int) -> Any:
    from connector_ray import RayConnector

    tag = uuid.uuid4().hex[:8]
    return RayConnector(ConnectorSpec(f"bench-{tag}.out", f"sink-{tag}.in", mode), maxsize=maxsize)


async def _queue(maxsize: int = 2000) -> Any:
    """A bare queue whose actor is up, started the way the connector's hubs are."""
    from ray.util.queue import Queue

    from connector_ray.runtime import own_actor_options

    queue = Queue(maxsize=maxsize, actor_options=own_actor_options({"num_cpus": 0}))
    actor: Any = queue.actor
    await actor.qsize.remote()  # the actor is up before the clock starts
    return queue


async def _bare_queue(count: int) -> tuple[float, list[int]]:
    queue = await _queue()
    latencies: list[int] = []

    async def produce() -> None:
        for i in range(count):
            await queue.put_async(kit.stamped_item(i))

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


@contextlib.asynccontextmanager
async def _open_queue() -> AsyncIterator[kit.BareRoundTrips]:
    """Yields the bare queue's round trips, on one queue for every latency round.

    An actor is a new process: a queue per round would time its start.
    """
    queue = await _queue()
    try:
        yield functools.partial(kit.round_trips, queue.put_async, queue.get_async)
    finally:
        queue.shutdown()


async def _connector(mode: ConnectorMode, count: int, receivers: int) -> tuple[float, list[int]]:
    connector = _make(mode, CHAN_MAXSIZE)
    channels = [await connector.connect_recv() for _ in range(receivers)]
    sender = await connector.connect_send()
    latencies: list[int] = []

    async def produce() -> None:
        for i in range(count):
            await sender.send(kit.stamped_item(i))
        await sender.close()

    async def consume(index: int) -> float:
        channel = channels[index]
        n = 0
        async for item in channel:
            if index == 0 and n % 16 == 0:
                latencies.append(time.monotonic_ns() - item["t"])
            n += 1
        await channel.close()
        if mode is ConnectorMode.PUBSUB:
            kit.expect_count(f"subscriber {index}", n, count)
        return time.monotonic()

    started = time.monotonic()
    results = await asyncio.gather(produce(), *(consume(i) for i in range(receivers)))
    ended = max(t for t in results if t is not None)
    return ended - started, latencies


async def _beside_queue(quick: bool, mode: ConnectorMode, receivers: int) -> kit.Comparison:
    bare_count = 300 if quick else 1500
    count = 10_000 if quick else 60_000
    bare = kit.Measurement(bare_count, *await _bare_queue(bare_count))
    await _connector(mode, 200, receivers)  # warm-up: imports, worker pool
    ours = kit.Measurement(count, *await _connector(mode, count, receivers))
    scenario = f"{mode.value} 1x{receivers}"
    return kit.Comparison(scenario, BASELINE, ours, bare, TARGETS.get(mode.value))


async def pipeline(quick: bool) -> kit.Comparison:
    """One sender, one receiver, against the bare queue (the issue asks for 50x).

    Args:
        quick: A short run.
    """
    return await _beside_queue(quick, ConnectorMode.PIPELINE, 1)


async def pubsub(quick: bool) -> kit.Comparison:
    """One sender, four subscribers, against the bare queue.

    Args:
        quick: A short run.
    """
    return await _beside_queue(quick, ConnectorMode.PUBSUB, 4)


async def _bare_signed_seconds(payload: bytes, count: int) -> float:
    """Seconds for bare Ray to move `count` signed copies of `payload`, as ours does.

    The producer signs each (HMAC-SHA256) and stores it (`ray.put` of a `PickleBuffer`),
    both in worker threads, then puts the tag and the reference in a `ray.util.queue.Queue`
    of `LARGE_MAXSIZE`; the consumer fetches the object, verifies the tag in a worker
    thread and copies the bytes out, as a `bytes` item arrives.
    """
    import ray

    key = os.urandom(32)
    queue = await _queue(LARGE_MAXSIZE)

    def tag_of(data: Any) -> bytes:
        return hmac.new(key, data, hashlib.sha256).digest()

    async def produce() -> None:
        for _ in range(count):
            tag = await asyncio.to_thread(tag_of, payload)
            ref = await asyncio.to_thread(ray.put, pickle.PickleBuffer(payload))
            await queue.put_async((tag, [ref]))  # in a list: the consumer fetches it

    async def consume() -> None:
        for _ in range(count):
            tag, (ref,) = await queue.get_async()
            view = await ref
            if not hmac.compare_digest(await asyncio.to_thread(tag_of, view), tag):
                raise RuntimeError("bare Ray: a large item did not verify")
            if len(bytes(view)) != len(payload):
                raise RuntimeError("bare Ray: a large item arrived cut")

    try:
        start = time.perf_counter()
        await asyncio.gather(produce(), consume())
        return time.perf_counter() - start
    finally:
        queue.shutdown()


async def large_signed(quick: bool) -> kit.Comparison:
    """16 MiB items beside bare Ray moving them signed: what the object store allows.

    The machine's ``large`` compares with HMAC-SHA256 alone; this row compares with Ray
    itself doing the work a signed item needs (one HMAC on each side, the object store
    between), the two interleaved, best of two.
    """
    count = 10 if quick else 20
    payload = os.urandom(LARGE_BYTES)

    async def ours_once() -> float:
        made = _make(ConnectorMode.PIPELINE, LARGE_MAXSIZE)
        return await kit.connector_throughput(made, count, 1, lambda i: payload)

    ours, bare = await kit.best_of(2, ours_once, lambda: _bare_signed_seconds(payload, count))
    return kit.Comparison(
        f"{LARGE_BYTES // 2**20} MiB items",
        LARGE_SIGNED_BASELINE,
        kit.Measurement(count, ours),
        kit.Measurement(count, bare),
        item_bytes=LARGE_BYTES,
    )


latency = kit.latency_scenario(
    _make, kit.OpenedOnce(_open_queue), LONE_BASELINE, TARGETS["latency"]
)
"""One item in flight at a time, through the connector and the bare queue (asks 1.0)."""


def run(quick: bool) -> list[kit.Row]:
    """Runs every scenario on a fresh local Ray (2 CPUs); returns one row each.

    The rows have the keys in `connector_core.benchmarking.ROW_KEYS`.

    Args:
        quick: Short runs (seconds) instead of the full ones.
    """
    import ray

    started_here = not ray.is_initialized()
    if started_here:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        machine = kit.machine_scenarios(_make, TARGETS)
        scenarios = [pipeline, pubsub, latency, *machine, large_signed]
        return kit.run_scenarios("ray", scenarios, quick)
    finally:
        if started_here:
            ray.shutdown()
