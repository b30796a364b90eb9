"""`ZMQChannel`: the channel of the ZeroMQ backend (a `SerdeChannel`).

Channels made by `ZMQConnector.connect_send()` / `connect_recv()` run on a sending or
receiving link (`connector_zmq.sender`, `connector_zmq.receiver`; the topology is in the
package docstring). `ZMQChannel(send_socket=..., recv_socket=...)`, as in the reference API,
wraps sockets the caller made (`connector_zmq.socket_link`).

The base class serializes, signs, verifies and counts; this class moves frames.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import zmq
import zmq.asyncio

from connector_core.exceptions import ChannelClosedError, ChannelError
from connector_core.serde import Codec, MessageRejectedError, SerdeChannel
from connector_zmq.socket_link import SocketLink

__all__ = ["ZMQChannel"]

ZMQ_CHAN_MAXSIZE = 2000
"""The reference API's default `maxsize` for a ZMQChannel."""


class _Link(Protocol):
    can_send: bool
    can_recv: bool

    def try_send(self, frame: bytes) -> bool: ...

    def try_recv(self) -> bytes | None: ...

    async def send(self, frame: bytes) -> None: ...

    async def recv(self) -> bytes: ...

    async def close(self) -> bool: ...

    def buffered(self) -> int: ...

    def peer_counts(self) -> tuple[int, int]: ...


