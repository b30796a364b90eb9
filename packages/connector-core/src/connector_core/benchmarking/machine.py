"""Scenarios measured against what the machine allows, the same for every backend.

A backend's own scenarios compare it with its bare transport. These compare it with the
machine's floor, in the same run and the same process:

- ``vs_queue``: items through a pipeline 1x1 with ``send()``/``recv()``, beside a bare
  ``asyncio.Queue(1000)`` moving the same small dicts one per await.
- ``batch``: the same items with ``send_many()``/``recv_many()`` in lists of
  `BATCH_ITEMS`, beside the same one-per-await queue. The channel's ``maxsize`` is
  `BATCH_MAXSIZE`: room for several lists on their way, as a user moving lists sizes it.
- ``pubsub_vs_pipeline``: the same items to four subscribers, beside the same backend's own
  pipeline 1x1 (what fan-out costs on this backend).
- ``large``: items of `LARGE_BYTES` (16 MiB ``bytes``), beside HMAC-SHA256 over the same
  bytes (the floor cost of a signed item); the rows also give MiB/s.

`machine_scenarios(name, make)` returns them for a backend; its benchmark adds them to its
own list, so ``connector bench --scenarios batch`` runs only that one.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

from connector_core.benchmarking.connectors import (
    MakeConnector,
    connector_throughput,
    new_connector,
)
from connector_core.benchmarking.measure import Comparison, Measurement, Scenario, best_of
from connector_core.channel import Channel
from connector_core.connector import Connector
from connector_core.spec import ConnectorMode

__all__ = [
    "BATCH_ITEMS",
    "BATCH_MAXSIZE",
    "LARGE_BYTES",
    "QUEUE_BASELINE",
    "MakeConnector",
    "connector_batches",
    "hmac_seconds",
    "machine_scenarios",
    "queue_seconds",
    "small_item",
]

BATCH_ITEMS = 1000
"""Items per `send_many()` list and per `recv_many()` in the ``batch`` scenario."""
BATCH_MAXSIZE = 8 * BATCH_ITEMS
"""``maxsize`` of the channels in the ``batch`` scenario: eight lists of `BATCH_ITEMS`."""
LARGE_BYTES = 16 * 2**20
"""Bytes of one item in the ``large`` scenario."""
QUEUE_BASELINE = "asyncio.Queue(1000), 1 per await"


def small_item(i: int) -> dict[str, Any]:
    """The small dict every throughput scenario moves."""
    return {"i": i, "kind": "event", "value": i * 0.5}


async def queue_seconds(count: int) -> float:
    """Seconds for a bare ``asyncio.Queue(1000)`` to move `count` small dicts, one per await."""
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=1000)

    async def produce() -> None:
        for i in range(count):
            await queue.put(small_item(i))
        await queue.put(None)

    async def consume() -> None:
        while await queue.get() is not None:
            pass

    start = time.perf_counter()
    await asyncio.gather(consume(), produce())
    return time.perf_counter() - start


async def hmac_seconds(payload: bytes, count: int) -> float:
    """Seconds to compute HMAC-SHA256 over `payload` `count` times (one key)."""
    key = os.urandom(32)
    start = time.perf_counter()
    for _ in range(count):
        hmac.new(key, payload, hashlib.sha256).digest()
    return time.perf_counter() - start


async def connector_batches(connector: Connector, count: int, batch: int) -> float:
    """Seconds to move `count` small dicts with `send_many` / `recv_many` lists of `batch`.

    Raises:
        RuntimeError: If the receiver got another number of items.
    """
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()

    async def take(channel: Channel) -> int:
        got = 0
        while got < count:
            got += len(await channel.recv_many(batch))
        return got

    start = time.perf_counter()
    consumer = asyncio.create_task(take(receiver))
    for first in range(0, count, batch):
        await sender.send_many([small_item(i) for i in range(first, min(first + batch, count))])
    got = await consumer
    elapsed = time.perf_counter() - start
    if got != count:
        raise RuntimeError(f"{type(connector).__name__} batches: received {got} of {count}")
    await sender.close()
    await receiver.close()
    return elapsed


def machine_scenarios(
    make: MakeConnector,
    targets: Mapping[str, float | None],
    quick_items: int = 20_000,
    full_items: int = 100_000,
    large_count: tuple[int, int] = (5, 20),
    only: Sequence[str] = (),
) -> list[Scenario]:
    """Returns the ``vs_queue``, ``batch``, ``pubsub_vs_pipeline`` and ``large`` scenarios.

    Args:
        make: Makes a fresh connector for a mode and maxsize.
        targets: The lowest ratio the issue asks for, per scenario name (missing: none).
        quick_items: Small items moved with ``--quick``.
        full_items: Small items moved otherwise.
        large_count: Large items moved (quick, full).
        only: Optional; the names of the scenarios to return (default: all four).
    """

    async def connector(mode: ConnectorMode, maxsize: int) -> Connector:
        return await new_connector(make, mode, maxsize)

    def items(quick: bool) -> int:
        return quick_items if quick else full_items

    async def one_by_one(mode: ConnectorMode, count: int, receivers: int = 1) -> float:
        return await connector_throughput(await connector(mode, 1000), count, receivers, small_item)

    async def vs_queue(quick: bool) -> Comparison:
        n = items(quick)
        ours, bare = await best_of(
            3, lambda: one_by_one(ConnectorMode.PIPELINE, n), lambda: queue_seconds(n)
        )
        return Comparison(
            "pipeline 1x1 vs queue",
            QUEUE_BASELINE,
            Measurement(n, ours),
            Measurement(n, bare),
            targets.get("vs_queue"),
        )

    async def batch(quick: bool) -> Comparison:
        n = items(quick)

        async def ours_once() -> float:
            made = await connector(ConnectorMode.PIPELINE, BATCH_MAXSIZE)
            return await connector_batches(made, n, BATCH_ITEMS)

        ours, bare = await best_of(3, ours_once, lambda: queue_seconds(n))
        return Comparison(
            f"batches of {BATCH_ITEMS}",
            QUEUE_BASELINE,
            Measurement(n, ours),
            Measurement(n, bare),
            targets.get("batch"),
        )

    async def pubsub_vs_pipeline(quick: bool) -> Comparison:
        n = items(quick) // 2
        ours, bare = await best_of(
            3,
            lambda: one_by_one(ConnectorMode.PUBSUB, n, receivers=4),
            lambda: one_by_one(ConnectorMode.PIPELINE, n),
        )
        return Comparison(
            "pubsub 1x4 vs own pipeline",
            "the same backend's pipeline 1x1",
            Measurement(n, ours),
            Measurement(n, bare),
            targets.get("pubsub_vs_pipeline"),
        )

    async def large(quick: bool) -> Comparison:
        count = large_count[0] if quick else large_count[1]
        payload = os.urandom(LARGE_BYTES)

        async def ours_once() -> float:
            made = await connector(ConnectorMode.PIPELINE, 4)
            return await connector_throughput(made, count, 1, lambda i: payload)

        ours, bare = await best_of(2, ours_once, lambda: hmac_seconds(payload, count))
        return Comparison(
            f"{LARGE_BYTES // 2**20} MiB items",
            "HMAC-SHA256 over the same bytes",
            Measurement(count, ours),
            Measurement(count, bare),
            targets.get("large"),
            item_bytes=LARGE_BYTES,
        )

    scenarios = [vs_queue, batch, pubsub_vs_pipeline, large]
    return [s for s in scenarios if not only or s.__name__ in only]
