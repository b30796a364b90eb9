"""`ReceiverLink`: the receiving end of a ZMQ connection (a `RecvTransport`).

A receiver binds its own ROUTER socket (on `ZMQSettings.bind_host`, a free port) and registers
that address with the rendezvous, which tells every live sender to connect. Senders say
HELLO (signed with the connection's key); the receiver grants each its window of credits and
gives them back as its user takes items (`connector_zmq.credit_queue`). Credits count items:
a frame of `n` items (sealed by `send_many()`) spends `n` of its sender's credits, and taking
it (the channel takes a frame's items at once) gives `n` back. `connect_recv()` returns once
every sender that was live at registration has said HELLO, so anything sent after it returns
reaches this receiver (no slow-joiner loss, no sleeps).

Verification on arrival: the pump checks every data message as it comes off the socket,
before it buffers, counts or gives credit for anything in it. A message from a peer that has
not said a verified HELLO (or has already ended) is dropped unread; every frame's signature
is checked with `connector_core.transport.Verifier`, and one that fails is dropped (the one
credit it took goes back to its sender); a member's frame of more items than the credit it
has left is dropped whole. A `BUFFERS` message (an item whose large buffers follow its frame
as parts, copied out of ZeroMQ's messages) verifies only if the frame's tag covers every
part and its signed length table matches them. Each drop counts in `statistics().rejected`.
So a process without the key can make a receiver hold nothing: the queue only ever holds
verified payloads, at most the credit window of each member in items (plus items returned
through the rendezvous in a pipeline).

A cancelled `recv()` loses nothing: `recv()` only takes from that queue (or waits for the pump).

End of the connection:

- pubsub: after ENDED from the rendezvous (every sender left), once END arrived from every
  sender that had connected here and the queue is empty, `recv()` raises ChannelClosedError.
- pipeline: the receiver reports DRAINED to the rendezvous in that state and ends on FINAL,
  which the rendezvous sends when every receiver is drained and no items are returned or
  held anywhere, so no receiver ends while a closing one may still hand items back.

Closing a pipeline receiver: it tells its senders BYE and the rendezvous it is leaving, keeps
reading until every sender that had credit here answered (DETACH or END), and returns every
item it had taken off the wire but not handed out (signed again, each payload with its item
count) to the rendezvous, which passes them to the other receivers; first among them the
frame of items its channel had taken and not returned (`give_back()`). A pubsub receiver
just says BYE and leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import zmq

from connector_core.exceptions import ChannelClosedError
from connector_core.framing import FramingError, unpack_frames
from connector_core.payload import Buffer, Payload
from connector_core.transport import Verifier
from connector_zmq import access, inproc
from connector_zmq import protocol as p
from connector_zmq.closing import read_until_answered
from connector_zmq.credit_queue import CreditQueue
from connector_zmq.flushes import flushes_of
from connector_zmq.link import CONTROL_TIMEOUT, Link, make_socket
from connector_zmq.waiting import next_routed

__all__ = ["ReceiverLink"]


class ReceiverLink(Link):
    """The receiving end: a bound ROUTER that senders connect to, paid for with credits."""

    async def open(self, bind_host: str) -> None:
        """Binds, registers with the rendezvous and waits until the live senders connected.

        Args:
            bind_host: The interface to listen on.

        Raises:
            ChannelSetupError: If binding fails or the rendezvous or a sender does not answer.
        """
        self.verifier = Verifier(self.setup.codec, "ZMQChannel receiver")
        size, pubsub = self.setup.maxsize, self.setup.pubsub
        self._window = p.window(size, pubsub)
        self._queue = CreditQueue(self.verifier, p.credit_batch(size, pubsub))
        self._loop = asyncio.get_running_loop()
        self._flushes = flushes_of(self._loop)
        self._look_again_due = False  # a `_look_again` is scheduled
        self._given_back: list[bytes] = []  # frames the channel handed back (pipeline)
        self._hello: set[bytes] = set()
        self._done: set[bytes] = set()  # END or DETACH seen: nothing more from them
        self._must_end: set[bytes] = set()  # left the connection after connecting here
        self._left: set[bytes] = set()
        self._ended = False
        self._final = False
        self._leave_acked = False
        self._returned = 0
        self._reported = -1
        self._data = make_socket(self.setup.context, zmq.ROUTER)
        self.address = ""
        """The TCP address of this receiver's data socket, which the rendezvous advertises."""
        # -1: ZeroMQ keeps what a sender sent here until it is read, even after it disconnects
        # (a finite linger drops the last items and END of a sender that sent them all and
        # closed at once); closing this socket always passes its own linger
        self._data.setsockopt(zmq.LINGER, -1)
        try:
            gate = access.gate_for(self.setup.context) if self.setup.codec.signed else None
            access.secure_server(self._data, self.setup.codec, gate)
            address = p.bind_random(self._data, bind_host)
            inproc.offer(self.setup.context, self._data, address)
            self.address = address
            reply = await self._open_control(
                p.REG_RECEIVER,
                p.credentials(self.setup.codec, self.pid),
                address.encode(),
                p.process_token(),
            )
        except BaseException:
            self._close_data()
            if self._ctrl is not None:
                self._ctrl.close(0)
            raise
        state = p.loads(reply[1])
        expected = {sid.encode() for sid in state["senders"]}
        self._ended = bool(state["ended"])
        self._final = bool(state["final"])
        self._start()
        try:
            async with asyncio.timeout(CONTROL_TIMEOUT):
                while not expected <= self._hello | self._left:
                    await self._wait_changed()
        except BaseException:
            await self.close()
            raise

    # -- what the pump handles -------------------------------------------------------------

    def _sockets(self) -> list[zmq.Socket[bytes]]:
        return [self._data, self._control()]

    def _on_control(self, msg: list[bytes]) -> None:
        kind = msg[0]
        if kind == p.SENDER_LEFT:
            self._left.add(msg[1])
            if msg[2] == b"1":
                self._must_end.add(msg[1])
            elif msg[2] == p.CRASHED:  # its END will never come
                self._finish_sender(msg[1])
        elif kind == p.ENDED:
            self._ended = True
        elif kind == p.RETURNED:
            self._returned += len(msg) - 1
            accept = self.verifier.accept_items
            accepted = [x for frame in msg[1:] if (x := accept(frame)) is not None]
            self._queue.enqueue(None, accepted, sum(items for _, items in accepted))
        elif kind == p.FINAL:
            self._final = True
        elif kind == p.LEAVE_ACK:
            self._leave_acked = True

    def _drain(self) -> None:
        self._drain_data()
        self._drain_socket(self._control())  # the control socket, then DRAINED if due

    def _drain_socket(self, sock: zmq.Socket[bytes], until_queued: bool = False) -> None:
        if sock is self._data:
            self._drain_data(until_queued)
        else:
            self._drain_control()
        if not self.setup.pubsub and not self._closing:
            self._report_drained()

    def _drain_data(self, until_queued: bool = False) -> None:
        """Handles the data socket's messages until it is empty (which re-arms its FD).

        Stops once a payload is queued, if `until_queued` (`recv()`'s first look: it skips the
        empty socket's check, the dearest call) or after `p.TURN_BYTES`; `_look_again` reads
        the rest at the next turn.
        """
        data = self._data
        queued = self._queue.items
        read = 0
        while (msg := next_routed(data)) is not None:
            if len(msg) == 2:
                self._arrived(msg[0], msg[1:])
                read += len(msg[1])
            elif len(msg) >= 3 and msg[1] == b"":
                self._on_link(msg[0], msg[2], msg[3:])
                read += sum(map(len, msg))
            else:
                self.verifier.drop("a message in no layout of the connector-zmq protocol")
                continue
            if queued and (until_queued or read >= p.TURN_BYTES):
                self._changed.set()  # a waiting recv() takes it before the next look
                if not self._look_again_due:
                    self._look_again_due = True
                    self._loop.call_soon(self._look_again)
                return

    def _look_again(self) -> None:
        """Reads what a drain left unread, as the pump's reader would (the FD stays quiet)."""
        self._look_again_due = False
        if not self._closing:
            self._on_readable(self._data)

    def _on_link(self, sid: bytes, kind: bytes, rest: list[bytes]) -> None:
        if kind == p.BATCH:
            if sid not in self._queue.credit:
                self._stranger()
                return
            try:
                frames = unpack_frames(rest[0])
            except (FramingError, IndexError) as exc:
                self.verifier.drop(f"a batch that does not parse ({exc})")
                return
            self._arrived(sid, frames)
        elif kind == p.BUFFERS:
            if sid not in self._queue.credit:
                self._stranger()
            elif not rest or sum(map(len, rest)) > p.MAX_MESSAGE_BYTES:
                self.verifier.drop("a BUFFERS message without a frame, or over MAX_ITEM_BYTES")
            else:
                self._arrived(sid, rest[:1], rest[1:])
        elif kind == p.HELLO:
            if sid in self._hello:
                return
            if not rest or not p.authenticate(self.setup.codec, sid, rest[0]):
                self.verifier.drop("a HELLO without the connection's key")
                return
            self._hello.add(sid)
            if self._closing:
                self._data.send_multipart([sid, b"", p.BYE], zmq.NOBLOCK)
            else:
                self._queue.credit[sid] = self._window
                self._data.send_multipart(
                    [sid, b"", p.CREDIT, p.pack_count(self._window)], zmq.NOBLOCK
                )
            self._sent_on(self._data)  # (a drain in recv() runs outside the pump)
        elif kind in (p.END, p.DETACH) and sid in self._hello:
            self._finish_sender(sid)
            if kind == p.END:  # everything before it was read: the sender may close
                with contextlib.suppress(zmq.ZMQError):
                    self._data.send_multipart([sid, b"", p.END_SEEN], zmq.NOBLOCK)
                self._sent_on(self._data)
        elif sid not in self._hello:
            self._stranger()

    def _stranger(self) -> None:
        self.verifier.drop("a message from a peer that has not proved the connection's key")

    def _arrived(
        self, sid: bytes, frames: list[bytes], lent: Sequence[Buffer] | None = None
    ) -> None:
        """Queues the data frames from `sid` that verify and fit its credit (`CreditQueue`).

        `lent`: the buffers that came beside the one frame of a `BUFFERS` message.
        """
        queue = self._queue
        if not queue.arrived(sid, frames, lent):  # no verified HELLO, or already ended
            self._stranger()
        elif queue.due:  # frames that failed verification: their credit goes back
            self._send_due()

    def _finish_sender(self, sid: bytes) -> None:
        self._done.add(sid)
        self._queue.credit.pop(sid, None)

    def _unfinished(self) -> set[bytes]:
        """Senders that connected here (or must END here) and have not finished."""
        return (self._hello | self._must_end) - self._done

    def _report_drained(self) -> None:
        if (
            self._ended
            and not self._final
            and not self._queue.items
            and not self._unfinished()
            and self._reported != self._returned
        ):
            self._reported = self._returned
            self._control().send_multipart([p.DRAINED, p.pack_count(self._returned)])
            self._sent_on(self._control())

    def _finished(self) -> bool:
        if self.setup.pubsub:
            return self._ended and not self._unfinished()
        return self._final

    # -- receiving -------------------------------------------------------------------------

    async def recv(self) -> Payload:
        """Returns the next verified payload, waiting while none is here.

        Raises:
            ChannelClosedError: When the connection is over (after everything was
                delivered) or this receiver was closed.
            ChannelError: If the link failed.
        """
        tries = 0
        while True:
            if self._closing:
                raise ChannelClosedError("ZMQChannel is closed")
            payload = self.try_recv()
            if payload is not None:
                return payload
            self._check_error()
            if self._finished():
                raise ChannelClosedError("every sender has closed and all was delivered")
            if tries < 2:
                # this loop's senders ship what they batched (this task's may hold the item);
                # the loop turns before the second look
                if not self._flushes.run() and tries:
                    await asyncio.sleep(0)
                if self._pump_waits():  # its reader hands over what arrives; what is here
                    # (sent over inproc) is taken now (then DRAINED if due)
                    self._drain_socket(self._data, until_queued=not tries)
                else:
                    self._drain()
                tries += 1
                continue
            await self._wait_changed()
            tries = 0

    def try_recv(self) -> Payload | None:
        """The next verified payload if one is queued here, else None; returns its credits.

        A payload of `n` items (one frame) is taken whole, so it gives `n` credits back.
        """
        if self._closing:
            return None
        queue = self._queue
        payload = queue.take()
        if queue.due:
            self._send_due()
        return payload

    def _send_due(self) -> None:
        """Sends the credits the queue gave back (`CreditQueue.due`) to their senders."""
        due, self._queue.due = self._queue.due, []
        for sid, count in due:
            self._data.send_multipart([sid, b"", p.CREDIT, p.pack_count(count)], zmq.NOBLOCK)
        self._sent_on(self._data)

    # -- closing ---------------------------------------------------------------------------

    def give_back(self, frame: bytes, items: int) -> None:
        """Takes back items the channel had taken but not returned, before `close()`.

        Pipeline: `close()` hands `frame` (sealed by the channel, stating its items) to the
        rendezvous ahead of this receiver's own leftovers, for the other receivers. Pubsub:
        dropped, like everything a leaving subscriber held.

        Args:
            frame: The items, sealed as one frame by the channel.
            items: How many it carries (its header says so too, for the receiver).
        """
        del items
        if not self.setup.pubsub and not self._closing:
            self._given_back.append(frame)

    async def close(self) -> None:
        """Leaves the connection (returning untaken items in a pipeline)."""
        if self._closing:
            return
        over = self._finished() and not self._queue.items  # the end was seen: nothing more comes
        self._closing = True
        self._changed.set()  # wake a blocked recv: it raises ChannelClosedError
        await self._stop_pump()
        try:
            if over:
                self._close_data()
                await self._finish_control(p.RECEIVER_DONE)
                return
            with contextlib.suppress(zmq.ZMQError):
                self._drain()
            for sid in self._hello - self._done:
                with contextlib.suppress(zmq.ZMQError):
                    self._data.send_multipart([sid, b"", p.BYE], zmq.NOBLOCK)
            leftovers: list[bytes] = []
            if not self.setup.pubsub:
                self._control().send_multipart([p.LEAVING])
                await read_until_answered(
                    self.pid,
                    [self._data, self._control()],
                    self._drain,
                    lambda: self._leave_acked and not self._unfinished(),
                    self._unfinished,
                )
                leftovers = self._given_back + self._queue.sealed_again(self.setup.codec)
            self._queue.clear()
            await self._finish_control(p.RECEIVER_DONE, *leftovers)
        finally:
            self._close_data()

    def _close_data(self) -> None:
        inproc.withdraw(self.setup.context, self.address)  # no sender is routed here any more
        self._data.close(0)

    def buffered(self) -> int:
        """Verified items taken off the wire and not yet received by the user (in any frame)."""
        return self._queue.buffered()

    def peer_counts(self) -> tuple[int, int]:
        """Senders connected here and still open, and this receiver (if open)."""
        return (len(self._unfinished()), 0 if self._closing else 1)
