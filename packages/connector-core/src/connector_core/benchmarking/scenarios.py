"""Scenarios beside the bare transport, driven here: a backend supplies its bare side only.

- `latency_scenario()`: ``latency`` (row ``latency 1x1``): one item at a time, ``send()``
  then awaiting ``recv()``, through one pipeline 1x1 in this process, `ROUND_TRIPS` round
  trips (quick, full), beside the bare transport's same round trip, in `LATENCY_ROUNDS`
  alternating rounds (each side's samples pooled). Both sides stay open across the rounds
  (the bare one when given as `OpenedOnce`), as a user's connection would. The ratio is bare
  p50 / our p50.
- `broker_scenarios()`: ``pipeline``, ``pubsub`` and that ``latency``, for a backend that
  runs in this process and event loop against a server, beside the server's bare client
  loop (`BareBroker`). Each measures the bare loop, then the backend: a burst of `pair_item`
  items from one sender to one receiver, or to every one of `SUBSCRIBERS` subscribers, each
  drained by its own task (`connector_throughput()`: from the first send to the last item
  received, an item counted once per ``send()``). The bare loop moves fewer items
  (`Sizes`). The pipeline row also gives both sides' latency without load, one item in
  flight at a time: p50/p99 are one hop from ``send()`` called to ``recv()`` returned, in
  microseconds.

- `large_scenario()`: `LARGE_BYTES` ``bytes`` items through a pipeline 1x1 (``maxsize`` 4)
  beside the bare transport moving the same bytes (5 items, 20 without ``--quick``; best of
  two trials a side, interleaved): what the transport itself allows for large items, where
  the machine's ``large`` row compares with HMAC-SHA256.

`stamped_item` is the item of a benchmark that takes its latency samples from the items
themselves (the send time they carry) instead of from round trips.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from connector_core.benchmarking.connectors import (
    MakeConnector,
    connector_round_trips,
    connector_throughput,
    new_connector,
)
from connector_core.benchmarking.machine import LARGE_BYTES
from connector_core.benchmarking.measure import (
    RATIO_OF_P50,
    Comparison,
    Measurement,
    Scenario,
    best_of,
    pooled,
    round_trips,
)
from connector_core.channel import CHAN_MAXSIZE
from connector_core.spec import ConnectorMode

__all__ = [
    "FULL_SIZES",
    "LATENCY_ROUNDS",
    "QUICK_SIZES",
    "ROUND_TRIPS",
    "SUBSCRIBERS",
    "BareBroker",
    "BareRoundTrips",
    "BareThroughput",
    "OpenedOnce",
    "Sizes",
    "broker_scenarios",
    "large_scenario",
    "latency_scenario",
    "pair_item",
    "stamped_item",
]

ROUND_TRIPS = (300, 1000)
"""Timed round trips of the ``latency`` scenario: (with ``--quick``, without), on each side."""
LATENCY_ROUNDS = 5
"""Rounds of the ``latency`` scenario: each times a share of the round trips on the bare
transport, then on the connector, so that both sides see the machine in the same state (a
virtual machine's CPUs wake faster right after a busy spell: measured one after the other,
the side measured second had it better or worse)."""
SUBSCRIBERS = 4
"""Subscribers of `broker_scenarios`' ``pubsub``."""

BareRoundTrips = Callable[[int], Awaitable[Measurement]]
"""``bare(count)``: `count` round trips of one item at a time through the bare transport
(`connector_core.benchmarking.round_trips`), one latency sample each."""
BareThroughput = Callable[[int, int], Awaitable[float]]
"""``bare(count, receivers)``: seconds for the bare transport to move `count` `pair_item`
items to `receivers` receivers, every one of them getting every item."""


@dataclass(frozen=True)
class OpenedOnce:
    """A bare transport that the ``latency`` scenario opens once and uses in every round.

    For a transport slow to open (a Ray actor is a new process), so that its rounds time
    round trips, not starts.
    """

    open: Callable[[], AbstractAsyncContextManager[BareRoundTrips]]
    """Opens the transport; the context yields its round trips and closes it on exit."""


