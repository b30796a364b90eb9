"""Waiting for ZeroMQ sockets without losing a wake-up: `wait_readable`.

A ZeroMQ socket's `FD` only says "look at `EVENTS` now", and reading `EVENTS` or messages
resets it (edge-triggered). This helper follows the one safe pattern: check `EVENTS` first;
only when no socket has a message, watch the FDs with the event loop (any message arriving
after the check signals the FD again). Channels read with non-blocking calls on plain
(synchronous) sockets and use this to wait, so nothing depends on another object's view of
the socket state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Final

import zmq

__all__ = [
    "POLLIN",
    "events_of",
    "fd_of",
    "next_message",
    "next_routed",
    "wait_readable",
    "yield_to_loop",
]

# pyzmq's constants are enums: `events & zmq.POLLIN` builds a flag object, which costs more
# than the option read itself on the per-message path. These are the plain ints.
POLLIN: Final = int(zmq.POLLIN)
"""`zmq.POLLIN` as a plain int, for testing `events_of()`."""
_EVENTS: Final = int(zmq.EVENTS)
_NOBLOCK: Final = int(zmq.NOBLOCK)
_RCVMORE: Final = int(zmq.RCVMORE)


def events_of(sock: zmq.Socket[Any]) -> int:
    """The socket's `ZMQ_EVENTS` (processing its pending commands)."""
    return int(sock.get(_EVENTS))


def next_message(sock: zmq.Socket[bytes]) -> list[bytes] | None:
    """The socket's next message if one is here now, else None.

    Asks `EVENTS` first: an empty socket costs one option read, not a raised `zmq.Again`
    (a drain loop ends on an empty socket every time, so that is most of its cost).
    """
    if not int(sock.get(_EVENTS)) & POLLIN:
        return None
    try:
        return sock.recv_multipart(_NOBLOCK)
    except zmq.Again:  # pragma: no cover - EVENTS said a message was there
        return None


def next_routed(sock: zmq.Socket[bytes]) -> list[bytes] | None:
    """`next_message` of a ROUTER socket: its peer's routing id first, then its parts.

    A ROUTER message always has that id and at least one part: two receives, then
    `RCVMORE` only for further parts (`recv_multipart` asks after every part, and each ask
    costs about as much as a receive). Every part is copied out of ZeroMQ's message, once:
    a `bytes` item needs that copy anyway. (Lending views instead was once seen to lose a
    sender's last items; the cause was most likely the reset of a socket closed too early,
    which `connector_zmq.closing` has since fixed, not the views.)
    """
    if not int(sock.get(_EVENTS)) & POLLIN:
        return None
    recv = sock.recv
    try:
        parts = [recv(_NOBLOCK), recv(_NOBLOCK)]
    except zmq.Again:  # pragma: no cover - EVENTS said a message was there
        return None
    while sock.get(_RCVMORE):
        parts.append(recv(_NOBLOCK))
    return parts


def fd_of(sock: zmq.Socket[Any]) -> int:
    """The socket's `ZMQ_FD`, to watch with the event loop."""
    return int(sock.get(zmq.FD))


async def yield_to_loop() -> None:
    """Lets the other tasks of the loop run once."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()
    loop.call_soon(_resolve, future)
    await future


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():  # it was cancelled meanwhile (the waiter was cancelled)
        future.set_result(None)


def _readable(sockets: Sequence[zmq.Socket[Any]], events: int) -> bool:
    return any(events_of(sock) & events for sock in sockets)


async def wait_readable(
    sockets: Sequence[zmq.Socket[Any]],
    timeout: float | None = None,
    events: int = zmq.POLLIN,
    woken: asyncio.Future[None] | None = None,
) -> bool:
    """Waits until one of `sockets` has `events` (a message, by default) or `timeout` passes.

    Always yields to the loop at least once, so a caller that loops on it cannot starve the
    other tasks. Cancelling it loses nothing: it never takes a message.

    Args:
        sockets: The sockets to watch.
        timeout: Optional; seconds to wait at most.
        events: Optional; what to wait for (`zmq.POLLIN` by default).
        woken: Optional; a future that ends the wait early when someone resolves it.

    Returns:
        True if a socket is ready (or `woken` was resolved), False on timeout.
    """
    if _readable(sockets, events):
        await yield_to_loop()
        return True
    loop = asyncio.get_running_loop()
    if woken is None:
        woken = loop.create_future()

    def wake() -> None:
        assert woken is not None
        if not woken.done():
            woken.set_result(None)

    fds = [fd_of(sock) for sock in sockets]
    for fd in fds:
        loop.add_reader(fd, wake)
    try:
        if timeout is None:
            await woken
        else:
            try:
                async with asyncio.timeout(timeout):
                    await woken
            except TimeoutError:
                return _readable(sockets, events)
    finally:
        for fd in fds:
            loop.remove_reader(fd)
    return True
