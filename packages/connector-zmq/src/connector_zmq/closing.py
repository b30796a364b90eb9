"""Closing data links without losing what is still on the wire: `end_links`, `read_until_answered`.

ZeroMQ's linger keeps a closed socket sending what it had queued, but it cannot stop TCP
from throwing data away. A socket closed while a message from its peer is still arriving (a
receiver's CREDIT, sent as its user takes items) is *reset* by the kernel, and a reset
connection loses what the receiving kernel had not yet handed to ZeroMQ: the sender's last
items and its END. The receiver then waits for an END that never comes. (A sender that
shipped its whole window and closed at once, while its receiver took items, lost its tail
about one time in twenty on a loaded machine.)

So a closing sender sends END on every data link and keeps its sockets open until each
receiver it is linked to (also one whose grant has not arrived yet: it still reads the
HELLO and the END, and its process must see that END, as the rendezvous tells it) has

- answered `END_SEEN`: it read the END, hence everything before it, and sends this sender
  nothing more (the END ended its credits);
- said `BYE`: it is closing, and reads the END as this sender's answer;
- or been reported gone by the rendezvous (`RECEIVER_LEFT`: it left, or its process died).

Only then are the sockets closed: nothing can be arriving on them any more, so TCP closes
them gracefully. The wait depends on each receiver's event loop reading its socket, not on
its user taking items (a receiver reads everything its credits allowed as it arrives). It is
bounded: a receiver that answers nothing within the timeout (a hung process on another host,
which the rendezvous cannot watch) is named in a warning and its socket closed anyway.

A leaving pipeline receiver waits the same way, the other way round (`read_until_answered`):
it tells its senders BYE and keeps reading until each answered (DETACH, or END if it was
closing) and the rendezvous acknowledged, so every item already on its way is in its queue
when it hands the queue back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Set

import zmq

from connector_zmq import protocol as p
from connector_zmq.link import CONTROL_TIMEOUT
from connector_zmq.peers import Peer
from connector_zmq.waiting import next_message, wait_readable

__all__ = ["END_SEEN_TIMEOUT", "await_ends_seen", "end_links", "read_until_answered"]

END_SEEN_TIMEOUT = 30.0
"""Seconds a closing sender waits for its receivers to confirm its END."""


async def end_links(
    pid: bytes,
    ring: list[Peer],
    control: zmq.Socket[bytes],
    on_control: Callable[[list[bytes]], None],
) -> None:
    """Sends END on every link of `ring`, waits until each was seen, then closes them all.

    `ring` is empty afterwards, also when cancelled (the sockets are closed then too).

    Args:
        pid: The closing sender's id, for the warning about receivers that did not answer.
        ring: The sender's peers.
        control: The sender's socket to the rendezvous.
        on_control: Handles one message from the rendezvous (it may remove peers that left).
    """
    for peer in ring:
        with contextlib.suppress(zmq.ZMQError):
            peer.sock.send_multipart([b"", p.END], zmq.NOBLOCK)
    try:
        if silent := await await_ends_seen(ring, control, on_control, END_SEEN_TIMEOUT):
            p.log.warning(
                "closing sender %s: receivers %s did not confirm its END within %.0f s; what "
                "was still on the wire to them may be lost",
                pid.decode(),
                [peer.rid.decode() for peer in silent],
                END_SEEN_TIMEOUT,
            )
    finally:
        for peer in ring:
            peer.sock.close(p.LINGER_MS)
        ring.clear()


async def await_ends_seen(
    ring: list[Peer],
    control: zmq.Socket[bytes],
    on_control: Callable[[list[bytes]], None],
    timeout: float,
) -> list[Peer]:
    """Waits until every peer of `ring` saw this sender's END.

    Call after sending END on every link, with the pump stopped: this reads the sockets.
    Messages from the rendezvous go to `on_control` (which removes a peer that left from
    `ring` and closes its socket); credits that arrive meanwhile are dropped (nothing more is
    sent).

    Args:
        ring: The sender's peers, which `on_control` may shrink.
        control: The sender's socket to the rendezvous.
        on_control: Handles one message from the rendezvous.
        timeout: Seconds to wait at most.

    Returns:
        The peers still in `ring` that did not answer within `timeout` (usually none).
    """
    waiting = list(ring)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        while (msg := next_message(control)) is not None:
            on_control(msg)
        waiting = [peer for peer in waiting if peer in ring and not _answered(peer)]
        remaining = deadline - loop.time()
        if not waiting or remaining <= 0:
            return waiting
        await wait_readable([control, *(peer.sock for peer in waiting)], remaining)


def _answered(peer: Peer) -> bool:
    """Reads what `peer` sent: whether it saw the END (or is closing itself)."""
    while (msg := next_message(peer.sock)) is not None:
        if len(msg) >= 2 and msg[1] in (p.END_SEEN, p.BYE):
            return True
    return False


async def read_until_answered(
    pid: bytes,
    sockets: list[zmq.Socket[bytes]],
    drain: Callable[[], None],
    answered: Callable[[], bool],
    silent: Callable[[], Set[bytes]],
) -> None:
    """A leaving pipeline receiver's wait: reads until its senders and the rendezvous answered.

    Every sender with credit at the receiver answers its BYE (DETACH, or END if it was
    closing), and the rendezvous its LEAVING; what arrives meanwhile is queued, to be handed
    back. Bounded by `CONTROL_TIMEOUT`: the senders still silent then are named in a warning.

    Args:
        pid: The receiver's id, for the warning.
        sockets: Its data and control sockets.
        drain: Handles what they hold.
        answered: Whether everyone answered.
        silent: The senders that have not.
    """
    try:
        async with asyncio.timeout(CONTROL_TIMEOUT):
            while True:
                drain()
                if answered():
                    return
                await wait_readable(sockets)
    except TimeoutError:
        p.log.warning(
            "closing receiver %s: senders %s did not answer within %.0f s; items they "
            "still had in flight to it are lost",
            pid.decode(),
            sorted(s.decode() for s in silent()),
            CONTROL_TIMEOUT,
        )