@contextlib.asynccontextmanager
async def _opened(bare: BareRoundTrips | OpenedOnce) -> AsyncIterator[BareRoundTrips]:
    if isinstance(bare, OpenedOnce):
        async with bare.open() as trips:
            yield trips
    else:
        yield bare


@dataclass(frozen=True)
class Sizes:
    """How much work one run of `broker_scenarios` does."""

    channel_messages: int
    """Items through the backend."""
    baseline_messages: int
    """Items through the bare transport (slower: fewer, for the same run time)."""
    latency_samples: int
    """Round trips, on each side, for the pipeline row's p50/p99."""


QUICK_SIZES = Sizes(channel_messages=20_000, baseline_messages=1_500, latency_samples=200)
"""`broker_scenarios`' work with ``--quick``."""
FULL_SIZES = Sizes(channel_messages=200_000, baseline_messages=10_000, latency_samples=2_000)
"""`broker_scenarios`' work without ``--quick``."""


def pair_item(i: int) -> tuple[int, str]:
    """Item `i` of `broker_scenarios`, for the backend and its bare transport alike.

    Args:
        i: The item's index.
    """
    return (i, "payload-0123456789")


def stamped_item(i: int) -> dict[str, Any]:
    """Item `i`, carrying its send time: ``t`` from `time.monotonic_ns()` (system-wide).

    Args:
        i: The item's index.
    """
    return {"i": i, "t": time.monotonic_ns(), "name": "reading", "value": i * 0.5}


