"""Benchmark of the in-process backend: AsyncioChannel against a bare `asyncio.Queue`.

Registered as `asyncio` in the `connector.benchmarks` entry-point group, which
`connector bench` runs; `tools/bench_asyncio.py` is a thin wrapper around this module.

Everything runs in one process and one event loop, with one producer task:

- ``pipeline``: one producer, one consumer, through `AsyncioConnector` (``maxsize=1000``).
  Baseline: a bare ``asyncio.Queue(maxsize=1000)`` with ``put()``/``get()``.
- ``pubsub-1`` and ``pubsub-4``: one producer, one or four subscribers, each drained by its
  own task. A message counts once per ``send()``; the run ends when every subscriber has
  received every message. Each is compared with the same bare single-queue baseline as the
  pipeline (the issue's target is stated against it); ``pubsub-4`` also, for information,
  with a hand-written fan-out that puts each item into four bare queues.

Throughput is the best of several trials; each channel trial runs right next to its baseline
trial so both see the same load on a shared machine. Latency is measured separately, without
load: the producer sends one timestamped item and waits until every receiver has it before
the next, so p50/p99 are one hop (``send()`` called to ``recv()`` returned in the other task),
in microseconds, one sample per delivery.

Run ``uv run python -m connector_core.bench [--quick] [--check]`` (or
``tools/bench_asyncio.py``); ``connector bench`` and ``tools/bench.py`` call `run()` and
combine the rows with the other backends'.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from connector_core import AsyncioConnector, ConnectorMode, ConnectorSpec

__all__ = ["TARGETS", "main", "run"]

BACKEND = "asyncio"
QUEUE_MAXSIZE = 1000
SUBSCRIBERS = 4
BASELINE_QUEUE = f"asyncio.Queue(maxsize={QUEUE_MAXSIZE})"
BASELINE_FANOUT = f"{SUBSCRIBERS}x asyncio.Queue fan-out"

TARGETS: dict[tuple[str, str], float] = {
    ("pipeline", BASELINE_QUEUE): 0.5,
    (f"pubsub-{SUBSCRIBERS}", BASELINE_QUEUE): 0.1,
}
"""Minimum ratio (channel msgs/s over baseline msgs/s) that issue 2 asks for."""


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


def _percentile_us(samples_ns: Sequence[int], q: float) -> float:
    ordered = sorted(samples_ns)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index] / 1000


def _check_count(what: str, got: int, expected: int) -> None:
    if got != expected:
        raise RuntimeError(f"{what}: received {got} messages, expected {expected}")


# -- throughput: one trial each, returns seconds ------------------------------------------------


async def _channel_pipeline(n: int) -> float:
    connector = AsyncioConnector(_spec(ConnectorMode.PIPELINE), maxsize=QUEUE_MAXSIZE)
    tx = await connector.connect_send()
    rx = await connector.connect_recv()

    async def produce() -> None:
        for i in range(n):
            await tx.send(i)
        await tx.close()

    async def consume() -> int:
        count = 0
        async for _ in rx:
            count += 1
        return count

    start = time.perf_counter()
    count, _ = await asyncio.gather(consume(), produce())
    elapsed = time.perf_counter() - start
    _check_count("AsyncioChannel pipeline", count, n)
    return elapsed


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
    _check_count("asyncio.Queue pipeline", count, n)
    return elapsed


async def _channel_pubsub(n: int, subscribers: int = SUBSCRIBERS) -> float:
    connector = AsyncioConnector(_spec(ConnectorMode.PUBSUB), maxsize=QUEUE_MAXSIZE)
    tx = await connector.connect_send()
    receivers = [await connector.connect_recv() for _ in range(subscribers)]

    async def produce() -> None:
        for i in range(n):
            await tx.send(i)
        await tx.close()

    async def consume(index: int) -> int:
        count = 0
        async for _ in receivers[index]:
            count += 1
        return count

    start = time.perf_counter()
    producer = asyncio.create_task(produce())
    counts = await asyncio.gather(*(consume(i) for i in range(subscribers)))
    await producer
    elapsed = time.perf_counter() - start
    for count in counts:
        _check_count("AsyncioChannel pubsub subscriber", count, n)
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
        _check_count("asyncio.Queue fan-out subscriber", count, n)
    return elapsed


# -- latency: unloaded, one hop, returns samples in ns -----------------------------------------


async def _channel_latency(mode: ConnectorMode, receivers: int, samples: int) -> list[int]:
    connector = AsyncioConnector(_spec(mode), maxsize=QUEUE_MAXSIZE)
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
    _check_count("latency run deliveries", len(results), samples * len(recvs))
    return results


# -- the runs ------------------------------------------------------------------------------------


async def _best(trials: int, *runs: Callable[[], Awaitable[float]]) -> list[float]:
    """Runs each of `runs` `trials` times, interleaved; returns each one's fastest time."""
    best = [float("inf")] * len(runs)
    for _ in range(trials):
        for index, trial in enumerate(runs):
            best[index] = min(best[index], await trial())
    return best


