"""Workers in spawned processes, for tests that send to another process.

`async with spawned_process(target, *args) as process:` runs `target(*args)` in a `spawn`
child for the block, then waits for it to exit (killing it if it does not within
`PROCESS_TIMEOUT`). `async with spawned_receiver(connector) as receiver:` is such a child
running `workers.receive_all`, entered once its channel is connected;
`await receiver.received()` gives what it got once the connection ended.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from multiprocessing.process import BaseProcess
from typing import Any

from connector_core.connector import Connector
from connector_core.testing import workers
from connector_core.testing.harness import PROCESS_TIMEOUT

__all__ = ["SPAWN", "SpawnedReceiver", "spawned_process", "spawned_receiver"]

SPAWN = multiprocessing.get_context("spawn")
"""The context of every child here: make the queues and events they share with it."""


class SpawnedReceiver:
    """A running `spawned_receiver()` child."""

    def __init__(self, process: BaseProcess, results: Any) -> None:
        """Wraps a started child.

        Args:
            process: The child (to signal or kill).
            results: Where it reports, as `workers.receive_all` does.
        """
        self.process = process
        self.results = results

    async def received(self) -> list[Any]:
        """Every item the child received, once its connection ended.

        Raises:
            AssertionError: If the child failed (its traceback is the message).
        """
        name, status, payload = await asyncio.to_thread(self.results.get, True, PROCESS_TIMEOUT)
        assert status == "ok", f"receiver {name} failed:\n{payload}"
        return list(payload)


@asynccontextmanager
async def spawned_process(target: Callable[..., object], *args: Any) -> AsyncIterator[BaseProcess]:
    """Runs `target(*args)` in a `spawn` child (a daemon) for the `async with` block.

    Args:
        target: An importable function.
        *args: Its arguments (pickled to the child).
    """
    process = SPAWN.Process(target=target, args=args, daemon=True)
    process.start()
    try:
        yield process
    finally:
        await asyncio.to_thread(process.join, PROCESS_TIMEOUT)
        if process.is_alive():
            process.kill()
            process.join()


@asynccontextmanager
async def spawned_receiver(connector: Connector) -> AsyncIterator[SpawnedReceiver]:
    """Runs a receiver of `connector` in a spawned process for the `async with` block.

    Args:
        connector: The connector (pickled to the child).

    Raises:
        AssertionError: If the child does not connect within `PROCESS_TIMEOUT`.
    """
    results: Any = SPAWN.Queue()
    ready = SPAWN.Event()
    try:
        async with spawned_process(workers.receive_all, connector, "r", ready, results) as child:
            connected = await asyncio.to_thread(ready.wait, PROCESS_TIMEOUT)
            assert connected, f"the receiver process did not connect within {PROCESS_TIMEOUT} s"
            yield SpawnedReceiver(child, results)
    finally:
        results.close()
