"""The last parties of a connection closing at the same moment: no close waits for a timeout.

One of them deletes the connection's broker objects, control log included, while another
still reads the log; the broker then cancels that reader's consumer. That cancel must end the
reader's wait (the log is gone: someone else cleans up), and must neither make the process's
shared broker connection recover nor declare the deleted log again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from aiormq.exceptions import ChannelNotFoundEntity
from dependency_injector import providers

from connector_core.di import container
from connector_core.settings import Settings
from connector_core.spec import ConnectorMode
from connector_core.testing import STEP_TIMEOUT, transport_of, unique_spec
from connector_rabbitmq import RabbitMQConnector
from connector_rabbitmq.cleanup import leftovers
from connector_rabbitmq.control import OPEN, ControlLog, ControlLogGoneError
from connector_rabbitmq.receiver import RabbitMQReceiver
from connector_rabbitmq.settings import RabbitMQSettings

pytestmark = [pytest.mark.rabbitmq, pytest.mark.asyncio(loop_scope="session")]

LONG_UNREACHABLE = 120.0
"""An unreachable timeout far beyond the bound the closes are given: a hang shows as a timeout."""
CLOSE_BOUND = 20.0
ROUNDS = 4


@pytest.fixture
def long_unreachable_timeout(broker: str) -> Iterator[None]:
    settings = RabbitMQSettings(RABBITMQ_URL=broker, unreachable_timeout=LONG_UNREACHABLE)
    with container.rabbitmq_settings.override(providers.Object(settings)):
        yield


@pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)
@pytest.mark.usefixtures("long_unreachable_timeout")
async def test_the_last_sender_and_receiver_closing_together_both_finish_and_clean_up(
    mode: ConnectorMode,
) -> None:
    conn = await container.rabbitmq_conn()
    for _ in range(ROUNDS):
        connector = RabbitMQConnector(unique_spec(mode), settings=Settings(end_grace=0.2))
        receiver = await connector.connect_recv()
        queues = (transport_of(receiver, RabbitMQReceiver).consumer.queue.name,)
        sender = await connector.connect_send()
        await sender.send(1)
        async with asyncio.timeout(STEP_TIMEOUT):
            assert await receiver.recv() == 1
        async with asyncio.timeout(CLOSE_BOUND):
            await asyncio.gather(sender.close(), receiver.close())
        assert await leftovers(conn, connector.names, queues) == []


async def test_a_reader_whose_log_is_deleted_stops_waiting_and_the_log_stays_deleted(
    broker: str,
) -> None:
    conn = await container.rabbitmq_conn()
    name = f"connector.test-gone-{uuid.uuid4().hex}.ctl"
    channel = conn.channel()
    await channel.initialize()
    log = ControlLog(channel, name)
    try:
        await log.start()
        waiting = asyncio.ensure_future(log.wait_for(OPEN, "nobody"))
        deleter = conn.channel()
        await deleter.initialize()
        await (await deleter.get_underlay_channel()).queue_delete(name)
        await deleter.close()
        async with asyncio.timeout(CLOSE_BOUND):
            with pytest.raises(ControlLogGoneError):
                await waiting
        assert not log.reading
        probe = conn.channel()
        await probe.initialize()
        try:
            with pytest.raises(ChannelNotFoundEntity):
                await probe.declare_queue(name, passive=True)
        finally:
            await probe.close()
    finally:
        await channel.close()
