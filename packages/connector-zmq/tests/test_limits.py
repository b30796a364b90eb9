"""Bounds a receiver keeps: the largest item, a member's credit, ZeroMQ's own limits.

That an item over `MAX_ITEM_BYTES` fails its send, and a `send_many()` with one sends none,
is the conformance suite's (`SizeLimitTests`).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import pytest
import zmq
import zmq.asyncio

from connector_core.spec import ConnectorMode
from connector_core.testing import STEP_TIMEOUT, drain, transport_of
from connector_core.testing import unique_spec as spec
from connector_zmq import ZMQChannel, ZMQConnector, access
from connector_zmq import protocol as p
from connector_zmq.receiver import ReceiverLink

SUBPROCESS_TIMEOUT = 60.0
"""Generous: an interpreter start plus a few connects."""


async def test_an_item_at_the_size_limit_arrives() -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE))
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    payload = b"x" * (p.MAX_ITEM_BYTES - 128)  # tag, envelope and pickle's header fit in 128
    assert len(sender.seal_bytes(sender.codec.serializer.dumps([payload]))) <= p.MAX_ITEM_BYTES
    await sender.send(payload)
    await sender.close()
    assert await drain(receiver) == [payload]


async def test_a_member_sending_beyond_its_credit_has_the_excess_dropped() -> None:
    maxsize = 16
    window = p.window(maxsize, pubsub=False)
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE), maxsize=maxsize)
    receiver = await connector.connect_recv()
    link = transport_of(receiver, ReceiverLink)
    rogue, credit = await _rogue_member(connector, receiver)
    assert credit == window
    codec = connector.codec  # a member: it holds the key, but ignores its credit
    for i in range(window + 5):
        await rogue.send(codec.seal([i], b"rogue-id", i + 1))
    async with asyncio.timeout(STEP_TIMEOUT):
        while receiver.statistics().rejected < 5:
            await link._wait_changed()
        assert receiver.statistics().buffered == window
        assert [await receiver.recv() for _ in range(window)] == list(range(window))
    await rogue.send_multipart([b"", p.END])
    rogue.close()
    await receiver.close()


async def _rogue_member(
    connector: ZMQConnector, receiver: ZMQChannel
) -> tuple[zmq.asyncio.Socket, int]:
    """A member's raw DEALER, said HELLO to `receiver`, and the credit it was granted."""
    rogue = zmq.asyncio.Context.instance().socket(zmq.DEALER)
    rogue.setsockopt(zmq.LINGER, p.LINGER_MS)  # its END must get out
    rogue.setsockopt(zmq.ROUTING_ID, b"rogue-member")
    access.secure_client(rogue, connector.codec)  # a member: it holds the key
    rogue.connect(transport_of(receiver, ReceiverLink).address)
    await rogue.send_multipart([b"", p.HELLO, p.credentials(connector.codec, b"rogue-member")])
    async with asyncio.timeout(STEP_TIMEOUT):
        granted = await rogue.recv_multipart()
    assert granted[1] == p.CREDIT
    return rogue, p.unpack_count(granted[2])


async def test_a_frame_of_more_items_than_the_credit_left_is_dropped_whole() -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE), maxsize=16)
    receiver = await connector.connect_recv()
    link = transport_of(receiver, ReceiverLink)
    rogue, credit = await _rogue_member(connector, receiver)
    codec = connector.codec  # a member: it holds the key, but ignores its credit
    await rogue.send(codec.seal(list(range(credit + 1)), b"rogue-id", 1))
    await rogue.send(codec.seal(list(range(credit)), b"rogue-id", 2))  # spends it all
    async with asyncio.timeout(STEP_TIMEOUT):
        while receiver.statistics().buffered < credit:
            await link._wait_changed()
        assert receiver.statistics().rejected == 1  # the whole frame, none of its items
        assert receiver.statistics().buffered == credit
        assert await receiver.recv_many(credit + 1) == list(range(credit))
    await rogue.send_multipart([b"", p.END])
    rogue.close()
    await receiver.close()


async def test_a_frame_of_several_items_spends_one_credit_per_item() -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE), maxsize=16)
    receiver = await connector.connect_recv()
    link = transport_of(receiver, ReceiverLink)
    rogue, credit = await _rogue_member(connector, receiver)
    codec = connector.codec
    await rogue.send(codec.seal(list(range(credit)), b"rogue-id", 1))  # one frame, all of it
    await rogue.send(codec.seal(["beyond"], b"rogue-id", 2))
    async with asyncio.timeout(STEP_TIMEOUT):
        while receiver.statistics().rejected < 1:
            await link._wait_changed()
        assert receiver.statistics().buffered == credit
        assert await receiver.recv_many(credit + 1) == list(range(credit))
    await rogue.send_multipart([b"", p.END])
    rogue.close()
    await receiver.close()


async def test_data_sockets_limit_message_size_and_queue() -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE))
    receiver = await connector.connect_recv()
    data = transport_of(receiver, ReceiverLink)._data
    assert data.getsockopt(zmq.MAXMSGSIZE) == p.MAX_MESSAGE_BYTES
    assert data.getsockopt(zmq.RCVHWM) == p.RCV_HWM
    assert p.MAX_MESSAGE_BYTES >= p.MAX_ITEM_BYTES + 8  # a lone frame in a batch still fits
    assert p.MAX_ITEM_BYTES >= p.MAX_BATCH_BYTES + 8 * p.MAX_BATCH_ITEMS  # so does a batch
    await receiver.close()


_EXHAUSTED = textwrap.dedent(
    """
    import asyncio
    import os
    import sys

    from connector_core.exceptions import ChannelSetupError
    from connector_core.spec import ConnectorSpec
    from connector_zmq import ZMQConnector


    async def main(mode: str) -> None:
        connector = ZMQConnector(ConnectorSpec("a.out", "b.in", mode=mode))
        receiver = await connector.connect_recv()
        held = []
        try:  # take every descriptor left, as ~1000 idle connections from a peer would
            while True:
                held.append(os.open(os.devnull, os.O_RDONLY))
        except OSError:
            pass
        for what in ("connect_send", "connect_recv"):
            try:
                await getattr(connector, what)()
            except ChannelSetupError as error:
                print(what, "ChannelSetupError:", error)
            except BaseException as error:
                print(what, "other error:", repr(error))
            else:
                print(what, "no error")
        for fd in held:
            os.close(fd)
        sender = await connector.connect_send()
        await sender.send("after")
        await sender.close()
        print("then", [item async for item in receiver])


    asyncio.run(main(sys.argv[1]))
    """
)


@pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)
def test_running_out_of_file_descriptors_is_a_clear_setup_error(mode: ConnectorMode) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _EXHAUSTED, mode.value],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3, result.stdout
    for what, line in zip(("connect_send", "connect_recv"), lines, strict=False):
        assert line.startswith(f"{what} ChannelSetupError:"), line
        assert "file descriptors" in line, line
        assert "ulimit -n" in line, line
    assert lines[2] == "then ['after']"
