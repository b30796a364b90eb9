"""`SenderLink`: the sending end of a ZMQ connection (a `SendTransport`).

A sender registers with the rendezvous, which answers with the live receivers' addresses and
later tells it of receivers that join or leave. For each receiver it opens one DEALER socket
connected to that receiver's ROUTER and says HELLO; the receiver answers with *credits*: the
number of items it will accept from this sender (its window, `maxsize`). Credits count
items, not frames: a frame of `n` items (sealed by `send_many()`, at most `batch_items`,
`protocol.batch_items()`) spends `n` credits and waits until its receiver has that many;
receivers give credits back as their user takes items. While open, a pipeline sender keeps
at most a quarter of `maxsize` unacknowledged at each receiver (`protocol.open_window()`),
the rest waiting here, so that a burst is shared out and a receiver that dies holds little;
a closing sender may use all of each window, so `close()` returns once everything it held
is on the wire, whether or not its receivers are taking items.

`send()` puts frames in core's `Outbox` (`connector_core.transport`), which holds at most
`maxsize` items: those waiting here *and* those sent and not yet credited back by their
receiver (pubsub: by the slowest subscriber). So `maxsize` bounds every item between this
sender and its receivers, and `send()` waits beyond it. The outbox is flushed (everything
queued that credits allow, in messages of up to `MAX_BATCH_ITEMS` items,
`connector_core.framing`) by a callback the first `send()` schedules, which runs as soon as
the producer yields, and by the pump when credits arrive. So batches form only while the
producer is busy: a lone item leaves at once, with no timer, and a full batch leaves
without waiting at all. A `send()`'s item comes serialized but unsealed (core's
`ItemSender`): the items queued while the link was busy form a run, sealed as one frame
(one signature) when it is shipped. An item with large buffers comes sealed with them beside
it (core's `BufferSender`): it leaves alone, in its place, as `[b"", BUFFERS, frame,
*buffers]`, the buffers lent to ZeroMQ (`copy=False`); leftovers at close are sealed again in
one piece (`connector_core.buffers.fold`).

- pipeline: a batch goes to the next receiver (round robin) that has credit, a burst being
  shared out among the receivers; with no receiver connected, items wait here (closing
  hands them to the rendezvous for later receivers).
- pubsub: a batch goes to every receiver connected when it is sent, once each has credit;
  a frame is in the outbox whole or not at all, so a cancelled send reached all receivers
  or none. With no receiver connected an item goes to nobody.

`close()` delivers what is queued, sends END on every data link (after everything sent
before it), closes the links once each receiver confirmed it (`connector_zmq.closing`) and
tells the rendezvous, with the list of receivers it had connected to, so each of them knows
to wait for that END.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import zmq

from connector_core.buffers import fold
from connector_core.exceptions import ChannelClosedError, ChannelError
from connector_core.framing import pack_frames
from connector_core.payload import Buffer, WithBuffers
from connector_core.sealer import ITEM_OVERHEAD
from connector_core.transport import Outbox
from connector_zmq import access, inproc
from connector_zmq import protocol as p
from connector_zmq.closing import end_links
from connector_zmq.flushes import flushes_of
from connector_zmq.link import CONTROL_TIMEOUT, Link, make_socket
from connector_zmq.peers import Peer, next_with_credit, unacked
from connector_zmq.waiting import next_message

__all__ = ["SenderLink"]

_BATCH = p.MAX_BATCH_ITEMS
_ZERO_COPY_BYTES = 64 * 1024  # frames from this size go to ZeroMQ without a copy
_LARGEST_PAYLOAD = p.MAX_ITEM_BYTES - ITEM_OVERHEAD  # an item's, serialized, unsealed
_NOBLOCK = int(zmq.NOBLOCK)  # a plain int: pyzmq's flag enums cost more than the send


class SenderLink(Link):
    """The sending end: direct DEALER links to every receiver, spending their credits."""

    batch_items: int
    """The most items one frame may carry: what a receiver's credits always come back to."""

    async def open(self) -> None:
        """Registers with the rendezvous and connects to the live receivers.

        Raises:
            ChannelClosedError: If every sender of the connection has already closed.
            ChannelSetupError: If the rendezvous cannot be reached.
        """
        size, pubsub = self.setup.maxsize, self.setup.pubsub
        self.batch_items = p.batch_items(size, pubsub)
        # credits of each window an open sender leaves unused (0 in pubsub and once closing)
        self._reserve = p.window(size, pubsub) - p.open_window(size, pubsub)
        # settled in items, as receivers give credits back
        self._outbox = Outbox(size, release_by_items=True)
        self._held = 0  # items taken from the outbox and not yet credited back
        self._peers: dict[bytes, Peer] = {}
        self._ring: list[Peer] = []
        self._next_index = 0
        self._flushes = flushes_of(asyncio.get_running_loop())
        self._flush_scheduled = False
        reply = await self._open_control(
            p.REG_SENDER, p.credentials(self.setup.codec, self.pid), p.process_token()
        )
        if reply[0] == p.REFUSED:
            self._control().close(0)
            raise ChannelClosedError(
                "this connection has ended (every sender closed); build a new connector"
            )
        for rid, address in p.loads(reply[1]).items():
            self._add(rid.encode(), address)
        self._start()
        await self._await_first_grants()

    async def _await_first_grants(self) -> None:
        """Waits (bounded) until every receiver live at registration granted its window.

        Items sent right after `connect_send()` are then shared among all of them, not
        pushed to whichever answered first. A receiver that does not answer within
        `CONTROL_TIMEOUT` is served once it does.
        """
        known = list(self._ring)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CONTROL_TIMEOUT):
                while any(not peer.granted and peer.rid in self._peers for peer in known):
                    await self._wait_changed()

    # -- membership ------------------------------------------------------------------------

    def _add(self, rid: bytes, address: str) -> None:
        if rid in self._peers or self._closing:
            return
        sock = make_socket(self.setup.context, zmq.DEALER)
        sock.setsockopt(zmq.ROUTING_ID, self.pid)
        access.secure_client(sock, self.setup.codec)
        setup = self.setup
        sock.connect(inproc.route(setup.context, address) if setup.in_process else address)
        sock.send_multipart([b"", p.HELLO, p.credentials(self.setup.codec, self.pid)])
        peer = Peer(rid, sock)
        self._peers[rid] = peer
        self._ring.append(peer)
        self._kick()  # the pump adds a reader for its socket (it stays parked otherwise)

    def _drop(self, rid: bytes) -> None:
        peer = self._peers.pop(rid, None)
        if peer is None:
            return
        self._ring.remove(peer)
        with contextlib.suppress(zmq.ZMQError):
            peer.sock.send_multipart([b"", p.DETACH], zmq.NOBLOCK)
        self._unwatch(peer.sock)  # before its FD can be reused
        peer.sock.close(p.LINGER_MS)
        # what it held is its user's now, or returned through the rendezvous: not ours
        self._settle_to(unacked(self._ring, self.setup.pubsub))

    def _settle_to(self, held: int) -> None:
        if held < self._held:
            self._outbox.settle(self._held - held)
            self._held = held

    def _on_control(self, msg: list[bytes]) -> None:
        kind = msg[0]
        if kind == p.RECEIVER_JOINED:
            self._add(msg[1], msg[2].decode())
        elif kind == p.RECEIVER_LEFT:
            self._drop(msg[1])

    def _sockets(self) -> list[zmq.Socket[bytes]]:
        return [self._control(), *(peer.sock for peer in self._ring)]

    def _drain(self) -> None:
        self._drain_control()
        acked = False
        for peer in list(self._ring):
            while (msg := next_message(peer.sock)) is not None:
                if len(msg) >= 3 and msg[1] == p.CREDIT:
                    count = p.unpack_count(msg[2])
                    peer.credit += count  # the first grant is its window: nothing was out
                    peer.granted = True
                    returned = min(count, peer.unacked)
                    peer.unacked -= returned
                    acked = acked or returned > 0
                elif len(msg) >= 2 and msg[1] == p.BYE:
                    self._drop(peer.rid)
                    break
        if acked:
            self._settle_to(unacked(self._ring, self.setup.pubsub))
        self._ship()

    def _failed(self, error: ChannelError) -> None:
        self._outbox.fail(error)

    # -- sending ---------------------------------------------------------------------------

    def _ship(self) -> None:
        """Sends what is queued while credits allow, in batches; the rest waits for credits.

        Credits count items: the first queued frame goes only to a receiver (pubsub: only
        once every receiver) with credit for all of its items, beyond `_reserve` (a run of
        items sealed as it is taken needs room for one: it is cut to the room there is).
        """
        outbox = self._outbox
        while queued := outbox.queued_items():
            need = outbox.first_items()
            if self.setup.pubsub:
                targets = self._ring
                room = min((peer.credit for peer in targets), default=max(need, p.MAX_BATCH_ITEMS))
            else:
                # the next receiver, round robin, with credit for `need` beyond the reserve
                self._next_index, peer = next_with_credit(
                    self._ring, self._next_index, need + self._reserve
                )
                if peer is None:
                    return
                # spread a burst over the receivers that can take some of it now (one: no sum)
                want, ring = need + self._reserve, self._ring
                able = 1 if len(ring) == 1 else sum(1 for o in ring if o.credit >= want)
                share = max(need, -(-queued // able))
                targets, room = [peer], min(peer.credit - self._reserve, share)
            if room < need:
                return
            batch = outbox.take(min(room, p.MAX_BATCH_ITEMS), p.MAX_BATCH_BYTES)
            count = queued - outbox.queued_items()
            if not targets:  # pubsub with nobody subscribed: the items go to nobody
                outbox.settle(count)
                continue
            first = batch[0]
            if type(first) is WithBuffers:  # taken alone: its buffers follow it as parts
                parts: list[Buffer] = [b"", p.BUFFERS, first, *first.buffers]
            else:  # a lone frame is a message of one part
                parts = [first] if len(batch) == 1 else [b"", p.BATCH, pack_frames(batch)]
            copy = len(parts[-1]) < _ZERO_COPY_BYTES  # a large part is lent, not copied
            lone = len(parts) == 1  # send() costs less than send_multipart()
            for peer in targets:
                if lone:
                    peer.sock.send(first, _NOBLOCK, copy=copy)
                else:
                    peer.sock.send_multipart(parts, _NOBLOCK, copy=copy)
                peer.credit -= count
                peer.unacked += count
            self._held += count  # one more each: pipeline's sum, and pubsub's maximum

    def seal_runs_with(self, seal: Callable[[list[bytes]], bytes]) -> None:
        """Seals runs of items from `send()` with `seal` as they are shipped (`ItemSender`).

        Called by the channel, which is made once the link is open.
        """
        self._outbox.seal_runs_with(seal, self.batch_items)

    def check_size(self, frame: int, items: int = 1) -> None:
        """Refuses a frame larger than `MAX_ITEM_BYTES` (core's `SizeLimited`).

        Args:
            frame: The frame's size in bytes.
            items: Optional; the items it carries.

        Raises:
            ChannelSerializationError: If the frame is larger than `MAX_ITEM_BYTES`.
        """
        if frame > p.MAX_ITEM_BYTES:
            raise p.too_large(frame, items)

    def try_send(self, frame: bytes, items: int = 1) -> bool:
        """Queues `frame` (carrying `items` items) if the outbox has room now; False when full.

        A `WithBuffers` frame (one item) sends its buffers beside it (`BufferSender`).

        Raises:
            ChannelSerializationError: If the frame (with any buffers beside it) is larger
                than `MAX_ITEM_BYTES`.
            ChannelError: If the link failed.
        """
        self.check_size(p.sent_size(frame), items)
        if items < 1:
            items = 1
        if not self._outbox.offer(frame, items):
            return False
        self._queued_now(items)
        return True

    def try_send_item(self, payload: bytes) -> bool:
        """Queues one serialized item if the outbox has room now; False when full.

        Raises:
            ChannelSerializationError: If the item, sealed, is larger than `MAX_ITEM_BYTES`.
            ChannelError: If the link failed.
        """
        if len(payload) > _LARGEST_PAYLOAD:  # compared here: once per item
            self.check_size(len(payload) + ITEM_OVERHEAD)
        outbox = self._outbox
        if not outbox.offer_item(payload):
            return False
        if not outbox.queued_items() % _BATCH:  # `_queued_now(1)`, inlined: once per item
            self._ship_now()
        elif not self._flush_scheduled:
            self._schedule_ship()
        return True

    def _queued_now(self, items: int) -> None:
        """After queueing `items`: ships a full batch now, else makes sure a flush comes."""
        after = self._outbox.queued_items()
        if after // _BATCH > (after - items) // _BATCH:
            self._ship_now()  # a full batch: it need not wait for the producer to yield
        elif not self._flush_scheduled:
            self._schedule_ship()

    async def send(self, frame: bytes, items: int = 1) -> None:
        """Queues `frame` (carrying `items` items), waiting for room; if cancelled, queued nothing.

        A `WithBuffers` frame (one item) sends its buffers beside it (`BufferSender`).

        Raises:
            ChannelSerializationError: If the frame (with any buffers beside it) is larger
                than `MAX_ITEM_BYTES`.
            ChannelClosedError: If the link is closed (also while waiting).
            ChannelError: If the link failed.
        """
        self.check_size(p.sent_size(frame), items)
        await self._outbox.put(frame, max(1, items))
        self._schedule_ship()

    async def send_item(self, payload: bytes) -> None:
        """Queues one serialized item, waiting for room; if cancelled, queued nothing.

        Raises:
            ChannelSerializationError: If the item, sealed, is larger than `MAX_ITEM_BYTES`.
            ChannelClosedError: If the link is closed (also while waiting).
            ChannelError: If the link failed.
        """
        if len(payload) > _LARGEST_PAYLOAD:  # compared here: once per item
            self.check_size(len(payload) + ITEM_OVERHEAD)
        await self._outbox.put_item(payload)
        self._schedule_ship()

    # `BufferSender`: a frame with buffers beside it queues like any frame (`_ship` sends
    # it alone, its buffers as parts after it)
    try_send_buffers = try_send
    send_buffers = send

    def _schedule_ship(self) -> None:
        """After queueing a frame: ships it at once if the link was idle, else batches it.

        Idle: no flush is due and nothing else is queued (waiting for credit). A lone frame
        leaves at once; those a burst queues after it before yielding, or behind frames that
        wait for credit, form batches, shipped by the flush (`connector_zmq.flushes`) or when
        credit comes back. No timer.
        """
        if self._flush_scheduled:
            return
        self._flush_scheduled = True
        self._flushes.add(self._flush)
        if self._outbox.queued_frames() == 1 and self._task is not None:
            self._ship_now()

    def _flush(self) -> None:
        """The outbox's flusher: runs once the producer yields, and ships what it queued."""
        self._flush_scheduled = False
        # no task: closed (or closing took over); nothing queued: a lone item left in send()
        if self._task is not None and self._outbox.queued_items():
            self._ship_now()

    def _ship_now(self) -> None:
        """Ships outside the pump; then makes sure the pump misses no message."""
        if self._error is not None:
            return
        self._ship()
        for peer in self._ring:
            self._sent_on(peer.sock)

    # -- closing ---------------------------------------------------------------------------

    async def close(self) -> None:
        """Delivers what is queued, sends END to every receiver and leaves the connection."""
        if self._closing:
            return
        self._closing = True
        self._reserve = 0  # what is left may use every receiver's whole window
        self._outbox.close()  # blocked sends raise ChannelClosedError
        try:
            while self._outbox.queued_items() and self._ring and self._error is None:
                self._kick()
                self._changed.clear()
                await self._changed.wait()
        finally:
            await self._stop_pump()
        with contextlib.suppress(zmq.ZMQError):
            self._drain()
        leftovers: list[bytes] = []
        while self._outbox.queued_items():  # a frame with buffers is taken alone
            leftovers += fold(self.setup.codec, self._outbox.take())  # the rendezvous moves 1 piece
        connected = [rid.decode() for rid in self._peers]
        try:
            await end_links(self.pid, self._ring, self._control(), self._on_control)
        finally:
            self._peers.clear()
        await self._finish_control(p.SENDER_LEFT, p.dumps(connected), *leftovers)

    def buffered(self) -> int:
        """Items waiting in this sender's queue (not yet sent to a receiver), in any frame."""
        return self._outbox.queued_items()

    def peer_counts(self) -> tuple[int, int]:
        """This sender (open or not) and the receivers it is connected to."""
        return (0 if self._closing else 1, len(self._peers))
