"""Attacks on a ZMQ connection by a local process without the connector's key.

The attacker runs in a separate process (`zmq_attacker.py`) and knows only the listening
addresses; the test is the legitimate sender and receiver, and asserts what they observe.
"""

from __future__ import annotations

import asyncio
import os
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
IDLE = 600
"""Idle connections the attacker opens to each listener: more than half the usual
descriptor limit of 1024, twice over."""
DESCRIPTOR_SLACK = 4
"""Descriptors the test process may have opened meanwhile for other reasons."""


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


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("mechanism", ["null", "plain"])
@pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)
async def test_a_keyless_flood_of_the_data_port_is_refused_at_the_handshake(
    mode: ConnectorMode, mechanism: str
) -> None:
    connector = ZMQConnector(unique_spec(mode), maxsize=MAXSIZE)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    link = _receiver_link(receiver)
    address = link._data.getsockopt_string(zmq.LAST_ENDPOINT)
    attack = asyncio.create_task(
        _attack(
            "flood",
            address,
            mechanism,
            str(SMALL),
            str(BIG),
            str(BIG_BYTES),
            str(p.MAX_MESSAGE_BYTES + 1),
        )
    )

    async def produce() -> None:
        for i in range(ITEMS):
            await sender.send(i)
        await sender.close()

    producer = asyncio.create_task(produce())
    # Nobody receives while the attack runs: the real items fill the receiver up to what
    # its sender may send, and the junk takes no room at all; it never gets past the
    # handshake, so the receiver never reads (nor counts) one junk frame.
    while not attack.done():
        await asyncio.wait([attack], timeout=None, return_when=asyncio.FIRST_COMPLETED)
        assert receiver.statistics().buffered <= MAXSIZE
    report = await attack
    assert "handshake: refused" in report, report
    assert await drain(receiver) == list(range(ITEMS))
    await producer
    assert receiver.statistics().rejected == 0


@pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)
async def test_idle_keyless_connections_are_closed_and_give_back_their_descriptors(
    mode: ConnectorMode,
) -> None:
    connector = ZMQConnector(unique_spec(mode), maxsize=MAXSIZE)
    receiver = await connector.connect_recv()
    data_address = _receiver_link(receiver)._data.getsockopt_string(zmq.LAST_ENDPOINT)
    before = _open_descriptors()
    report = await _attack("idle", str(IDLE), connector.zmq_address, data_address)
    # The attacker still holds its ends; the listeners closed theirs within the handshake
    # interval, so the victim has its descriptors back and its connection still works.
    assert f"{connector.zmq_address}: closed {IDLE} of {IDLE}" in report, report
    assert f"{data_address}: closed {IDLE} of {IDLE}" in report, report
    assert _open_descriptors() <= before + DESCRIPTOR_SLACK
    sender = await connector.connect_send()
    await sender.send("still working")
    await sender.close()
    assert await drain(receiver) == ["still working"]