def latency_scenario(
    make: MakeConnector,
    bare: BareRoundTrips | OpenedOnce,
    baseline: str,
    target: float | None = None,
    maxsize: int = CHAN_MAXSIZE,
    name: str = "latency",
    label: str = "latency 1x1",
) -> Scenario:
    """Returns the ``latency`` scenario of a backend: its round trips beside the bare ones.

    Args:
        make: Makes the backend's connector (a pipeline of `maxsize`).
        bare: The bare transport's round trips, measured first in each round: a function
            (which opens and closes the transport in each call), or `OpenedOnce`.
        baseline: What the bare transport does, for the row.
        target: Optional; the lowest bare p50 / our p50 the backend's issue asks for.
        maxsize: Optional; the connector's maxsize.
        name: Optional; the scenario's name (what ``connector bench --scenarios`` selects).
        label: Optional; the row's scenario column.
    """

    async def latency(quick: bool) -> Comparison:
        count = ROUND_TRIPS[0] if quick else ROUND_TRIPS[1]
        share = -(-count // LATENCY_ROUNDS)
        bare_parts: list[Measurement] = []
        our_parts: list[Measurement] = []
        connector = await new_connector(make, ConnectorMode.PIPELINE, maxsize)
        receiver = await connector.connect_recv()
        sender = await connector.connect_send()
        try:
            async with _opened(bare) as bare_trips:
                for _ in range(LATENCY_ROUNDS):  # side by side: both see the machine as it is
                    bare_parts.append(await bare_trips(share))
                    our_parts.append(await round_trips(sender.send, receiver.recv, share))
        finally:
            await sender.close()
            await receiver.close()
        return Comparison(
            label, baseline, pooled(our_parts), pooled(bare_parts), target, RATIO_OF_P50
        )

    latency.__name__ = latency.__qualname__ = name
    return latency


@dataclass(frozen=True)
class BareBroker:
    """A server's bare client loop, as a backend's benchmark measures it for `broker_scenarios`."""

    throughput: BareThroughput
    """Its throughput, for ``pipeline`` (one receiver) and ``pubsub`` (`SUBSCRIBERS`)."""
    round_trips: BareRoundTrips
    """Its round trips, for ``latency`` (and the pipeline row, unless `pipeline_round_trips`)."""
    labels: tuple[str, str, str]
    """What the loop does, for the rows: (``pipeline``, ``pubsub``, ``latency``)."""
    pipeline_round_trips: BareRoundTrips | None = None
    """The pipeline row's bare latency, if not `round_trips`."""


def broker_scenarios(
    make: MakeConnector,
    bare: BareBroker,
    targets: Mapping[str, float | None],
    maxsize: int = CHAN_MAXSIZE,
    names: tuple[str, str] = ("pipeline 1x1", f"pubsub 1x{SUBSCRIBERS}"),
    settle: Callable[[Any], Awaitable[None]] | None = None,
) -> list[Scenario]:
    """Returns the ``pipeline``, ``pubsub`` and ``latency`` scenarios of a backend on a server.

    Args:
        make: Makes the backend's connector (of `maxsize`).
        bare: The server's bare client loop.
        targets: The lowest ratio the backend's issues ask for, per scenario name (missing:
            none; ``pubsub`` has none).
        maxsize: Optional; the connector's maxsize.
        names: Optional; the rows' scenario names (pipeline, pubsub).
        settle: Optional; awaited on the sender after its last item, inside the timing
            (for example a broker's confirms).
    """
    pipeline_trips = bare.pipeline_round_trips or bare.round_trips

    async def burst(mode: ConnectorMode, count: int, receivers: int) -> float:
        connector = await new_connector(make, mode, maxsize)
        return await connector_throughput(connector, count, receivers, pair_item, settle)

    async def pipeline(quick: bool) -> Comparison:
        sizes = QUICK_SIZES if quick else FULL_SIZES
        bare_seconds = await bare.throughput(sizes.baseline_messages, 1)
        bare_trips = await pipeline_trips(sizes.latency_samples)
        ours = await burst(ConnectorMode.PIPELINE, sizes.channel_messages, 1)
        connector = await new_connector(make, ConnectorMode.PIPELINE, maxsize)
        trips = await connector_round_trips(connector, sizes.latency_samples)
        return Comparison(
            names[0],
            bare.labels[0],
            Measurement(sizes.channel_messages, ours, trips.latencies_ns),
            Measurement(sizes.baseline_messages, bare_seconds, bare_trips.latencies_ns),
            targets.get("pipeline"),
        )

    async def pubsub(quick: bool) -> Comparison:
        sizes = QUICK_SIZES if quick else FULL_SIZES
        bare_seconds = await bare.throughput(sizes.baseline_messages, SUBSCRIBERS)
        ours = await burst(ConnectorMode.PUBSUB, sizes.channel_messages, SUBSCRIBERS)
        return Comparison(
            names[1],
            bare.labels[1],
            Measurement(sizes.channel_messages, ours),
            Measurement(sizes.baseline_messages, bare_seconds),
        )

    latency = latency_scenario(
        make, bare.round_trips, bare.labels[2], targets.get("latency"), maxsize
    )
    return [pipeline, pubsub, latency]


def large_scenario(
    name: str,
    make: MakeConnector,
    bare_seconds: Callable[[bytes, int], Awaitable[float]],
    row: str,
    baseline: str,
    settle: Callable[[Any], Awaitable[None]] | None = None,
) -> Scenario:
    """Returns the scenario `name`: large items through the backend beside its bare transport.

    Args:
        name: The scenario's name (``connector bench --scenarios NAME``).
        make: Makes the backend's connector (pipeline, ``maxsize`` 4).
        bare_seconds: ``bare_seconds(payload, count)``: seconds for the bare transport to move
            `count` copies of `payload` to one receiver.
        row: The row's scenario text.
        baseline: What the bare transport does, for the row.
        settle: Optional; awaited on the sender after its last item, inside the timing.
    """

    async def large(quick: bool) -> Comparison:
        count = 5 if quick else 20
        payload = os.urandom(LARGE_BYTES)

        async def ours_once() -> float:
            connector = await new_connector(make, ConnectorMode.PIPELINE, 4)
            return await connector_throughput(connector, count, 1, lambda i: payload, settle)

        ours, bare = await best_of(2, ours_once, lambda: bare_seconds(payload, count))
        return Comparison(
            row,
            baseline,
            Measurement(count, ours),
            Measurement(count, bare),
            item_bytes=LARGE_BYTES,
        )

    large.__name__ = large.__qualname__ = name
    return large
