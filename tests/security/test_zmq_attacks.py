"""Attacks on a ZMQ connection by a local process without the connector's key.

The attacker runs in a separate process (`zmq_attacker.py`) and knows only a receiver's data
address; the test is the legitimate sender and receiver, and asserts what they observe.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
import zmq

from connector_core import ConnectorMode
from connector_core.testing import drain, unique_spec
from connector_core.testing.programs import run_program
from connector_zmq import ZMQChannel, ZMQConnector
from connector_zmq import protocol as p
from connector_zmq.receiver import ReceiverLink

ATTACKER = Path(__file__).with_name("zmq_attacker.py")
ATTACK_TIMEOUT = 120.0
"""Bound on the attacker's run: 200k frames, 80 MiB of big ones, one oversized frame."""

MAXSIZE = 64
ITEMS = 3 * MAXSIZE  # more than the receiver may buffer: the sender must wait for it
SMALL, BIG, BIG_BYTES = 200_000, 20, 4 * 1024 * 1024


def _receiver_link(channel: ZMQChannel) -> ReceiverLink:
    link = channel._rx
    assert isinstance(link, ReceiverLink)
    return link


async def _attack(*args: str) -> str:
    """Runs the attacker to completion in its own process; returns what it printed."""
    command = [sys.executable, str(ATTACKER), *args]
    result = await asyncio.to_thread(
        run_program, command, timeout=ATTACK_TIMEOUT, what="the attacker"
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)
async def test_a_keyless_flood_of_the_data_port_is_dropped_on_arrival(mode: ConnectorMode) -> None:
    connector = ZMQConnector(unique_spec(mode), maxsize=MAXSIZE)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    link = _receiver_link(receiver)
    address = link._data.getsockopt_string(zmq.LAST_ENDPOINT)
    attack = asyncio.create_task(
        _attack(
            "flood", address, str(SMALL), str(BIG), str(BIG_BYTES), str(p.MAX_MESSAGE_BYTES + 1)
        )
    )

    async def produce() -> None:
        for i in range(ITEMS):
            await sender.send(i)
        await sender.close()

    producer = asyncio.create_task(produce())
    # Nobody receives while the junk arrives: the real items fill the receiver up to what
    # its sender may send, and the junk must take no room at all. Every run of the
    # receiver's pump is checked until it has dropped (and counted) all the junk.
    async with asyncio.timeout(ATTACK_TIMEOUT):
        while receiver.statistics().rejected < SMALL + BIG:
            await link._wait_changed()
            buffered = receiver.statistics().buffered
            assert buffered <= MAXSIZE, f"{buffered} items buffered with maxsize {MAXSIZE}"
    report = await attack
    assert "oversized frame: cut off" in report, report
    assert receiver.statistics().buffered <= MAXSIZE
    assert await drain(receiver) == list(range(ITEMS))
    await producer
    assert receiver.statistics().rejected == SMALL + BIG
