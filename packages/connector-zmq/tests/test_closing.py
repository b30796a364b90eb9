"""A closing sender keeps its data links open until each receiver has read its END.

`connector_zmq.closing`: a socket closed while its receiver's CREDIT is still arriving is
reset by TCP, and the reset drops what the receiving side had not yet read, the sender's
last items and END among them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import Any

import pytest

from connector_core.buffers import LEND_BYTES
from connector_core.settings import Settings
from connector_core.spec import ConnectorMode
from connector_core.testing import (
    PROCESS_TIMEOUT,
    SPAWN,
    STEP_TIMEOUT,
    drain,
    spawned_process,
    spawned_receiver,
    transport_of,
    workers,
)
from connector_core.testing import unique_spec as spec
from connector_zmq import ZMQConnector
from connector_zmq.receiver import ReceiverLink

ROUNDS, ITEMS, SIZE = 50, 8, 4 * LEND_BYTES


@pytest.mark.crossprocess
async def test_senders_that_ship_everything_and_close_at_once_lose_nothing() -> None:
    # Before the END was confirmed, about one round in twenty lost its last items and the
    # END on a loaded machine (the receiver then waited for ever).
    no_grace = Settings(end_grace=0)  # one sender per connection: it ends when that one closes
    connectors = [
        ZMQConnector(spec(ConnectorMode.PIPELINE), maxsize=16, settings=no_grace)
        for _ in range(ROUNDS)
    ]
    ready: Any = SPAWN.Queue()
    results: Any = SPAWN.Queue()
    async with spawned_process(workers.receive_each, connectors, "r", ready, results):
        for index, connector in enumerate(connectors):
            assert await asyncio.to_thread(ready.get, True, PROCESS_TIMEOUT) == index
            sender = await connector.connect_send()
            items = [os.urandom(SIZE) for _ in range(ITEMS)]
            for item in items:  # the whole window: close() ships it all and returns
                await sender.send(item)
            await sender.close()
            name, status, received = await asyncio.to_thread(results.get, True, PROCESS_TIMEOUT)
            assert (name, status) == (f"r{index}", "ok"), received
            assert received == items, f"round {index}: {len(received)} of {ITEMS} items"


@pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)
async def test_close_waits_while_the_receiver_has_not_read_the_end(mode: ConnectorMode) -> None:
    connector = ZMQConnector(spec(mode), maxsize=16)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    link = transport_of(receiver, ReceiverLink)
    await link._stop_pump()  # the receiver reads nothing until its pump runs again
    await sender.send("item")
    closing = asyncio.create_task(sender.close())
    done, _ = await asyncio.wait([closing], timeout=1.0)
    assert not done, "close() returned before its receiver read the END"
    link._start()
    await asyncio.wait_for(closing, STEP_TIMEOUT)
    assert await drain(receiver) == ["item"]


@pytest.mark.crossprocess
async def test_close_does_not_wait_for_a_receiver_whose_process_died(
    caplog: pytest.LogCaptureFixture,
) -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE), maxsize=16)
    async with spawned_receiver(connector) as receiver:
        sender = await connector.connect_send()
        assert receiver.process.pid is not None
        os.kill(receiver.process.pid, signal.SIGKILL)  # it never answers the END
        with caplog.at_level(logging.WARNING, logger="connector_zmq"):
            await asyncio.wait_for(sender.close(), PROCESS_TIMEOUT)
        assert "did not confirm its END" not in caplog.text  # it learned of the death
