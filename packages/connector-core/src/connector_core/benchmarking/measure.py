"""Timing and percentiles: what one scenario measures, and the helpers to measure it.

A `Measurement` is one side of a scenario (the backend, or the bare transport): how many
messages took how many seconds, and one-hop latency samples in nanoseconds. A `Comparison`
holds both sides, measured in the same run, and the ratio the backend's issue asks for.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

__all__ = ["Comparison", "Measurement", "Scenario", "best_of", "expect_count", "percentile_us"]


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
    """The lowest ratio (ours / bare msgs/s) the backend's issue asks for, if any."""


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
