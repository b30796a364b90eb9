"""A one-page backend: signed frames between coroutines of one process, over an in-memory wire.

The wire stands in for sockets or a broker: one FIFO that competing receivers share (pipeline)
or one per subscriber (pubsub), each bounded by `maxsize`. See docs/writing-a-backend.md.
"""

# ruff: noqa: D102  (the transport methods are documented by connector_core.transport)
from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, NoReturn

from connector_core import CHAN_MAXSIZE, ChannelClosedError, Connector, ConnectorMode, Settings
from connector_core.codec import Codec
from connector_core.lifecycle import Lifecycle
from connector_core.payload import Payload
from connector_core.testing.backends import BackendProfile
from connector_core.transport import Outbox, Verifier
from connector_core.transport_channel import TransportChannel

PROFILE = BackendProfile("memory", cross_process=False, backlog_factor=2)  # outbox + wire


class Wire:
    """The frames in flight, and the lifecycle adapter: `close_sender`, `join`, `leave`."""

    def __init__(self, mode: ConnectorMode, maxsize: int) -> None:
        self.pubsub, self.maxsize = mode is ConnectorMode.PUBSUB, maxsize
        self.life: Lifecycle[object] = Lifecycle()
        self.fifos: dict[object, deque[bytes]] = {} if self.pubsub else {None: deque()}
        self._changed = asyncio.Event()

    async def changed(self) -> None:  # the caller then checks its condition again
        self._changed.clear()
        await self._changed.wait()

    async def deliver(self, frame: bytes) -> None:
        """Appends `frame` to every FIFO it goes to, once all of them have room."""
        while 0 < self.maxsize <= max(map(len, self.fifos.values()), default=0):
            await self.changed()
        for fifo in self.fifos.values():  # pubsub: every subscriber, in one step
            fifo.append(frame)
        self._changed.set()

    def take(self, fifo: deque[bytes]) -> bytes:  # and makes room for a waiting sender
        self._changed.set()
        return fifo.popleft()

    def close_sender(self, sender: object) -> None:  # tell Lifecycle, act on its edges
        if self.life.close_sender(sender).ended:
            self._changed.set()  # every receiver looks again and finds the end

    def join(self, receiver: object) -> deque[bytes]:
        self.life.join_receiver(receiver)
        return self.fifos.setdefault(receiver if self.pubsub else None, deque())

    def leave(self, receiver: object) -> None:
        self.life.leave_receiver(receiver)
        if self.pubsub:  # a pipeline receiver leaves what is left to the others
            del self.fifos[receiver]
        self._changed.set()


class MemorySender:
    """`SendTransport`: an outbox that a flusher task empties onto the wire."""

    def __init__(self, wire: Wire) -> None:
        wire.life.open_sender(self)  # raises ChannelClosedError once the stream has ended
        self._wire, self._outbox = wire, Outbox(wire.maxsize)
        self.batch_items = 1  # the wire bounds frames: one item per frame, send_many too
        self._flusher = asyncio.create_task(self._flush())

    def try_send(self, frame: bytes, items: int = 1) -> bool:
        return self._outbox.offer(frame, items)

    async def send(self, frame: bytes, items: int = 1) -> None:
        await self._outbox.put(frame, items)  # cancelled while waiting: nothing was queued

    async def _flush(self) -> None:
        while True:
            await self._outbox.ready()
            for frame in (batch := self._outbox.take()):  # all queued while we were busy
                await self._wire.deliver(frame)
            self._outbox.settle(len(batch))

    async def close(self) -> None:
        self._outbox.close()  # refuse new frames; the queued ones still leave
        await self._outbox.empty()
        self._flusher.cancel()
        self._wire.close_sender(self)

    def buffered(self) -> int:
        return len(self._outbox)

    def peer_counts(self) -> tuple[int, int]:
        return self._wire.life.sender_count, self._wire.life.receiver_count


class MemoryReceiver:
    """`RecvTransport`: verifies each frame as it comes off the wire."""

    def __init__(self, wire: Wire, codec: Codec) -> None:
        self.verifier, self._wire = Verifier(codec, owner="MemoryReceiver"), wire
        self._fifo: deque[bytes] | None = wire.join(self)  # subscribed on return

    def try_recv(self) -> Payload | None:
        while self._fifo:  # None once closed
            payload = self.verifier.accept(self._wire.take(self._fifo))
            if payload is not None:  # None: forged or corrupt, dropped and counted
                return payload
        return None

    async def recv(self) -> Payload:
        while (payload := self.try_recv()) is None:
            if self._fifo is None or self._wire.life.ended:
                raise ChannelClosedError("every sender has closed and all was delivered")
            await self._wire.changed()  # cancelled while waiting: nothing was taken
        return payload

    def give_back(self, frame: bytes, items: int) -> None:
        if self._fifo is not None and not self._wire.pubsub:  # pubsub: leaves with the FIFO
            self._fifo.appendleft(frame)  # first in line for the other receivers

    async def close(self) -> None:
        self._fifo = None
        self._wire.leave(self)

    def buffered(self) -> int:
        return len(self._fifo or ())

    def peer_counts(self) -> tuple[int, int]:
        return self._wire.life.sender_count, self._wire.life.receiver_count


class MemoryConnector(Connector):
    """Connects coroutines of one process; every channel is core's `TransportChannel`."""

    def __init__(self, *args: Any, maxsize: int = CHAN_MAXSIZE, **kwargs: Any) -> None:
        super().__init__(*args, maxsize=maxsize, **kwargs)
        self.codec = Settings().make_codec()  # a fresh key, or the configured secret
        self._wire = Wire(self.spec.mode, maxsize)

    async def connect_send(self) -> TransportChannel:
        return self._channel(sender=MemorySender(self._wire))

    async def connect_recv(self) -> TransportChannel:
        return self._channel(receiver=MemoryReceiver(self._wire, self.codec))

    def _channel(self, **transport: Any) -> TransportChannel:
        loop = asyncio.get_running_loop()  # the channel belongs to this event loop
        return TransportChannel(maxsize=self.maxsize, codec=self.codec, loop=loop, **transport)

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"{self!r} is in-process only: its wire cannot leave the process")
