"""A sender seals `send()`'s items in runs: one signed frame for what queued while it was busy."""

from __future__ import annotations

import asyncio

import pytest

from connector_core.spec import ConnectorMode
from connector_core.testing import STEP_TIMEOUT, drain, unique_spec
from connector_rabbitmq import RabbitMQConnector

pytestmark = [pytest.mark.rabbitmq, pytest.mark.asyncio(loop_scope="session")]


@pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)
async def test_a_burst_of_sends_arrives_whole_in_fewer_signed_frames(
    broker: str, mode: ConnectorMode
) -> None:
    connector = RabbitMQConnector(unique_spec(mode), maxsize=1000)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    for i in range(500):
        await sender.send({"i": i})  # the outbox has room for most: runs form meanwhile
    await sender.close()
    async with asyncio.timeout(STEP_TIMEOUT):
        got = await drain(receiver)
    assert got == [{"i": i} for i in range(500)]
    frames = sender._sealer.seq
    assert frames < 500 / 4, f"{frames} frames for 500 items sent in one burst"
