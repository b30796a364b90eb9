"""A sender seals `send()`'s items in runs: one signed frame for what queued while it was busy."""

from __future__ import annotations

import asyncio

import pytest

from connector_core.spec import ConnectorMode
from connector_core.testing import STEP_TIMEOUT, drain, unique_spec
from connector_ray import RayConnector


@pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)
async def test_a_burst_of_sends_arrives_whole_in_fewer_signed_frames(mode: ConnectorMode) -> None:
    connector = RayConnector(unique_spec(mode), maxsize=1000)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    for i in range(500):
        await sender.send({"i": i})  # runs form while a put call is in flight
    await sender.close()
    async with asyncio.timeout(STEP_TIMEOUT * 4):
        got = await drain(receiver)
    assert got == [{"i": i} for i in range(500)]
    frames = sender._sealer.seq
    assert frames < 500 / 4, f"{frames} frames for 500 items sent in one burst"
