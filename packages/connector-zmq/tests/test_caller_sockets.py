"""The reference API: `ZMQChannel(send_socket=..., recv_socket=...)` over caller-made sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import zmq
import zmq.asyncio

from connector_core.codec import TAG_SIZE, Codec
from connector_core.testing import STEP_TIMEOUT
from connector_core.transport import Verifier
from connector_zmq import ZMQChannel
from connector_zmq.socket_link import SocketReceiver

Sockets = tuple[zmq.asyncio.Socket, zmq.asyncio.Socket]


@pytest.fixture
def sockets() -> Iterator[Sockets]:
    """A caller-made PULL socket bound on loopback and a PUSH socket connected to it."""
    context = zmq.asyncio.Context.instance()
    pull = context.socket(zmq.PULL)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    push = context.socket(zmq.PUSH)
    push.connect(f"tcp://127.0.0.1:{port}")
    yield pull, push
    for socket in (pull, push):
        socket.close(linger=0)  # a no-op for what the test's channel closed


async def test_zmq_channel_over_caller_sockets(sockets: Sockets) -> None:
    pull, push = sockets
    receiver = ZMQChannel(recv_socket=pull)
    sender = ZMQChannel(send_socket=push, codec=receiver.codec)
    await sender.send({"a": 1})
    assert await receiver.recv() == {"a": 1}
    with pytest.raises(Exception, match="cannot"):
        await sender.recv()
    await sender.close()
    await receiver.close()
    assert pull.closed
    assert push.closed


def test_zmq_channel_needs_a_socket() -> None:
    with pytest.raises(TypeError, match="ZMQConnector"):
        ZMQChannel()


async def test_zmq_channel_over_caller_sockets_drops_forged_frames_as_it_reads_them(
    sockets: Sockets,
) -> None:
    pull, push = sockets
    receiver = ZMQChannel(recv_socket=pull)
    await push.send(b"\x00" * TAG_SIZE + b"forged")  # one connection: delivered in order
    await push.send(receiver.codec.seal(["genuine"], b"a-sender", 1))
    async with asyncio.timeout(STEP_TIMEOUT):
        assert await receiver.recv() == "genuine"
    assert receiver.statistics().rejected == 1
    push.close()
    await receiver.close()


async def test_zmq_channel_with_both_caller_sockets_sends_to_itself(sockets: Sockets) -> None:
    pull, push = sockets
    channel = ZMQChannel(send_socket=push, recv_socket=pull, maxsize=10)
    await channel.send("loop")
    async with asyncio.timeout(STEP_TIMEOUT):
        assert await channel.recv() == "loop"
    stats = channel.statistics()
    assert (stats.senders, stats.receivers, stats.max_size) == (1, 1, 10)
    await channel.close()
    assert pull.closed
    assert push.closed


def test_zmq_channel_takes_sockets_or_links_not_both() -> None:
    pull = zmq.asyncio.Context.instance().socket(zmq.PULL)
    link = SocketReceiver(pull, Verifier(Codec.generate()))
    with pytest.raises(TypeError, match="not both"):
        ZMQChannel(recv_socket=pull, receiver=link)
    pull.close()
