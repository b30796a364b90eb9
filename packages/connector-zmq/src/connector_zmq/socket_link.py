"""`SocketLink`: a channel over sockets the caller made (the reference API's `ZMQChannel`).

`ZMQChannel(send_socket=..., recv_socket=..., topic=...)` wraps sockets the caller created and
connected. It sends each frame (prefixed by `topic` when given, for PUB/SUB sockets) and
receives frames, trying the non-blocking call first and otherwise waiting for the socket to
become ready, which cannot lose a message when cancelled. Such a channel has no notion of
other peers: it never ends by itself, and backpressure is only what the sockets' high-water
marks give. Connections between processes should come from `ZMQConnector` instead.
"""

from __future__ import annotations

import zmq
import zmq.asyncio

from connector_core.exceptions import ChannelClosedError, ChannelError
from connector_zmq.waiting import wait_readable

__all__ = ["SocketLink"]


def _pair(
    sock: zmq.Socket[bytes] | zmq.asyncio.Socket,
) -> tuple[zmq.asyncio.Socket, zmq.Socket[bytes]]:
    if not isinstance(sock, zmq.Socket):
        raise TypeError(f"expected a zmq socket, got {sock!r}")
    waiter = (
        sock if isinstance(sock, zmq.asyncio.Socket) else zmq.asyncio.Socket.shadow(sock.underlying)
    )
    sync: zmq.Socket[bytes] = zmq.Socket.shadow(sock.underlying)
    return waiter, sync


class SocketLink:
    """Frames over caller-provided sockets."""

    def __init__(
        self,
        send_socket: zmq.Socket[bytes] | zmq.asyncio.Socket | None,
        recv_socket: zmq.Socket[bytes] | zmq.asyncio.Socket | None,
        topic: str,
    ) -> None:
        """Wraps the sockets.

        Raises:
            TypeError: If neither socket is given, or one is not a zmq socket.
        """
        if send_socket is None and recv_socket is None:
            raise TypeError(
                "ZMQChannel needs send_socket and/or recv_socket; to connect processes use "
                "ZMQConnector(spec).connect_send() / connect_recv()"
            )
        self._owned = [s for s in (send_socket, recv_socket) if s is not None]
        self._send = _pair(send_socket) if send_socket is not None else None
        self._recv = _pair(recv_socket) if recv_socket is not None else None
        self._topic = topic.encode()
        self.can_send = self._send is not None
        self.can_recv = self._recv is not None

    def try_send(self, frame: bytes) -> bool:
        """Always False: caller-made sockets are sent on by awaiting `send()`."""
        del frame
        return False

    def try_recv(self) -> bytes | None:
        """Always None: caller-made sockets are read by awaiting `recv()`."""
        return None

    async def send(self, frame: bytes) -> None:
        """Sends one frame, waiting while the socket is full.

        Raises:
            ChannelError: If there is no send socket.
        """
        if self._send is None:
            raise ChannelError("this ZMQChannel has no send_socket")
        waiter, sync = self._send
        parts = [self._topic, frame] if self._topic else [frame]
        while True:
            try:
                sync.send_multipart(parts, zmq.NOBLOCK)
                return
            except zmq.Again:
                await wait_readable([waiter], events=zmq.POLLOUT)

    async def recv(self) -> bytes:
        """Receives one frame, waiting while none is ready.

        Raises:
            ChannelError: If there is no recv socket.
        """
        if self._recv is None:
            raise ChannelError("this ZMQChannel has no recv_socket")
        waiter, sync = self._recv
        while True:
            try:
                parts = sync.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                await wait_readable([waiter])
                continue
            except zmq.ZMQError as exc:
                if sync.closed:
                    raise ChannelClosedError("ZMQChannel is closed") from exc
                raise
            return parts[-1]

    async def close(self) -> bool:
        """Closes the sockets (they belong to the channel once passed in)."""
        for sock in self._owned:
            sock.close()
        return False

    def buffered(self) -> int:
        """Unknown for caller-provided sockets."""
        return 0

    def peer_counts(self) -> tuple[int, int]:
        """This channel's own ends."""
        return (int(self.can_send), int(self.can_recv))
