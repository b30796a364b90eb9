"""A lone `send()` is sealed and shipped at once (bursts in runs: the conformance suite)."""

from __future__ import annotations

import asyncio

from connector_core.spec import ConnectorMode
from connector_core.testing import STEP_TIMEOUT
from connector_core.testing import unique_spec as spec
from connector_zmq import ZMQConnector


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
