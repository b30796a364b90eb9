"""Attacks on a RabbitMQ connection by a party with broker credentials but no connector key.

The attacker runs in a separate process (`rabbitmq_attacker.py`); the test is the
legitimate sender and receiver, and asserts what they observe.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path

import aio_pika
import pytest

from connector_core import ConnectorMode, ConnectorSpec, Settings
from connector_core.exceptions import ChannelClosedError
from connector_core.testing.programs import run_program
from connector_rabbitmq import RabbitMQConnector
from connector_rabbitmq.cleanup import leftovers

pytestmark = pytest.mark.rabbitmq

ATTACKER = Path(__file__).with_name("rabbitmq_attacker.py")
ATTACK_TIMEOUT = 60.0
RUN_TIMEOUT = 60.0


def _connector(mode: ConnectorMode = ConnectorMode.PIPELINE) -> RabbitMQConnector:
    tag = uuid.uuid4().hex[:10]
    spec = ConnectorSpec(f"sec-{tag}.out", f"sink-{tag}.in", mode)
    return RabbitMQConnector(spec, job_id=f"security-{tag}", settings=Settings(end_grace=0.5))


async def _attack(*args: str) -> str:
    """Runs the attacker to completion in its own process; returns what it printed."""
    command = [sys.executable, str(ATTACKER), *args]
    result = await asyncio.to_thread(
        run_program, command, timeout=ATTACK_TIMEOUT, what="the attacker"
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


async def _receive_all(connector: RabbitMQConnector) -> tuple[list[object], int]:
    """A receiver's whole stream, and how many frames it rejected."""
    receiver = await connector.connect_recv()
    got: list[object] = []
    async with asyncio.timeout(RUN_TIMEOUT):
        while True:
            try:
                got.append(await receiver.recv())
            except ChannelClosedError:
                break
    await receiver.close()
    return got, receiver.statistics().rejected


async def test_junk_under_a_senders_first_message_id_does_not_drop_its_real_message(
    rabbitmq_url: str,
) -> None:
    connector = _connector()
    names = connector.names
    sender = await connector.connect_send()
    said = await _attack("forge-first-id", rabbitmq_url, names.control, names.work, "3")
    assert ".0" in said  # the junk waits in the queue ahead of the real first message
    for item in range(5):
        await sender.send(item)
    await sender.close()

    got, rejected = await _receive_all(connector)

    assert got == [0, 1, 2, 3, 4]
    assert rejected == 3


async def test_a_forged_join_cannot_make_cleanup_delete_a_queue_of_another_application(
    rabbitmq_url: str,
) -> None:
    victim = f"victim-{uuid.uuid4().hex[:10]}"
    owner = await aio_pika.connect_robust(rabbitmq_url)
    async with owner:
        channel = await owner.channel()
        await channel.declare_queue(victim, durable=True)
        await channel.default_exchange.publish(aio_pika.Message(b"keep me"), routing_key=victim)
        try:
            connector = _connector()
            sender = await connector.connect_send()
            await _attack("forge-join", rabbitmq_url, connector.names.control, victim)
            for item in range(3):
                await sender.send(item)
            await sender.close()
            got, _ = await _receive_all(connector)
            assert got == [0, 1, 2]
            assert await leftovers(owner, connector.names) == []  # the run cleaned up

            queue = await channel.declare_queue(victim, passive=True)  # raises if deleted
            kept = await queue.get(no_ack=True, fail=False, timeout=RUN_TIMEOUT)
            assert kept is not None
            assert kept.body == b"keep me"
        finally:
            await channel.queue_delete(victim)
