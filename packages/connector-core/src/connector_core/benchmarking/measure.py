"""Timing and percentiles: what one scenario measures, and the helpers to measure it.

A `Measurement` is one side of a scenario (the backend, or the bare transport): how many
messages took how many seconds, and one-hop latency samples in nanoseconds. A `Comparison`
holds both sides, measured in the same run, and the ratio the backend's issue asks for:
of throughput (ours / bare msgs/s), or of latency for a ``latency`` scenario (bare p50 /
our p50, `round_trips()` measures each side).
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "RATIO_OF_MSGS",
    "RATIO_OF_P50",
    "Comparison",
    "Measurement",
    "Scenario",
    "best_of",
    "expect_count",
    "percentile_us",
    "pooled",
    "round_trips",
]

RATIO_OF_MSGS = "msgs/s"
"""A comparison's ratio is ours / bare messages per second (the default)."""
RATIO_OF_P50 = "p50"
"""A comparison's ratio is bare p50 / our p50 latency (a ``latency`` scenario)."""


@dataclass(frozen=True)
class Measurement:
    """One side of a scenario: throughput, and latency samples if the scenario took any."""

    messages: int
    """Messages moved (each counted once, however many receivers got it)."""
    seconds: float
    """How long moving them took."""
    latencies_ns: Sequence[int] = ()
    """One-hop latency samples in nanoseconds (how they were taken is the scenario's to say)."""

    @property
    def rate(self) -> float:
        """Messages per second."""
        return self.messages / self.seconds


def pooled(parts: Sequence[Measurement]) -> Measurement:
    """One measurement of several runs of the same thing: their messages, time and samples.

    Args:
        parts: The runs.
    """
    return Measurement(
        sum(part.messages for part in parts),
        sum(part.seconds for part in parts),
        [sample for part in parts for sample in part.latencies_ns],
    )


@dataclass(frozen=True)
class Comparison:
    """The backend beside the bare transport underneath it, both measured in the same run."""

    scenario: str
    """What was measured, such as ``pipeline 1x1``."""
    baseline: str
    """What the bare transport did, such as ``asyncio.Queue(maxsize=1000)``."""
    ours: Measurement
    bare: Measurement
    target: float | None = None
    """The lowest ratio the backend's issue asks for, if any."""
    ratio_of: str = RATIO_OF_MSGS
    """What the ratio compares: `RATIO_OF_MSGS` (ours / bare msgs/s) or `RATIO_OF_P50`
    (bare p50 / our p50, for one item in flight at a time; above 1 means we are faster)."""
    item_bytes: int | None = None
    """Bytes of one item when the scenario moves large ones (the rows then give MiB/s)."""

    def __post_init__(self) -> None:
        if self.ratio_of not in (RATIO_OF_MSGS, RATIO_OF_P50):
            raise ValueError(
                f"ratio_of must be {RATIO_OF_MSGS!r} or {RATIO_OF_P50!r}, not {self.ratio_of!r}"
            )


Scenario = Callable[[bool], Comparison | Awaitable[Comparison]]
"""A function ``scenario(quick) -> Comparison``, plain or async."""


def percentile_us(samples_ns: Sequence[int], q: float) -> float | None:
    """Returns the `q`-th percentile (nearest rank) of `samples_ns`, in microseconds.

    Args:
        samples_ns: Latency samples in nanoseconds.
        q: The percentile, from 0 to 100.

    Returns:
        The percentile rounded to 0.1 us, or None without samples.
    """
    if not samples_ns:
        return None
    ordered = sorted(samples_ns)
    rank = min(len(ordered), max(1, math.ceil(q / 100 * len(ordered))))
    return round(ordered[rank - 1] / 1000, 1)


def expect_count(what: str, got: int, expected: int) -> None:
    """Checks that a run moved every message, no more and no fewer.

    Raises:
        RuntimeError: If `got` is not `expected`.
    """
    if got != expected:
        raise RuntimeError(f"{what}: received {got} messages, expected {expected}")


async def best_of(trials: int, *runs: Callable[[], Awaitable[float]]) -> list[float]:
    """Runs each of `runs` `trials` times, interleaved; returns each one's fastest seconds.

    Interleaving puts each trial of the backend right next to a trial of its baseline, so
    both see the same load on a shared machine.
    """
    best = [math.inf] * len(runs)
    for _ in range(trials):
        for index, trial in enumerate(runs):
            best[index] = min(best[index], await trial())
    return best


async def round_trips(
    send: Callable[[Any], Awaitable[object]],
    recv: Callable[[], Awaitable[object]],
    count: int,
    warmup: int = 20,
    item: Callable[[int], object] | None = None,
) -> Measurement:
    """Times `count` round trips of one item at a time: ``await send(i)``, then ``await recv()``.

    The latency of a lone item: nothing else is in flight, so no batch can form. The first
    `warmup` round trips are not timed (connections, imports, caches).

    Args:
        send: Sends item `i` (a small int, or ``item(i)``).
        recv: Returns the next item; it must be the one just sent.
        count: Timed round trips.
        warmup: Untimed round trips first.
        item: Optional; makes the item of round trip `i` (made before its clock starts);
            by default the item is `i` itself.

    Returns:
        `count` messages, their total seconds, and one sample (ns) per round trip.

    Raises:
        RuntimeError: If `recv()` returns another item than the one just sent.
    """
    samples: list[int] = []
    for i in range(warmup + count):
        sent = i if item is None else item(i)
        start = time.perf_counter_ns()
        await send(sent)
        got = await recv()
        elapsed = time.perf_counter_ns() - start
        if got != sent:
            raise RuntimeError(f"round trip {i}: received {got!r}, expected {sent!r}")
        if i >= warmup:
            samples.append(elapsed)
    return Measurement(count, sum(samples) / 1e9, samples)
