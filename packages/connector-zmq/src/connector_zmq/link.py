"""`Link`: what a ZMQ channel's sending or receiving end shares (sockets, pump, waiting).

A link is the transport side of one `ZMQChannel`. Each link owns its sockets (made from the
process's `zmq.asyncio.Context`) and one background task, the *pump*, that waits until a
socket is readable and then handles everything queued there without blocking. User calls
never await a ZeroMQ receive: they try the non-blocking operation first and otherwise wait
on an `asyncio.Event` the pump sets, so cancelling them can never lose a message half-way.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from typing import Any

import zmq
import zmq.asyncio

from connector_core.exceptions import ChannelClosedError, ChannelError, ChannelSetupError
from connector_core.serde import Codec
from connector_zmq import protocol as p
from connector_zmq.waiting import events_of, fd_of, wait_readable, yield_to_loop

__all__ = ["CONTROL_TIMEOUT", "Link", "SocketPair"]

Socket = zmq.Socket[bytes]

CONTROL_TIMEOUT = 30.0
"""Seconds to wait for the rendezvous before a connect or close fails with a clear error."""

SocketPair = tuple["zmq.Socket[bytes]", "zmq.Socket[bytes]"]
"""A socket twice: the owner (closed by the link) and the handle for NOBLOCK calls."""


class Link(ABC):
    """Base of the sending and receiving links; subclasses implement `_drain`."""

    can_send = False
    can_recv = False

    def __init__(
        self,
        context: zmq.asyncio.Context,
        address: str,
        codec: Codec,
        *,
        pubsub: bool,
        maxsize: int,
    ) -> None:
        """Prepares a link; `open()` does the I/O.

        Args:
            context: The process's ZeroMQ context.
            address: The rendezvous address.
            codec: The connection's codec (its key proves membership).
            pubsub: True in pubsub mode.
            maxsize: The channel's `maxsize` (`<= 0`: unbounded).
        """
        self.pid = p.new_id()
        self._context = context
        self._address = address
        self._codec = codec
        self._pubsub = pubsub
        self._maxsize = maxsize
        self._changed = asyncio.Event()
        self._error: BaseException | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._woken: asyncio.Future[None] | None = None
        self._ctrl: zmq.Socket[bytes] | None = None
        self._ctrl_s: zmq.Socket[bytes] | None = None

    # -- sockets -----------------------------------------------------------------------------

    def _socket(self, kind: int, **options: int) -> SocketPair:
        # made through the context so that it tracks the socket: ending the context (at
        # exit) closes what a user never closed instead of waiting for it forever
        make: Any = self._context.socket  # typed for asyncio sockets only
        sock: zmq.Socket[bytes] = make(kind, socket_class=zmq.Socket)
        sock.setsockopt(zmq.LINGER, p.LINGER_MS)
        sock.setsockopt(zmq.SNDHWM, 0)  # credits bound what is in flight, not the HWM
        sock.setsockopt(zmq.RCVHWM, 0)
        for name, value in options.items():
            sock.setsockopt(getattr(zmq, name), value)
        return sock, sock

    def _control(self) -> zmq.Socket[bytes]:
        assert self._ctrl_s is not None
        return self._ctrl_s

    async def _open_control(self, *parts: bytes) -> list[bytes]:
        """Connects to the rendezvous, sends `parts` and returns the reply.

        Raises:
            ChannelSetupError: If the rendezvous does not answer in time.
        """
        await self._probe_rendezvous()
        self._ctrl, self._ctrl_s = self._socket(zmq.DEALER)
        self._ctrl_s.setsockopt(zmq.ROUTING_ID, self.pid)
        self._ctrl_s.connect(self._address)
        self._ctrl_s.send_multipart(list(parts))
        return await self._control_reply((p.OK, p.REFUSED))

    async def _probe_rendezvous(self) -> None:
        """Fails fast when nothing listens at the rendezvous address any more.

        ZeroMQ retries refused connections forever; one plain TCP connect tells a finished
        connection (refused) from a slow one.

        Raises:
            ChannelClosedError: If the rendezvous refuses connections (it has stopped).
        """
        host, _, port = self._address.removeprefix("tcp://").rpartition(":")
        try:
            async with asyncio.timeout(CONTROL_TIMEOUT):
                _, writer = await asyncio.open_connection(host.strip("[]"), int(port))
        except ConnectionRefusedError:
            raise ChannelClosedError(
                f"nothing listens at this connection's rendezvous ({self._address}): the "
                "connection is over (every sender closed and every receiver left), the "
                "process that created the connector has exited, or that process dropped its "
                "connector and nobody joined within CONNECTOR_ZMQ_JOIN_TIMEOUT seconds (keep "
                "the connector referenced there until the others have connected)"
            ) from None
        except (OSError, TimeoutError):
            return  # let ZeroMQ try, and time out with its own error
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()

    async def _control_reply(self, kinds: tuple[bytes, ...]) -> list[bytes]:
        """Reads control messages (the pump is not running) until one of `kinds`.

        Other messages are handled by `_on_control`. Raises `ChannelSetupError` on timeout.
        """
        assert self._ctrl is not None
        ctrl = self._control()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CONTROL_TIMEOUT
        while True:
            try:
                msg = ctrl.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                remaining = deadline - loop.time()
                if remaining <= 0 or not await wait_readable([ctrl], remaining):
                    raise ChannelSetupError(
                        f"the connection's rendezvous at {self._address} did not answer within "
                        f"{CONTROL_TIMEOUT:.0f} s: the process that created the connector must "
                        "keep running while others use the connection"
                    ) from None
                continue
            if msg[0] in kinds:
                return msg
            self._on_control(msg)

    def _drain_control(self) -> None:
        ctrl = self._control()
        while True:
            try:
                msg = ctrl.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            self._on_control(msg)

    @abstractmethod
    def _on_control(self, msg: list[bytes]) -> None:
        """Handles one message from the rendezvous."""

    @abstractmethod
    def _sockets(self) -> list[zmq.Socket[bytes]]:
        """The sockets the pump waits on."""

    @abstractmethod
    def _drain(self) -> None:
        """Handles everything readable now, without blocking."""

    # -- the pump ------------------------------------------------------------------------------

    def _start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._pump())

    async def _wait_sockets(self) -> None:
        """Waits until a socket has a message (or `_kick` is called); see `waiting`."""
        sockets = self._sockets()
        if any(events_of(sock) & zmq.POLLIN for sock in sockets):
            await yield_to_loop()
            return
        loop = asyncio.get_running_loop()
        woken: asyncio.Future[None] = loop.create_future()
        self._woken = woken

        def wake() -> None:
            if not woken.done():
                woken.set_result(None)

        fds = [fd_of(sock) for sock in sockets]
        for fd in fds:
            loop.add_reader(fd, wake)
        try:
            await woken
        finally:
            self._woken = None
            for fd in fds:
                loop.remove_reader(fd)

    def _sent_on(self, sock: zmq.Socket[bytes]) -> None:
        """Call after sending on a socket the pump watches.

        A send processes the socket's pending commands, which can consume the FD signal of
        a message that arrived meanwhile: look at EVENTS and wake the pump if so.
        """
        woken = self._woken
        if woken is not None and not woken.done() and events_of(sock) & zmq.POLLIN:
            woken.set_result(None)

    async def _pump(self) -> None:
        try:
            while True:
                await self._wait_sockets()
                self._drain()
                self._changed.set()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._error = exc
            self._changed.set()

    async def _stop_pump(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _wait_changed(self) -> None:
        """Waits until the pump handled something (or the link is closing).

        Raises:
            ChannelError: If the pump failed.
        """
        self._changed.clear()
        await self._changed.wait()
        self._check_error()

    def _check_error(self) -> None:
        if self._error is not None:
            raise ChannelError(f"the ZeroMQ link failed: {self._error!r}") from self._error

    async def _finish_control(self, *parts: bytes) -> bool:
        """Sends the last control message and waits for its ACK; True if the connection is over."""
        ctrl = self._control()
        ctrl.send_multipart(list(parts))
        try:
            reply = await self._control_reply((p.ACK,))
        except ChannelSetupError:
            return False
        finally:
            assert self._ctrl is not None
            self._ctrl.close(p.LINGER_MS)
        return reply[1] == b"1"

    # -- what channels call -------------------------------------------------------------------

    def try_send(self, frame: bytes) -> bool:
        """Sends or queues one frame without waiting; False when `send()` must be awaited."""
        del frame
        return False

    def try_recv(self) -> bytes | None:
        """The next frame if one is here now, else None (then await `recv()`)."""
        return None

    async def send(self, frame: bytes) -> None:
        """Sends one frame.

        Raises:
            ChannelError: If this link cannot send.
        """
        raise ChannelError("this channel was made by connect_recv(): it cannot send")

    async def recv(self) -> bytes:
        """Receives one frame.

        Raises:
            ChannelError: If this link cannot receive.
        """
        raise ChannelError("this channel was made by connect_send(): it cannot receive")

    @abstractmethod
    async def close(self) -> bool:
        """Closes the link; returns True when the whole connection is over."""

    def buffered(self) -> int:
        """Items held by this link now."""
        return 0

    def peer_counts(self) -> tuple[int, int]:
        """(senders, receivers) this link knows of."""
        return (0, 0)

    def _closed_error(self) -> ChannelClosedError:
        return ChannelClosedError("ZMQChannel is closed")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.pid.decode()})"
