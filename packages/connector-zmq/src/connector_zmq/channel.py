"""`ZMQChannel`: the channel of the ZeroMQ backend, core's `TransportChannel` under its name.

Channels made by `ZMQConnector.connect_send()` / `connect_recv()` run on a sending or
receiving link (`connector_zmq.sender`, `connector_zmq.receiver`; the topology is in the
package docstring). `ZMQChannel(send_socket=..., recv_socket=...)`, as in the reference API,
wraps sockets the caller made (`connector_zmq.socket_link`).

Core's `TransportChannel` serializes, signs, counts, checks the event loop and closes; the
links move frames and verify them on arrival.
"""

from __future__ import annotations

import asyncio
from typing import Any

import zmq
import zmq.asyncio

from connector_core.codec import Codec
from connector_core.transport import RecvTransport, SendTransport, Verifier
from connector_core.transport_channel import TransportChannel
from connector_zmq.socket_link import SocketReceiver, SocketSender

__all__ = ["ZMQ_CHAN_MAXSIZE", "ZMQChannel"]

ZMQ_CHAN_MAXSIZE = 2000
"""The reference API's default `maxsize` for a ZMQChannel."""


class ZMQChannel(TransportChannel):
    """ZMQChannel enables data exchange between processes using ZeroMQ.

    Made by `ZMQConnector`, a channel is one sender or one receiver of a connection between
    any number of processes; `maxsize` bounds what is buffered between one sender and its
    receivers (the sender's queue plus what its receivers have not given credit back for),
    and `send()` waits beyond it.
    """

    def __init__(
        self,
        *args: Any,
        send_socket: zmq.Socket[bytes] | zmq.asyncio.Socket | None = None,
        recv_socket: zmq.Socket[bytes] | zmq.asyncio.Socket | None = None,
        topic: str = "",
        maxsize: int = ZMQ_CHAN_MAXSIZE,
        codec: Codec | None = None,
        sender: SendTransport | None = None,
        receiver: RecvTransport | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
        **kwargs: Any,
    ) -> None:
        """Instantiates a ZMQChannel over caller-provided sockets (or a connector's link).

        Args:
            *args: Passed to `TransportChannel`.
            send_socket: Optional; The ZeroMQ socket for sending messages.
            recv_socket: Optional; The ZeroMQ socket for receiving messages.
            topic: Optional; prefix frame for PUB/SUB sockets (pubsub mode channels).
            maxsize: Optional; Queue maximum item capacity, defaults to 2000.
            codec: Optional; how items become frames (default: pickle, a fresh key).
            sender: Optional; a sending link (how `ZMQConnector` builds channels).
            receiver: Optional; a receiving link (how `ZMQConnector` builds channels).
            loop: Optional; the event loop the channel belongs to.
            **kwargs: Passed to `TransportChannel`.

        Raises:
            TypeError: If neither a socket nor a link is given, both kinds are, or a socket
                is not a zmq socket.
        """
        if send_socket is not None or recv_socket is not None:
            if sender is not None or receiver is not None:
                raise TypeError("give ZMQChannel sockets or links (sender=/receiver=), not both")
            codec = codec if codec is not None else Codec.generate()
            if send_socket is not None:
                sender = SocketSender(send_socket, topic)
            if recv_socket is not None:
                receiver = SocketReceiver(
                    recv_socket, Verifier(codec, "ZMQChannel"), senders=int(sender is not None)
                )
        elif sender is None and receiver is None:
            raise TypeError(
                "ZMQChannel needs send_socket and/or recv_socket; to connect processes use "
                "ZMQConnector(spec).connect_send() / connect_recv()"
            )
        super().__init__(
            *args,
            sender=sender,
            receiver=receiver,
            maxsize=maxsize,
            codec=codec,
            loop=loop,
            **kwargs,
        )
