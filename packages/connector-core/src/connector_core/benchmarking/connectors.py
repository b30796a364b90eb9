"""Scenarios' measurements through a connector, the same for every backend that runs in-process.

`connector_throughput()` times a burst from one sender to one pipeline receiver or to every
subscriber; `connector_round_trips()` times lone items through one pipeline (`round_trips()`).
A backend's `bench.py` says how to make its connector (a `MakeConnector`, which
`new_connector()` calls) and measures its bare transport itself.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

from connector_core.benchmarking.measure import Measurement, expect_count, round_trips
from connector_core.channel import Channel
from connector_core.connector import Connector
from connector_core.spec import ConnectorMode

__all__ = ["MakeConnector", "connector_round_trips", "connector_throughput", "new_connector"]

MakeConnector = Callable[[ConnectorMode, int], Connector | Awaitable[Connector]]
"""Makes a fresh connector of a mode and maxsize (plain or async)."""


async def new_connector(make: MakeConnector, mode: ConnectorMode, maxsize: int) -> Connector:
    """Returns ``make(mode, maxsize)``, awaited if `make` is async.

    Args:
        make: The backend's way of making a fresh connector.
        mode: Pipeline or pubsub.
        maxsize: The connector's maxsize.
    """
    made = make(mode, maxsize)
    return await made if inspect.isawaitable(made) else made


async def connector_throughput(
    connector: Connector,
    count: int,
    receivers: int,
    item: Callable[[int], Any],
    settle: Callable[[Any], Awaitable[None]] | None = None,
) -> float:
    """Seconds to move `count` items from one sender to `receivers` receivers.

    In a pipeline the first receiver takes everything (the others only hold their place);
    in pubsub every receiver takes all `count` items.

    Args:
        connector: A fresh connector (its mode decides the shape).
        count: Items to send.
        receivers: Receivers to connect before the sender.
        item: Makes item `i`.
        settle: Optional; awaited on the sender after the last send, inside the timing
            (for example a broker's confirms).

    Raises:
        RuntimeError: If a receiver got another number of items.
    """
    mode = connector.spec.mode
    chans = [await connector.connect_recv() for _ in range(receivers)]
    sender = await connector.connect_send()

    async def take(channel: Channel, expected: int) -> int:
        for _ in range(expected):
            await channel.recv()
        return expected

    start = time.perf_counter()
    takers = chans[:1] if mode is ConnectorMode.PIPELINE else chans
    consumers = [asyncio.create_task(take(channel, count)) for channel in takers]
    for i in range(count):
        await sender.send(item(i))
    if settle is not None:
        await settle(sender)
    for got in await asyncio.gather(*consumers):
        expect_count(f"{type(connector).__name__} {mode.value}", got, count)
    elapsed = time.perf_counter() - start
    await sender.close()
    for channel in chans:
        await channel.close()
    return elapsed


async def connector_round_trips(connector: Connector, count: int) -> Measurement:
    """A pipeline's round trips: ``send()`` then ``recv()``, one item at a time.

    Args:
        connector: A fresh pipeline connector; its receiver connects first.
        count: Timed round trips (after `round_trips()`'s untimed warm-up).
    """
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    try:
        return await round_trips(sender.send, receiver.recv, count)
    finally:
        await sender.close()
        await receiver.close()
