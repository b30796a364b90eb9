"""A sender seals `send()`'s items in runs: one signed frame for what queued while it was busy."""

from __future__ import annotations

import asyncio

import pytest

from connector_core.spec import ConnectorMode
from connector_core.testing import STEP_TIMEOUT, drain
from connector_core.testing import unique_spec as spec
from connector_zmq import ZMQConnector


@pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)
async def test_a_burst_of_sends_arrives_whole_in_fewer_signed_frames(mode: ConnectorMode) -> None:
    connector = ZMQConnector(spec(mode), maxsize=1000)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    for i in range(500):
        await sender.send({"i": i})  # never waits: the outbox has room for all of them
    await sender.close()
    async with asyncio.timeout(STEP_TIMEOUT):
        got = await drain(receiver)
    assert got == [{"i": i} for i in range(500)]
    frames = sender._sealer.seq
    assert frames < 500 / 4, f"{frames} frames for 500 items sent in one burst"


async def test_a_lone_item_leaves_before_the_sender_yields_again() -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE))
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.send("lone")
    assert sender._sealer.seq == 1  # sealed and shipped within send(): no batch waited
    async with asyncio.timeout(STEP_TIMEOUT):
        assert await receiver.recv() == "lone"
    await sender.close()
    await receiver.close()
