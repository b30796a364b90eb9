"""Transports over sockets the caller made (the reference API's `ZMQChannel(send_socket=...)`).

`ZMQChannel(send_socket=..., recv_socket=..., topic=...)` wraps sockets the caller created
and connected: `SocketSender` sends each frame (prefixed by `topic` when given, for PUB/SUB
sockets), `SocketReceiver` receives them and verifies each with its `Verifier` as it takes it
off the socket, dropping (and counting) what fails. Both try the non-blocking call first and
otherwise wait for the socket to become ready, which cannot lose a message when cancelled.
Such a channel has no notion of other peers: it never ends by itself, and backpressure is
only what the sockets' high-water marks give; those count messages, not items, so
`SocketSender.batch_items` is 1 and `send_many()` sends one frame per item. Connections
between processes should come from `ZMQConnector` instead.
"""

from __future__ import annotations

import zmq
import zmq.asyncio

from connector_core.exceptions import ChannelClosedError
from connector_core.payload import Payload
from connector_core.transport import Verifier
from connector_zmq.waiting import wait_readable

__all__ = ["SocketReceiver", "SocketSender"]

AnySocket = zmq.Socket[bytes] | zmq.asyncio.Socket


def _pair(sock: AnySocket) -> tuple[AnySocket, zmq.Socket[bytes]]:
    """The caller's socket (closed with the channel) and a plain handle for NOBLOCK calls."""
    if not isinstance(sock, zmq.Socket):
        raise TypeError(f"expected a zmq socket, got {sock!r}")
    return sock, zmq.Socket.shadow(sock.underlying)


class SocketSender:
    """A `SendTransport` over a caller-made socket."""

    batch_items = 1
    """One item per frame: the socket's high-water mark, the only bound here, counts frames."""

    def __init__(self, sock: AnySocket, topic: str = "") -> None:
        """Wraps the socket (it belongs to the channel from now on).

        Raises:
            TypeError: If `sock` is not a zmq socket.
        """
        self._owned, self._sock = _pair(sock)
        self._topic = topic.encode()

    def try_send(self, frame: bytes, items: int = 1) -> bool:
        """Sends `frame` if the socket takes it without waiting; False when it is full.

        Args:
            frame: The frame.
            items: The items it carries (the socket counts it as one message whatever).
        """
        del items
        parts = [self._topic, frame] if self._topic else [frame]
        try:
            self._sock.send_multipart(parts, zmq.NOBLOCK)
        except zmq.Again:
            return False
        return True

    async def send(self, frame: bytes, items: int = 1) -> None:
        """Sends `frame` (carrying `items` items), waiting while the socket is full."""
        while not self.try_send(frame, items):
            await wait_readable([self._sock], events=zmq.POLLOUT)

    async def close(self) -> None:
        """Closes the socket."""
        self._owned.close()

    def buffered(self) -> int:
        """Unknown for caller-made sockets: 0."""
        return 0

    def peer_counts(self) -> tuple[int, int]:
        """This channel's own ends: one sender."""
        return (1, 0)


class SocketReceiver:
    """A `RecvTransport` over a caller-made socket; frames are verified as they are read."""

    def __init__(self, sock: AnySocket, verifier: Verifier, *, senders: int = 0) -> None:
        """Wraps the socket (it belongs to the channel from now on).

        Args:
            sock: The socket to read.
            verifier: Checks each frame (the channel's codec).
            senders: Senders of the same channel (1 if it has a send socket too).

        Raises:
            TypeError: If `sock` is not a zmq socket.
        """
        self._owned, self._sock = _pair(sock)
        self.verifier = verifier
        self._senders = senders

    def try_recv(self) -> Payload | None:
        """The next verified payload if the socket has one now, else None.

        Raises:
            ChannelClosedError: If the socket was closed.
        """
        sock = self._sock
        accept = self.verifier.accept
        while True:
            try:
                parts = sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return None
            except zmq.ZMQError as exc:
                if self._owned.closed:
                    raise ChannelClosedError("ZMQChannel is closed") from exc
                raise
            payload = accept(parts[-1])  # a topic, if any, comes first
            if payload is not None:
                return payload

    def give_back(self, frame: bytes, items: int) -> None:
        """Drops items the channel had taken but not returned: no other receiver is known.

        A caller-made socket has no way to hand them on (its peers are the caller's business).

        Args:
            frame: The items, sealed as one frame by the channel.
            items: How many it carries.
        """
        del frame, items

    async def recv(self) -> Payload:
        """Waits for the next verified payload (what fails verification is dropped)."""
        while True:
            payload = self.try_recv()
            if payload is not None:
                return payload
            await wait_readable([self._sock])

    async def close(self) -> None:
        """Closes the socket."""
        self._owned.close()

    def buffered(self) -> int:
        """Unknown for caller-made sockets: 0."""
        return 0

    def peer_counts(self) -> tuple[int, int]:
        """This channel's own ends: its sender if it has one, and one receiver."""
        return (self._senders, 1)
