"""Conformance: a pickled connector connects processes started with `spawn`."""

from __future__ import annotations

import asyncio
import multiprocessing
from multiprocessing.process import BaseProcess
from typing import Any

import pytest

from connector_core.spec import ConnectorMode
from connector_core.testing import workers
from connector_core.testing.base import ConformanceBase
from connector_core.testing.harness import PROCESS_TIMEOUT, ConnectorFactory, assert_delivered_once

__all__ = ["ProcessTests"]

_SENDERS = 2
_RECEIVERS = 2
_COUNT = 150


class ProcessTests(ConformanceBase):
    """The same connector, pickled into fresh interpreters, forms one connection."""

    @pytest.mark.crossprocess
    @pytest.mark.timeout(PROCESS_TIMEOUT * 2)
    async def test_connector_pickled_to_spawned_processes_connects_them(
        self, connector_factory: ConnectorFactory, mode: ConnectorMode
    ) -> None:
        """Two sender and two receiver processes (spawn) share one connection, both modes.

        Troubleshooting:
            - The connector must carry where its transport lives (addresses, job id, key,
              cluster address): no process may assume it created the connection.
            - A sender process must flush before it exits (close waits for delivery).
            - `connect_recv()` must return only when subscribed: senders start after it.
            - Every sender connects before any sends (a barrier), so the connection must not
              end while one of its connected senders is still open.
        """
        if not self.cross_process:
            pytest.skip("the backend is in-process only")
        ctx = multiprocessing.get_context("spawn")
        results: Any = ctx.Queue()
        processes: list[BaseProcess] = []
        async with self.harness(connector_factory) as h:
            connector = h.connector(mode)
            try:
                readies = []
                for r in range(_RECEIVERS):
                    ready = ctx.Event()
                    readies.append(ready)
                    processes.append(
                        ctx.Process(
                            target=workers.receive_all,
                            args=(connector, f"r{r}", ready, results),
                            daemon=True,
                        )
                    )
                    processes[-1].start()
                for ready in readies:
                    assert await asyncio.to_thread(ready.wait, PROCESS_TIMEOUT), (
                        "a receiver process did not connect in time"
                    )
                go = ctx.Event()
                sender_readies = []
                for s in range(_SENDERS):
                    ready = ctx.Event()
                    sender_readies.append(ready)
                    processes.append(
                        ctx.Process(
                            target=workers.send_range,
                            args=(connector, f"s{s}", _COUNT, results, ready, go),
                            daemon=True,
                        )
                    )
                    processes[-1].start()
                for ready in sender_readies:
                    assert await asyncio.to_thread(ready.wait, PROCESS_TIMEOUT), (
                        "a sender process did not connect in time"
                    )
                go.set()
                reports = {}
                for _ in range(_SENDERS + _RECEIVERS):
                    name, status, payload = await asyncio.to_thread(
                        results.get, True, PROCESS_TIMEOUT
                    )
                    assert status == "ok", f"worker {name} failed:\n{payload}"
                    reports[name] = payload
                for process in processes:
                    await asyncio.to_thread(process.join, PROCESS_TIMEOUT)
            finally:
                for process in processes:
                    if process.is_alive():
                        process.kill()
                        process.join()
                results.close()
                results.join_thread()

        expected = [(f"s{s}", i) for s in range(_SENDERS) for i in range(_COUNT)]
        received = [map(tuple, reports[f"r{r}"]) for r in range(_RECEIVERS)]
        assert_delivered_once(received, expected, mode)
