"""`Link`: what the sending and receiving transports of a ZMQ connection share.

A link is the transport under one `ZMQChannel` (`connector_core.transport`): the sending link
is a `SendTransport`, the receiving link a `RecvTransport`. Each link owns its sockets (made
from the process's `zmq.asyncio.Context`, with `MAXMSGSIZE` and a receive high-water mark)
and one background task, the *pump*. A loop reader on each socket handles what arrives
there in its callback, without blocking; the pump wakes only when kicked (a socket was
added, or a send may have hidden a message's signal) and then handles everything queued.
User calls never await a ZeroMQ receive: they try the non-blocking operation first and
otherwise wait on an `asyncio.Event` that the readers and the pump set, so cancelling them
can never lose a message half-way.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import zmq
import zmq.asyncio

from connector_core.codec import Codec
from connector_core.exceptions import ChannelClosedError, ChannelError, ChannelSetupError
from connector_zmq import access
from connector_zmq import protocol as p
from connector_zmq.waiting import (
    POLLIN,
    events_of,
    fd_of,
    next_message,
    wait_readable,
    yield_to_loop,
)

__all__ = ["CONTROL_TIMEOUT", "Link", "LinkSetup", "OnFinished", "make_socket"]

CONTROL_TIMEOUT = 30.0
"""Seconds to wait for the rendezvous before a connect or close fails with a clear error."""

OnFinished = Callable[[], Awaitable[None]]
"""Awaited by a link's `close()` when the rendezvous says the whole connection is over."""


def make_socket(context: zmq.asyncio.Context, kind: int) -> zmq.Socket[bytes]:
    """A plain socket of `context` with the options every link socket has.

    Raises:
        ChannelSetupError: If the process has run out of file descriptors.
    """
    # made through the context so that it tracks the socket: ending the context (at exit)
    # closes what a user never closed instead of waiting for it forever
    make: Any = context.socket  # typed for asyncio sockets only
    try:
        sock: zmq.Socket[bytes] = make(kind, socket_class=zmq.Socket)
    except zmq.ZMQError as exc:
        raise p.socket_error(exc) from exc
    p.configure(sock)
    return sock


@dataclass(frozen=True)
class LinkSetup:
    """What a link needs to know of its connection; the connector makes one per link."""

    context: zmq.asyncio.Context
    """The process's ZeroMQ context."""
    address: str
    """The rendezvous address."""
    codec: Codec
    """The connection's codec (its key proves membership)."""
    pubsub: bool
    """True in pubsub mode."""
    maxsize: int
    """The channel's `maxsize` (`<= 0`: unbounded)."""
    on_finished: OnFinished | None = None
    """Optional; awaited by `close()` once the connection is over."""
    in_process: bool = True
    """Optional; False: a sender reaches receivers of its own process over TCP too, not
    through their inproc endpoints (`connector_zmq.inproc`)."""


