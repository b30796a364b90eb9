"""`TransportChannel(recv_after_close=True)`: a channel that is its own sender and receiver."""

from __future__ import annotations

import asyncio
from collections import deque

import pytest

from connector_core.codec import Codec
from connector_core.exceptions import ChannelClosedError
from connector_core.payload import Payload
from connector_core.testing import drain
from connector_core.transport import Verifier
from connector_core.transport_channel import TransportChannel


class _Loop:
    """One in-memory FIFO seen as a send transport and a receive transport."""

    def __init__(self, codec: Codec) -> None:
        self.frames: deque[bytes] = deque()
        self.verifier = Verifier(codec)
        self.sender_open = True
        self.recv_closes = 0
        self.arrived = asyncio.Event()
        self.batch_items = 1000

    def try_send(self, frame: bytes, items: int = 1) -> bool:
        self.frames.append(frame)
        self.arrived.set()
        return True

    async def send(self, frame: bytes, items: int = 1) -> None:
        self.try_send(frame, items)

    def try_recv(self) -> Payload | None:
        while self.frames:
            payload = self.verifier.accept(self.frames.popleft())
            if payload is not None:
                return payload
        return None

    async def recv(self) -> Payload:
        while True:
            payload = self.try_recv()
            if payload is not None:
                return payload
            if not self.sender_open:
                raise ChannelClosedError("every sender has closed")
            self.arrived.clear()
            await self.arrived.wait()

    def buffered(self) -> int:
        return len(self.frames)

    def peer_counts(self) -> tuple[int, int]:
        return (int(self.sender_open), 1)


class _Tx:
    def __init__(self, loop: _Loop) -> None:
        self._loop = loop
        self.batch_items = loop.batch_items
        self.try_send = loop.try_send
        self.send = loop.send
        self.buffered = loop.buffered
        self.peer_counts = loop.peer_counts

    async def close(self) -> None:
        self._loop.sender_open = False
        self._loop.arrived.set()


class _Rx:
    def __init__(self, loop: _Loop) -> None:
        self._loop = loop
        self.verifier = loop.verifier
        self.try_recv = loop.try_recv
        self.recv = loop.recv
        self.buffered = loop.buffered
        self.peer_counts = loop.peer_counts

    def give_back(self, frame: bytes, items: int) -> None:
        self._loop.frames.appendleft(frame)

    async def close(self) -> None:
        self._loop.recv_closes += 1


def _channel(recv_after_close: bool) -> tuple[TransportChannel, _Loop]:
    codec = Codec.generate()
    loop = _Loop(codec)
    channel = TransportChannel(
        sender=_Tx(loop), receiver=_Rx(loop), codec=codec, recv_after_close=recv_after_close
    )
    return channel, loop


async def test_a_closed_standalone_channel_returns_what_it_holds_then_ends() -> None:
    channel, loop = _channel(recv_after_close=True)
    for i in range(3):
        await channel.send(i)
    await channel.close()
    assert channel.is_closed
    with pytest.raises(ChannelClosedError):
        await channel.send(3)
    assert loop.recv_closes == 0
    assert await drain(channel) == [0, 1, 2]
    assert loop.recv_closes == 1
    with pytest.raises(ChannelClosedError):
        await channel.recv()
    assert loop.recv_closes == 1


async def test_by_default_a_closed_channel_does_not_receive() -> None:
    channel, loop = _channel(recv_after_close=False)
    await channel.send(0)
    await channel.close()
    assert loop.recv_closes == 1
    with pytest.raises(ChannelClosedError, match="closed"):
        await channel.recv()


def test_recv_after_close_needs_both_transports() -> None:
    loop = _Loop(Codec.generate())
    with pytest.raises(TypeError, match="both"):
        TransportChannel(receiver=_Rx(loop), recv_after_close=True)