class ZMQChannel(SerdeChannel):
    """ZMQChannel enables data exchange between processes using ZeroMQ.

    Made by `ZMQConnector`, a channel is one sender or one receiver of a connection between
    any number of processes; `maxsize` bounds what is buffered between one sender and one
    receiver (split between the sender's queue and the receiver's credit window in a
    pipeline; the credit window in pubsub), and `send()` waits beyond it.
    """

    _link: _Link
    _on_finished: Callable[[], Awaitable[None]] | None
    _loop: asyncio.AbstractEventLoop | None

    def __init__(
        self,
        *args: Any,
        send_socket: zmq.Socket[bytes] | zmq.asyncio.Socket | None = None,
        recv_socket: zmq.Socket[bytes] | zmq.asyncio.Socket | None = None,
        topic: str = "",
        maxsize: int = ZMQ_CHAN_MAXSIZE,
        **kwargs: Any,
    ) -> None:
        """Instantiates a ZMQChannel over caller-provided sockets.

        Args:
            *args: Passed to `SerdeChannel`.
            send_socket: Optional; The ZeroMQ socket for sending messages.
            recv_socket: Optional; The ZeroMQ socket for receiving messages.
            topic: Optional; prefix frame for PUB/SUB sockets (pubsub mode channels).
            maxsize: Optional; Queue maximum item capacity, defaults to 2000.
            **kwargs: Passed to `SerdeChannel` (e.g. `codec=`).

        Raises:
            TypeError: If neither socket is given, or one is not a zmq socket.
        """
        super().__init__(*args, maxsize=maxsize, **kwargs)
        self._link = SocketLink(send_socket, recv_socket, topic)
        self._on_finished = None
        self._loop = None  # caller-made sockets: the caller's loop rules apply

    @classmethod
    def _attach(
        cls,
        link: _Link,
        *,
        maxsize: int,
        codec: Codec,
        on_finished: Callable[[], Awaitable[None]] | None = None,
    ) -> ZMQChannel:
        channel = cls.__new__(cls)
        SerdeChannel.__init__(channel, maxsize=maxsize, codec=codec)
        channel._link = link
        channel._on_finished = on_finished
        channel._loop = asyncio.get_running_loop()  # the link's sockets and pump live there
        return channel

    def _check_loop(self) -> None:
        """Raises at once when awaited from an event loop other than the channel's own.

        The channel's pump and socket watchers run in the loop it was made in: from another
        loop nothing would ever wake the caller.
        """
        loop = self._loop
        if loop is not None and asyncio.get_running_loop() is not loop:
            raise ChannelError(
                "this ZMQChannel belongs to another event loop (the one it was made in) and "
                "cannot be used from this one; make channels (connect_send()/connect_recv()) "
                "in the event loop that uses them"
            )

    async def send(self, msg: Any) -> None:
        """Serializes, signs and sends an item; waits only while every buffer is full.

        The frame is handed to the link without awaiting when it can take it now (the
        common case), so a send that does not wait costs no coroutine switch.

        Args:
            msg: The item to send.

        Raises:
            ChannelClosedError: If the channel is closed.
            ChannelError: If this channel cannot send (it was made by `connect_recv()`), or
                it is awaited from an event loop other than the one it was made in.
            ChannelSerializationError: If `msg` cannot be serialized (nothing is sent).
        """
        self._check_loop()
        if self._is_closed:
            raise ChannelClosedError("ZMQChannel is closed: cannot send")
        frame = self.codec.encode(msg)
        if not self._link.try_send(frame):
            await self.send_bytes(frame)
        self._sent += 1

    async def recv(self) -> Any:
        """Receives, verifies and deserializes the next item.

        Takes an item already queued here without awaiting; frames that fail verification
        are dropped (and counted) before deserialization.

        Raises:
            ChannelClosedError: When the connection has ended (the receiver then releases
                its sockets itself) or this channel is closed.
            ChannelError: If this channel cannot receive (it was made by `connect_send()`),
                or it is awaited from an event loop other than the one it was made in.
            ChannelDecodeError: If a correctly signed message does not deserialize.
        """
        self._check_loop()
        link = self._link
        codec = self.codec
        while True:
            frame = None if self._is_closed else link.try_recv()
            if frame is None:
                frame = await self.recv_bytes()
            try:
                item = codec.decode(frame)
            except MessageRejectedError as exc:
                self.reject(exc)
                continue
            self._received += 1
            return item

    async def send_bytes(self, msg: bytes) -> None:
        """Sends one frame through the ZMQChannel.

        Args:
            msg: The frame to be sent.

        Raises:
            ChannelClosedError: If the channel is closed.
            ChannelError: If this channel cannot send (it was made by `connect_recv()`), or
                it is awaited from an event loop other than the one it was made in.
        """
        self._check_loop()
        if self._is_closed:
            raise ChannelClosedError("ZMQChannel is closed: cannot send")
        if not self._link.can_send:
            raise ChannelError("this channel was made by connect_recv(): it cannot send")
        await self._link.send(msg)

    async def recv_bytes(self) -> bytes:
        """Receives one frame from the ZMQChannel and returns it.

        Raises:
            ChannelClosedError: When the connection is over or this channel is closed.
            ChannelError: If this channel cannot receive (it was made by `connect_send()`),
                or it is awaited from an event loop other than the one it was made in.
        """
        self._check_loop()
        if self._is_closed:
            raise ChannelClosedError("ZMQChannel is closed: cannot receive")
        if not self._link.can_recv:
            raise ChannelError("this channel was made by connect_send(): it cannot receive")
        try:
            return await self._link.recv()
        except ChannelClosedError:
            if not self._is_closed:
                # the end of the connection: nothing more can come, so release the sockets
                # now (users often end an `async for` and never call close())
                await self.close()
            raise

    async def close(self) -> None:
        """Closes the ZMQChannel; closing twice is harmless.

        A sender's close delivers what it holds and then ends its part of the connection; a
        pipeline receiver's close leaves the items it had not returned for the others. A
        receiver closes itself when it reaches the end of the connection (its `recv()` raised
        ChannelClosedError, an `async for` ended). A sender that is never closed is closed
        when the process exits: what it had not put on the wire by then is lost.

        Raises:
            ChannelError: If awaited from an event loop other than the one the channel was
                made in (the channel stays open: close it in its own loop).
        """
        if self._is_closed:
            return
        self._check_loop()
        self._is_closed = True
        finished = await self._link.close()
        if finished and self._on_finished is not None:
            await self._on_finished()

    def _buffered(self) -> int:
        return self._link.buffered()

    def _peer_counts(self) -> tuple[int, int]:
        return self._link.peer_counts()

    def __reduce__(self) -> Any:
        raise TypeError(
            "a ZMQChannel holds this process's sockets and cannot be pickled; pickle the "
            "ZMQConnector and call connect_send()/connect_recv() in the other process"
        )