class Link(ABC):
    """Base of the sending and receiving links; subclasses implement `_drain`."""

    def __init__(self, setup: LinkSetup) -> None:
        """Prepares a link; `open()` does the I/O.

        Args:
            setup: Its connection's context, rendezvous, codec, mode and `maxsize`.
        """
        self.pid = p.new_id()
        self.setup = setup
        self._changed = asyncio.Event()
        self._error: BaseException | None = None
        self._task: asyncio.Task[None] | None = None
        self._watched: dict[zmq.Socket[bytes], int] = {}
        self._closing = False
        self._woken: asyncio.Future[None] | None = None
        self._ctrl: zmq.Socket[bytes] | None = None

    # -- the control link ------------------------------------------------------------------

    def _control(self) -> zmq.Socket[bytes]:
        assert self._ctrl is not None
        return self._ctrl

    async def _open_control(self, *parts: bytes) -> list[bytes]:
        """Connects to the rendezvous, sends `parts` and returns the reply.

        Raises:
            ChannelSetupError: If the rendezvous does not answer in time.
        """
        await self._probe_rendezvous()
        self._ctrl = ctrl = make_socket(self.setup.context, zmq.DEALER)
        ctrl.setsockopt(zmq.ROUTING_ID, self.pid)
        access.secure_client(ctrl, self.setup.codec)
        ctrl.connect(self.setup.address)
        ctrl.send_multipart(list(parts))
        return await self._control_reply((p.OK, p.REFUSED))

    async def _probe_rendezvous(self) -> None:
        """Fails fast when nothing listens at the rendezvous address any more.

        ZeroMQ retries refused connections forever; one plain TCP connect tells a finished
        connection (refused) from a slow one.

        Raises:
            ChannelClosedError: If the rendezvous refuses connections (it has stopped).
        """
        host, _, port = self.setup.address.removeprefix("tcp://").rpartition(":")
        try:
            async with asyncio.timeout(CONTROL_TIMEOUT):
                _, writer = await asyncio.open_connection(host.strip("[]"), int(port))
        except ConnectionRefusedError:
            raise ChannelClosedError(
                f"nothing listens at this connection's rendezvous ({self.setup.address}): the "
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
                        f"the connection's rendezvous at {self.setup.address} did not answer "
                        f"within {CONTROL_TIMEOUT:.0f} s: the process that created the connector "
                        "must keep running while others use the connection"
                    ) from None
                continue
            if msg[0] in kinds:
                return msg
            self._on_control(msg)

    def _drain_control(self) -> None:
        ctrl = self._control()
        while (msg := next_message(ctrl)) is not None:
            self._on_control(msg)

    async def _finish_control(self, *parts: bytes) -> None:
        """Sends the last control message and waits for its ACK.

        When the rendezvous answers that the whole connection is over, awaits `on_finished`.
        """
        ctrl = self._control()
        ctrl.send_multipart(list(parts))
        try:
            reply = await self._control_reply((p.ACK,))
        except ChannelSetupError:
            return
        finally:
            ctrl.close(p.LINGER_MS)
        if reply[1] == b"1" and self.setup.on_finished is not None:
            await self.setup.on_finished()

    @abstractmethod
    def _on_control(self, msg: list[bytes]) -> None:
        """Handles one message from the rendezvous."""

    @abstractmethod
    def _sockets(self) -> list[zmq.Socket[bytes]]:
        """The sockets the pump waits on."""

    @abstractmethod
    def _drain(self) -> None:
        """Handles everything readable now, without blocking."""

    def _drain_socket(self, sock: zmq.Socket[bytes]) -> None:
        """Handles what `sock`, whose loop reader fired, holds (by default: `_drain`).

        Enough on its own: a socket's FD is re-armed by reading it empty, and only an
        operation on that socket can consume its signal (a send is followed by `_sent_on`).
        """
        del sock
        self._drain()

    # -- the pump ----------------------------------------------------------------------------

    def _start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._pump())

    async def _wait_sockets(self) -> None:
        """Waits until a socket has a message or `_kick` is called.

        The pump's sockets keep a reader on the event loop while the pump runs (`_watch`), not
        one added and removed per wait. Safe with ZeroMQ's edge-triggered FD (see `waiting`):
        EVENTS is checked before every wait, and the reader (`_on_readable`) handles what
        arrives right in its callback, so a `recv()` waiting for a lone item resumes without
        waiting for the pump's turn.
        """
        sockets = self._watch()
        if any(events_of(sock) & POLLIN for sock in sockets):
            await yield_to_loop()
            return
        woken = self._woken = asyncio.get_running_loop().create_future()
        try:
            await woken
        finally:
            self._woken = None

    def _watch(self) -> list[zmq.Socket[bytes]]:
        """Keeps a loop reader on exactly the sockets the pump waits on; returns them."""
        sockets = self._sockets()
        watched = self._watched
        if len(sockets) != len(watched) or any(sock not in watched for sock in sockets):
            for sock in [sock for sock in watched if sock not in sockets]:
                self._unwatch(sock)
            loop = asyncio.get_running_loop()
            for sock in sockets:
                if sock not in watched:
                    watched[sock] = fd = fd_of(sock)
                    loop.add_reader(fd, self._on_readable, sock)
        return sockets

    def _unwatch(self, sock: zmq.Socket[bytes]) -> None:
        """Removes `sock`'s loop reader, if it has one: call it before closing a socket."""
        fd = self._watched.pop(sock, None)
        if fd is not None:
            asyncio.get_running_loop().remove_reader(fd)

    def _unwatch_all(self) -> None:
        for sock in list(self._watched):
            self._unwatch(sock)

    def _on_readable(self, sock: zmq.Socket[bytes]) -> None:
        """The loop's reader callback: drains at once if the pump waits, else resets the FD.

        The pump stays parked: `_drain_socket` read the socket until EVENTS said it was
        empty, which re-arms its FD, so there is nothing for the pump to check (it wakes only
        when kicked, or when `_sent_on` finds a message a send may have hidden): a lone item
        costs no turn of the pump. Nobody waiting means the pump is between waits and checks
        EVENTS before the next: reading EVENTS here only stops the level-triggered reader
        from firing again.
        """
        woken = self._woken
        if woken is None or woken.done():
            events_of(sock)
            return
        try:
            self._drain_socket(sock)
        except Exception as exc:
            if not woken.done():
                woken.set_exception(exc)  # the pump fails with it
            return
        self._changed.set()

    def _pump_waits(self) -> bool:
        """Whether the pump waits on its sockets now.

        Then its loop reader handles what arrives (it drains in its callback), so a caller
        need not drain before waiting.
        """
        woken = self._woken
        return woken is not None and not woken.done()

    def _kick(self) -> None:
        """Wakes the pump if it is waiting (it runs `_drain` once more)."""
        woken = self._woken
        if woken is not None and not woken.done():
            woken.set_result(None)

    def _sent_on(self, sock: zmq.Socket[bytes]) -> None:
        """Call after sending, outside the pump, on a socket the pump watches.

        A send processes the socket's pending commands, which can consume the FD signal of
        a message that arrived meanwhile: look at EVENTS and wake the pump if so.
        """
        woken = self._woken
        if woken is not None and not woken.done() and events_of(sock) & POLLIN:
            woken.set_result(None)

    async def _pump(self) -> None:
        try:
            while True:
                await self._wait_sockets()  # returns when kicked or `_sent_on` woke it
                self._drain()
                self._changed.set()
        except asyncio.CancelledError:
            self._unwatch_all()
            raise
        except Exception as exc:
            self._unwatch_all()
            self._error = exc
            error = ChannelError(f"the ZeroMQ link failed: {exc!r}")
            error.__cause__ = exc
            self._failed(error)
            self._changed.set()

    def _failed(self, error: ChannelError) -> None:
        """Called once when the pump failed: `error` is what waiting callers should raise."""
        del error

    async def _stop_pump(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._unwatch_all()

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

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.pid.decode()})"
