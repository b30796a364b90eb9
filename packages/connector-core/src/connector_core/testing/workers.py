"""Entry points of the processes the conformance suite spawns (importable by `spawn` children).

Each worker unpickles a connector in a fresh interpreter, joins the connection and reports to
the parent through a multiprocessing queue as `(name, "ok" | "error", payload)`.
"""

from __future__ import annotations

import asyncio
import functools
import traceback
from collections.abc import Callable, Coroutine
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import Any

from connector_core.connector import Connector
from connector_core.testing.harness import PROCESS_TIMEOUT

__all__ = ["END", "receive_all", "receive_and_report", "receive_each", "send_range"]


def _report(results: Queue[Any], name: str, body: Callable[[], Coroutine[Any, Any, Any]]) -> None:
    try:
        payload = asyncio.run(body())
    except BaseException:
        results.put((name, "error", traceback.format_exc()))
    else:
        results.put((name, "ok", payload))


async def _receive_to_end(connector: Connector, connected: Callable[[], object]) -> list[Any]:
    """Connects a receiver, calls `connected`, returns every item once the connection ended."""
    channel = await connector.connect_recv()
    connected()
    items: list[Any] = []
    async with asyncio.timeout(PROCESS_TIMEOUT):
        async for item in channel:
            items.append(item)
    await channel.close()
    return items


def receive_all(connector: Connector, name: str, ready: Event, results: Queue[Any]) -> None:
    """Connects a receiver, signals `ready`, receives until the end and reports the items."""
    _report(results, name, lambda: _receive_to_end(connector, ready.set))


def receive_each(
    connectors: list[Connector], name: str, ready: Queue[Any], results: Queue[Any]
) -> None:
    """`receive_all` on each connector in turn, in one process (no spawn per connection).

    Puts the connector's index on `ready` once its receiver is connected, and reports
    `(f"{name}{index}", status, items)` on `results` once that connection has ended.
    """
    for index, connector in enumerate(connectors):
        connected = functools.partial(ready.put, index)
        _report(results, f"{name}{index}", functools.partial(_receive_to_end, connector, connected))


def send_range(
    connector: Connector,
    name: str,
    count: int,
    results: Queue[Any],
    ready: Event | None = None,
    go: Event | None = None,
) -> None:
    """Connects a sender, signals `ready`, waits for `go`, sends `(name, 0..count-1)`, closes.

    The `go` barrier makes every sender process connect before any of them sends: a
    connection ends when all of its senders have closed, so a fast sender that finished
    before a slow one even connected would rightly end the stream for everyone.
    """

    async def body() -> int:
        channel = await connector.connect_send()
        if ready is not None:
            ready.set()
        if go is not None and not await asyncio.to_thread(go.wait, PROCESS_TIMEOUT):
            raise TimeoutError("the parent never said go")
        async with asyncio.timeout(PROCESS_TIMEOUT):
            for i in range(count):
                await channel.send((name, i))
            await channel.close()
        return count

    _report(results, name, body)


def receive_and_report(connector: Connector, name: str, ready: Event, report: Any) -> None:
    """Connects a receiver and reports every item as `(name, item)` the moment it arrives.

    `report` is the sending end of a `multiprocessing.Pipe`: each report is written to the
    pipe before the next item is taken, so a process killed at any point has reported
    everything it took but the item in hand. Ends with `(name, END)`; a killed process never
    sends that. Used by fault tests that kill a receiver and must know what it had taken.
    """

    async def body() -> None:
        channel = await connector.connect_recv()
        ready.set()
        async with asyncio.timeout(PROCESS_TIMEOUT):
            async for item in channel:
                report.send((name, item))
        await channel.close()
        report.send((name, END))

    asyncio.run(body())


END = "<end>"
"""What `receive_and_report` sends after the last item."""
