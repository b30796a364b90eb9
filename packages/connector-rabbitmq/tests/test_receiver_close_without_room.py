"""A pipeline receiver's `close()` while the work queue has no room left.

A receiver that closes holding part of a batch gives the rest back as a message of its own
(`connector_rabbitmq.receiver`). It goes to the connection's returns queue, which has no
length limit, so the close neither waits for a reader nor falls back to requeueing the
whole message (which would deliver the items it had returned twice).
"""

from __future__ import annotations

import asyncio

import pytest

from connector_core.settings import Settings
from connector_core.spec import ConnectorMode
from connector_core.testing import STEP_TIMEOUT, drain, unique_spec
from connector_rabbitmq import RabbitMQConnector
from connector_rabbitmq.topology import limits

pytestmark = [pytest.mark.rabbitmq, pytest.mark.asyncio(loop_scope="session")]

MAXSIZE = 64


@pytest.mark.usefixtures("broker")
async def test_a_receiver_closing_beside_a_full_queue_gives_back_exactly_once() -> None:
    lim = limits(MAXSIZE)
    assert lim.queue_length is not None
    # the first receiver's window, the second's and the queue, all full
    count = lim.batch_items * (2 * lim.prefetch + lim.queue_length)
    connector = RabbitMQConnector(
        unique_spec(ConnectorMode.PIPELINE), maxsize=MAXSIZE, settings=Settings(end_grace=0.2)
    )
    first = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.send_many(range(count))
    async with asyncio.timeout(STEP_TIMEOUT):
        taken = [await first.recv()]  # the rest of its batch stays with the channel
    second = await connector.connect_recv()
    async with asyncio.timeout(STEP_TIMEOUT):
        await sender.flush()  # all confirmed: the second's window and the queue are full
        await first.close()  # nobody reads meanwhile
    await sender.close()
    rest = await drain(second)
    assert sorted(taken + rest) == list(range(count))
    assert len(taken + rest) == count  # none twice
