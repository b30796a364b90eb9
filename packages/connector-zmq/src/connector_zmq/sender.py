"""`SenderLink`: the sending end of a ZMQ connection.

A sender registers with the rendezvous, which answers with the live receivers' addresses and
later tells it of receivers that join or leave. For each receiver it opens one DEALER socket
connected to that receiver's ROUTER and says HELLO; the receiver answers with *credits*: the
number of items it will accept from this sender (its window, `maxsize // 4` in a pipeline,
`maxsize` in pubsub). Every item sent to a receiver spends one credit; receivers give
credits back as their user takes items. So nothing grows without bound when a receiver is
slow, and the send path needs no acknowledgement per item:

- pipeline: an item goes to the next receiver (round robin) that has credit, with a
  non-blocking send; when none has, up to `maxsize - window` items wait in the sender's own
  queue, and beyond that `send()` waits for credits. Closing flushes that queue to the
  receivers (or, when there are none, hands it to the rendezvous for later receivers).
- pubsub: an item goes to every receiver known when it is sent, once each has credit; a
  `send()` that must wait does so before sending anything, so a cancelled send reached all
  receivers or none.

`close()` sends END on every data link (after everything sent before it) and tells the
rendezvous, with the list of receivers it had connected to, so each of them knows to wait
for that END.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

import zmq
import zmq.asyncio

from connector_core.exceptions import ChannelClosedError
from connector_zmq import protocol as p
from connector_zmq.link import Link

__all__ = ["SenderLink"]


class _Peer:
    __slots__ = ("credit", "outbox", "outbytes", "rid", "sock", "sync")

    def __init__(self, rid: bytes, sock: zmq.Socket[bytes], sync: zmq.Socket[bytes]) -> None:
        self.rid = rid
        self.sock = sock
        self.sync = sync
        self.credit = 0
        self.outbox: list[bytes] = []
        self.outbytes = 0


class SenderLink(Link):
    """The sending end: direct DEALER links to every receiver, spending their credits."""

    can_send = True

    async def open(self) -> None:
        """Registers with the rendezvous and connects to the live receivers.

        Raises:
            ChannelClosedError: If every sender of the connection has already closed.
            ChannelSetupError: If the rendezvous cannot be reached.
        """
        self._peers: dict[bytes, _Peer] = {}
        self._ring: list[_Peer] = []
        self._next_index = 0
        self._pending: deque[bytes] = deque()
        self._loop = asyncio.get_running_loop()
        self._ship_scheduled = False
        if self._maxsize > 0:
            window = p.window(self._maxsize, self._pubsub)
            self._cap: int | None = self._maxsize - window
        else:
            self._cap = None
        reply = await self._open_control(
            p.REG_SENDER, p.credentials(self._codec, self.pid), p.process_token()
        )
        if reply[0] == p.REFUSED:
            assert self._ctrl is not None
            self._ctrl.close(0)
            raise ChannelClosedError(
                "this connection has ended (every sender closed); build a new connector"
            )
        for rid, address in p.loads(reply[1]).items():
            self._add(rid.encode(), address)
        self._start()

    # -- membership ----------------------------------------------------------------------------

    def _add(self, rid: bytes, address: str) -> None:
        if rid in self._peers or self._closing:
            return
        sock, sync = self._socket(zmq.DEALER)
        sync.setsockopt(zmq.ROUTING_ID, self.pid)
        sync.connect(address)
        sync.send_multipart([b"", p.HELLO, p.credentials(self._codec, self.pid)])
        self._sent_on(sync)
        peer = _Peer(rid, sock, sync)
        self._peers[rid] = peer
        self._ring.append(peer)

    def _drop(self, rid: bytes) -> None:
        peer = self._peers.pop(rid, None)
        if peer is None:
            return
        self._ring.remove(peer)
        with contextlib.suppress(zmq.ZMQError):
            if peer.outbox:
                self._ship(peer)
            peer.sync.send_multipart([b"", p.DETACH], zmq.NOBLOCK)
        peer.sock.close(p.LINGER_MS)

    def _on_control(self, msg: list[bytes]) -> None:
        kind = msg[0]
        if kind == p.RECEIVER_JOINED:
            self._add(msg[1], msg[2].decode())
        elif kind == p.RECEIVER_LEFT:
            self._drop(msg[1])

    def _sockets(self) -> list[zmq.Socket[bytes]]:
        assert self._ctrl is not None
        return [self._ctrl, *(peer.sock for peer in self._ring)]

    def _drain(self) -> None:
        self._drain_control()
        for peer in list(self._ring):
            while True:
                try:
                    msg = peer.sync.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                if len(msg) >= 3 and msg[1] == p.CREDIT:
                    peer.credit += p.unpack_count(msg[2])
                elif len(msg) >= 2 and msg[1] == p.BYE:
                    self._drop(peer.rid)
                    break
        if self._pending:
            self._flush()

    # -- sending -------------------------------------------------------------------------------

    def _put(self, peer: _Peer, frame: bytes) -> None:
        """Spends a credit of `peer` on `frame`; the frame leaves in this loop iteration."""
        peer.credit -= 1
        outbox = peer.outbox
        outbox.append(frame)
        outbytes = peer.outbytes = peer.outbytes + len(frame)
        if outbytes >= p.MAX_BATCH_BYTES or len(outbox) >= p.MAX_BATCH_ITEMS:
            self._ship(peer)
        elif not self._ship_scheduled:
            self._ship_scheduled = True
            self._loop.call_soon(self._ship_all)

    def _ship(self, peer: _Peer) -> None:
        """Puts `peer`'s outbox on the wire: one frame alone, several as one batch."""
        outbox = peer.outbox
        if len(outbox) == 1:
            peer.sync.send(outbox[0], zmq.NOBLOCK)
        else:
            peer.sync.send_multipart([b"", p.BATCH, p.pack_batch(outbox)], zmq.NOBLOCK)
        peer.outbox = []
        peer.outbytes = 0
        self._sent_on(peer.sync)

    def _ship_all(self) -> None:
        self._ship_scheduled = False
        for peer in self._ring:
            if peer.outbox:
                self._ship(peer)

    def _next_peer(self) -> _Peer | None:
        ring = self._ring
        count = len(ring)
        if count == 1:
            return ring[0] if ring[0].credit > 0 else None
        for _ in range(count):
            self._next_index = (self._next_index + 1) % count
            peer = ring[self._next_index]
            if peer.credit > 0:
                return peer
        return None

    def _flush(self) -> None:
        pending = self._pending
        while pending:
            peer = self._next_peer()
            if peer is None:
                return
            self._put(peer, pending.popleft())

    def try_send(self, frame: bytes) -> bool:
        """Sends or queues one frame if that needs no waiting; False when `send()` must wait.

        Nothing happens when it returns False, so the caller may await `send()` instead.
        While items wait in the queue no receiver has credit (credits only arrive in
        `_drain`, which flushes the queue), so a new item joins the queue behind them.
        """
        if self._closing or self._error is not None:
            return False
        if self._pubsub:
            ring = self._ring
            for peer in ring:
                if peer.credit <= 0:
                    return False
            for peer in ring:
                self._put(peer, frame)
            return True
        pending = self._pending
        if not pending:
            target = self._next_peer()
            if target is not None:
                self._put(target, frame)
                return True
        cap = self._cap
        if cap is None or len(pending) < cap:
            pending.append(frame)
            return True
        return False

    async def send(self, frame: bytes) -> None:
        """Sends one frame; waits only while every buffer on the way is full.

        Raises:
            ChannelClosedError: If the link is closed (also while waiting).
            ChannelError: If the link failed.
        """
        if self._pubsub:
            await self._publish(frame)
            return
        drained = False
        while True:
            if self._closing:
                raise self._closed_error()
            self._check_error()
            if self._pending:
                self._flush()
            if not self._pending:
                peer = self._next_peer()
                if peer is not None:
                    self._put(peer, frame)
                    return
            if self._cap is None or len(self._pending) < self._cap:
                self._pending.append(frame)
                return
            if not drained:
                self._drain()
                drained = True
                continue
            await self._wait_changed()
            drained = False

    async def _publish(self, frame: bytes) -> None:
        drained = False
        while True:
            if self._closing:
                raise self._closed_error()
            self._check_error()
            ring = self._ring
            if all(peer.credit > 0 for peer in ring):
                for peer in ring:
                    self._put(peer, frame)
                return
            if not drained:
                self._drain()
                drained = True
                continue
            await self._wait_changed()
            drained = False

    # -- closing -------------------------------------------------------------------------------

    async def close(self) -> bool:
        """Flushes, sends END to every receiver and leaves; True when the connection is over."""
        if self._closing:
            return False
        self._closing = True
        self._changed.set()  # wake blocked sends: they raise ChannelClosedError
        try:
            while self._pending and self._ring and self._error is None:
                self._flush()
                if self._pending:
                    await self._wait_changed()
        finally:
            await self._stop_pump()
        with contextlib.suppress(zmq.ZMQError):
            self._drain()
        leftovers = list(self._pending)
        self._pending.clear()
        connected = [rid.decode() for rid in self._peers]
        for peer in self._ring:
            with contextlib.suppress(zmq.ZMQError):
                if peer.outbox:
                    self._ship(peer)
                peer.sync.send_multipart([b"", p.END], zmq.NOBLOCK)
            peer.sock.close(p.LINGER_MS)
        self._peers.clear()
        self._ring.clear()
        return await self._finish_control(p.SENDER_LEFT, p.dumps(connected), *leftovers)

    def buffered(self) -> int:
        """Items waiting in this sender's own queue."""
        return len(self._pending)

    def peer_counts(self) -> tuple[int, int]:
        """This sender (open or not) and the receivers it is connected to."""
        return (0 if self._closing else 1, len(self._peers))
