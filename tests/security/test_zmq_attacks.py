"""Attacks on a ZMQ connection by a local process without the connector's key.

The attacker runs in a separate process (`zmq_attacker.py`) and knows only the listening
addresses, or the messages it sees on the wire; the test is the legitimate sender and
receiver, and asserts what they observe.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import zmq
import zmq.asyncio

from connector_core import ConnectorMode
from connector_core.buffers import LEND_BYTES, dumps_lending
from connector_core.payload import WithBuffers
from connector_core.sealer import Sealer
from connector_core.testing import STEP_TIMEOUT, drain, transport_of, unique_spec
from connector_core.testing.programs import run_program
from connector_zmq import ZMQChannel, ZMQConnector, access
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
    link = transport_of(receiver, ReceiverLink)
    address = link.address
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
    data_address = transport_of(receiver, ReceiverLink).address
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


TAMPERS = ["buffer", "swap", "missing", "extra", "shift", "table"]
"""How the attacker changes a large item on the wire (`zmq_attacker.py tamper`)."""


async def _member(connector: ZMQConnector, receiver: ZMQChannel) -> zmq.asyncio.Socket:
    """A member's DEALER to `receiver`, said HELLO and granted credit: the wire's far end."""
    member = zmq.asyncio.Context.instance().socket(zmq.DEALER)
    member.setsockopt(zmq.LINGER, p.LINGER_MS)  # its END must get out
    member.setsockopt(zmq.ROUTING_ID, b"member")
    access.secure_client(member, connector.codec)
    member.connect(transport_of(receiver, ReceiverLink).address)
    await member.send_multipart([b"", p.HELLO, p.credentials(connector.codec, b"member")])
    async with asyncio.timeout(STEP_TIMEOUT):
        granted = await member.recv_multipart()
    assert granted[1] == p.CREDIT
    return member


async def _tampered_by_the_attacker(kind: str, parts: list[bytes]) -> list[bytes]:
    """`parts` as the keyless attacker changed them, in its own process."""
    wire = zmq.asyncio.Context.instance().socket(zmq.PAIR)
    wire.setsockopt(zmq.LINGER, 0)
    port = wire.bind_to_random_port("tcp://127.0.0.1")
    attack = asyncio.create_task(_attack("tamper", kind, f"tcp://127.0.0.1:{port}"))
    try:
        await wire.send_multipart(parts)
        async with asyncio.timeout(ATTACK_TIMEOUT):
            tampered = await wire.recv_multipart()
        assert f"tampered: {kind}" in await attack
    finally:
        wire.close()
    return tampered


@pytest.mark.parametrize("kind", TAMPERS)
async def test_a_large_item_changed_on_the_wire_is_dropped_and_counted(kind: str) -> None:
    connector = ZMQConnector(unique_spec(ConnectorMode.PIPELINE), maxsize=MAXSIZE)
    receiver = await connector.connect_recv()
    link = transport_of(receiver, ReceiverLink)
    member = await _member(connector, receiver)
    item = {"a": np.full(2 * LEND_BYTES, 1, np.uint8), "b": np.full(LEND_BYTES, 2, np.uint8)}
    payload = dumps_lending(item)
    assert type(payload) is WithBuffers
    frame = Sealer(connector.codec).lent(payload)
    genuine = [b"", p.BUFFERS, bytes(frame), *(bytes(buffer) for buffer in frame.buffers)]
    tampered = await _tampered_by_the_attacker(kind, list(genuine))
    assert tampered != genuine
    await member.send_multipart(tampered)
    async with asyncio.timeout(STEP_TIMEOUT):
        while receiver.statistics().rejected < 1:
            await link._wait_changed()
            assert receiver.statistics().buffered == 0
    # the genuine message, frame number and all, still arrives: nothing of the tampered
    # one was kept, counted as seen or delivered
    await member.send_multipart(genuine)
    async with asyncio.timeout(STEP_TIMEOUT):
        received = await receiver.recv()
    assert (received["a"] == item["a"]).all()
    assert (received["b"] == item["b"]).all()
    assert receiver.statistics().rejected == 1
    assert receiver.statistics().buffered == 0
    await member.send_multipart([b"", p.END])
    member.close()
    await receiver.close()
