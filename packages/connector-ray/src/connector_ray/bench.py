"""Benchmark the Ray backend against `ray.util.queue.Queue`, in one run, on one Ray session.

Scenarios (small dicts; the producer and consumers are coroutines of this driver process, so
every message crosses to an actor and back, for the baseline and for the connector alike):

- ``bare queue``: the baseline, a `ray.util.queue.Queue` used one item per call
  (`await put_async(item)` / `await get_async()`), the way the reference backend used an actor;
- ``pipeline 1x1``: `RayConnector` in pipeline mode, one sender and one receiver;
- ``pubsub 1x4``: `RayConnector` in pubsub mode, one sender and four subscribers (throughput
  counts each item once, when the last subscriber has it);
- ``lone message``: one item in flight at a time (send, then receive it, then the next), for the
  connector and for the queue: the latency of a message that has no batch to join.

Throughput is items / (time the last consumer got the last item - time the producer
started). Latency percentiles come from the send timestamp carried in every 16th item.
Ray is started here with `num_cpus=2`, without the dashboard.

Usage: ``uv run python -m connector_ray.bench [--quick]`` (or ``tools/bench_ray.py``);
`run(quick)` returns the rows; `connector bench` finds it in the `connector.benchmarks` entry
points.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from typing import Any

__all__ = ["main", "run"]

_TARGETS = {"pipeline 1x1": 50.0}
"""Ratios to the bare queue that the issue asks for."""

_BASELINE = "ray.util.queue.Queue, 1 item per call"


def _item(i: int) -> dict[str, Any]:
    return {"i": i, "t": time.monotonic_ns(), "name": "reading", "value": i * 0.5}


def _percentiles(latencies: list[int]) -> tuple[float | None, float | None]:
    if not latencies:
        return None, None
    latencies.sort()
    return latencies[len(latencies) // 2] / 1000, latencies[int(len(latencies) * 0.99)] / 1000


async def _bare_queue(count: int) -> tuple[float, list[int]]:
    from ray.util.queue import Queue

    queue = Queue(maxsize=2000, actor_options={"num_cpus": 0})
    actor: Any = queue.actor
    await actor.qsize.remote()  # the actor is up before the clock starts
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


async def _lone_queue(count: int) -> tuple[float, list[int]]:
    from ray.util.queue import Queue

    queue = Queue(maxsize=2000, actor_options={"num_cpus": 0})
    actor: Any = queue.actor
    await actor.qsize.remote()
    latencies: list[int] = []
    started = time.monotonic()
    for i in range(count):
        await queue.put_async(_item(i))
        item = await queue.get_async()
        latencies.append(time.monotonic_ns() - item["t"])
    seconds = time.monotonic() - started
    queue.shutdown()
    return seconds, latencies


async def _lone_connector(count: int) -> tuple[float, list[int]]:
    from connector_core import ConnectorSpec
    from connector_ray import RayConnector

    tag = uuid.uuid4().hex[:8]
    connector = RayConnector(ConnectorSpec(f"lone-{tag}.out", f"sink-{tag}.in"))
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    latencies: list[int] = []
    started = time.monotonic()
    for i in range(count):
        await sender.send(_item(i))
        item = await receiver.recv()
        latencies.append(time.monotonic_ns() - item["t"])
    seconds = time.monotonic() - started
    await sender.close()
    await receiver.close()
    return seconds, latencies


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
        if n != count and mode == "pubsub":
            raise RuntimeError(f"subscriber {index} got {n} of {count} items")
        return time.monotonic()

    started = time.monotonic()
    results = await asyncio.gather(produce(), *(consume(i) for i in range(receivers)))
    ended = max(t for t in results if t is not None)
    return ended - started, latencies


def _row(
    scenario: str,
    backend: str,
    messages: int,
    seconds: float,
    latencies: list[int],
    baseline_rate: float | None,
) -> dict[str, object]:
    rate = messages / seconds
    p50, p99 = _percentiles(latencies)
    return {
        "backend": backend,
        "scenario": scenario,
        "baseline": _BASELINE,
        "messages": messages,
        "msgs_per_s": round(rate, 1),
        "baseline_msgs_per_s": round(baseline_rate, 1) if baseline_rate else None,
        "ratio": round(rate / baseline_rate, 1) if baseline_rate else None,
        "p50_us": round(p50, 1) if p50 is not None else None,
        "p99_us": round(p99, 1) if p99 is not None else None,
    }


async def _run(quick: bool) -> list[dict[str, object]]:
    bare_count = 300 if quick else 1500
    count = 10_000 if quick else 60_000
    seconds, latencies = await _bare_queue(bare_count)
    baseline = bare_count / seconds
    rows = [_row("bare queue", "ray.util.queue", bare_count, seconds, latencies, None)]
    for scenario, mode, receivers in (("pipeline 1x1", "pipeline", 1), ("pubsub 1x4", "pubsub", 4)):
        await _connector(mode, 200, receivers)  # warm-up: imports, worker pool
        seconds, latencies = await _connector(mode, count, receivers)
        rows.append(_row(scenario, "ray", count, seconds, latencies, baseline))
    lone = 100 if quick else 300
    seconds, latencies = await _lone_queue(lone)
    lone_baseline = lone / seconds
    rows.append(_row("lone message", "ray.util.queue", lone, seconds, latencies, None))
    seconds, latencies = await _lone_connector(lone)
    rows.append(_row("lone message", "ray", lone, seconds, latencies, lone_baseline))
    return rows


def run(quick: bool) -> list[dict[str, object]]:
    """Runs every scenario on a fresh local Ray (2 CPUs) and returns one row per scenario.

    Rows have the keys backend, scenario, baseline, messages, msgs_per_s,
    baseline_msgs_per_s, ratio, p50_us, p99_us (None where not measured).
    """
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    import ray

    started_here = not ray.is_initialized()
    if started_here:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        return asyncio.run(_run(quick))
    finally:
        if started_here:
            ray.shutdown()


def _table(rows: list[dict[str, object]]) -> str:
    keys = ["backend", "scenario", "messages", "msgs_per_s", "baseline_msgs_per_s", "ratio"]
    keys += ["p50_us", "p99_us"]
    cells = [[str(row[k]) for k in keys] for row in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    lines = ["  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)) for cell in cells]
    return "\n".join(lines)


def main() -> None:
    """Parses the command line, runs the benchmark and prints the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer messages (under ~30 s)")
    args = parser.parse_args()
    rows = run(args.quick)
    print(_table(rows))
    print(f"baseline: {_BASELINE}")
    for row in rows:
        target = _TARGETS.get(str(row["scenario"]))
        if target is not None and row["ratio"] is not None:
            verdict = "meets" if float(str(row["ratio"])) >= target else "MISSES"
            scenario, ratio = row["scenario"], row["ratio"]
            print(f"{scenario}: {ratio}x the baseline, {verdict} the {target}x target")


if __name__ == "__main__":
    main()