def _row(
    scenario: str,
    baseline: str,
    messages: int,
    seconds: float,
    baseline_seconds: float,
    latency_ns: Sequence[int],
    baseline_latency_ns: Sequence[int],
) -> dict[str, object]:
    rate = messages / seconds
    baseline_rate = messages / baseline_seconds
    return {
        "backend": BACKEND,
        "scenario": scenario,
        "baseline": baseline,
        "messages": messages,
        "msgs_per_s": round(rate),
        "baseline_msgs_per_s": round(baseline_rate),
        "ratio": round(rate / baseline_rate, 3),
        "p50_us": round(_percentile_us(latency_ns, 50), 1),
        "p99_us": round(_percentile_us(latency_ns, 99), 1),
        "baseline_p50_us": round(_percentile_us(baseline_latency_ns, 50), 1),
        "baseline_p99_us": round(_percentile_us(baseline_latency_ns, 99), 1),
        "target": TARGETS.get((scenario, baseline)),
    }


async def _run(sizes: Sizes) -> list[dict[str, object]]:
    n_pipe, n_pub = sizes.pipeline_messages, sizes.pubsub_messages
    chan_pipe, queue_pipe = await _best(
        sizes.trials, lambda: _channel_pipeline(n_pipe), lambda: _queue_pipeline(n_pipe)
    )
    chan_pub1, queue_for_pub1 = await _best(
        sizes.trials, lambda: _channel_pubsub(n_pub, 1), lambda: _queue_pipeline(n_pub)
    )
    chan_pub, queue_for_pub, fanout = await _best(
        sizes.trials,
        lambda: _channel_pubsub(n_pub),
        lambda: _queue_pipeline(n_pub),
        lambda: _queue_fanout(n_pub),
    )
    samples = sizes.latency_samples
    lat_pipe = await _channel_latency(ConnectorMode.PIPELINE, 1, samples)
    lat_queue = await _queue_latency(1, samples)
    lat_pub1 = await _channel_latency(ConnectorMode.PUBSUB, 1, samples)
    lat_pub = await _channel_latency(ConnectorMode.PUBSUB, SUBSCRIBERS, samples)
    lat_fanout = await _queue_latency(SUBSCRIBERS, samples)
    pubsub = f"pubsub-{SUBSCRIBERS}"
    return [
        _row("pipeline", BASELINE_QUEUE, n_pipe, chan_pipe, queue_pipe, lat_pipe, lat_queue),
        _row("pubsub-1", BASELINE_QUEUE, n_pub, chan_pub1, queue_for_pub1, lat_pub1, lat_queue),
        _row(pubsub, BASELINE_QUEUE, n_pub, chan_pub, queue_for_pub, lat_pub, lat_queue),
        _row(pubsub, BASELINE_FANOUT, n_pub, chan_pub, fanout, lat_pub, lat_fanout),
    ]


def run(quick: bool) -> list[dict[str, object]]:
    """Runs the benchmark and returns one row per scenario and baseline.

    Args:
        quick: Run a short version (a few seconds) instead of the full one.

    Returns:
        Rows with the keys every registered benchmark returns (backend, scenario, baseline,
        messages, msgs_per_s, baseline_msgs_per_s, ratio, p50_us, p99_us), plus
        baseline_p50_us, baseline_p99_us and target (the issue's minimum ratio, or None).

    Raises:
        RuntimeError: If a run loses or duplicates messages.
    """
    return asyncio.run(_run(QUICK if quick else FULL))


def _verdict(row: dict[str, object]) -> str:
    target, ratio = row.get("target"), row.get("ratio")
    if not isinstance(target, float) or not isinstance(ratio, float):
        return "-"
    return f"{'ok' if ratio >= target else 'BELOW'} (>= {target}x)"


def format_rows(rows: Sequence[dict[str, object]]) -> str:
    """Returns the rows as an aligned text table."""
    columns = [
        ("scenario", "scenario"),
        ("baseline", "baseline"),
        ("messages", "messages"),
        ("msgs/s", "msgs_per_s"),
        ("base msgs/s", "baseline_msgs_per_s"),
        ("ratio", "ratio"),
        ("p50 us", "p50_us"),
        ("p99 us", "p99_us"),
        ("base p50 us", "baseline_p50_us"),
        ("base p99 us", "baseline_p99_us"),
    ]
    header = [title for title, _ in columns] + ["target"]
    body = [[str(row.get(key, "-")) for _, key in columns] + [_verdict(row)] for row in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        for line in [header, *body]
    ]
    return "\n".join(line.rstrip() for line in lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the benchmark from the command line and prints the table.

    Args:
        argv: Command-line arguments (default: `sys.argv[1:]`).

    Returns:
        0, or 1 with `--check` when a ratio is below the issue's target.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="short run (a few seconds)")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when a ratio is below its target"
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    print(
        f"asyncio backend, Python {sys.version.split()[0]}, best of {sizes.trials} trials; "
        f"latency: unloaded one-hop, {sizes.latency_samples} samples",
        flush=True,
    )
    rows = run(quick=args.quick)
    print(format_rows(rows))
    below = [row for row in rows if _verdict(row).startswith("BELOW")]
    if args.check and below:
        print(f"{len(below)} scenario(s) below target", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
