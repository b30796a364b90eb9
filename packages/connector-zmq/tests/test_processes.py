"""k senders x m receivers, each in its own spawned process, sharing one pickled connector."""

from __future__ import annotations

import asyncio
import multiprocessing
from multiprocessing.process import BaseProcess
from typing import Any

import pytest

from connector_core.spec import ConnectorMode
from connector_core.testing import PROCESS_TIMEOUT, assert_delivered_once, drain, workers
from connector_core.testing import unique_spec as spec
from connector_zmq import ZMQConnector

SENDERS, RECEIVERS, COUNT = 3, 3, 200


@pytest.mark.crossprocess
@pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)
async def test_three_sender_and_three_receiver_processes_plus_the_creator(
    mode: ConnectorMode,
) -> None:
    ctx = multiprocessing.get_context("spawn")
    connector = ZMQConnector(spec(mode), maxsize=32)
    results: Any = ctx.Queue()
    processes: list[BaseProcess] = []
    local = await connector.connect_recv()  # the creator receives too
    try:
        readies = [ctx.Event() for _ in range(RECEIVERS)]
        for r, ready in enumerate(readies):
            receive = (connector, f"r{r}", ready, results)
            processes.append(ctx.Process(target=workers.receive_all, args=receive, daemon=True))
            processes[-1].start()
        for ready in readies:
            assert await asyncio.to_thread(ready.wait, PROCESS_TIMEOUT)
        for s in range(SENDERS):
            send = (connector, f"s{s}", COUNT, results)
            processes.append(ctx.Process(target=workers.send_range, args=send, daemon=True))
            processes[-1].start()
        mine = asyncio.create_task(drain(local, PROCESS_TIMEOUT))
        reports = {}
        for _ in range(SENDERS + RECEIVERS):
            name, status, payload = await asyncio.to_thread(results.get, True, PROCESS_TIMEOUT)
            assert status == "ok", f"worker {name} failed:\n{payload}"
            reports[name] = payload
        received = [[tuple(i) for i in reports[f"r{r}"]] for r in range(RECEIVERS)]
        received.append(await mine)
        for process in processes:
            await asyncio.to_thread(process.join, PROCESS_TIMEOUT)
            assert process.exitcode == 0
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join()
        await local.close()
        results.close()
        results.join_thread()
    expected = [(f"s{s}", i) for s in range(SENDERS) for i in range(COUNT)]
    assert_delivered_once(received, expected, mode)
    assert connector._rendezvous is not None
    await asyncio.to_thread(connector._rendezvous.join, 10)
    assert not connector._rendezvous.running, "the rendezvous outlived the connection"
