"""`ReceiverLink`: the receiving end of a ZMQ connection.

A receiver binds its own ROUTER socket (on `settings.bind_host`, a free port) and registers
that address with the rendezvous, which tells every live sender to connect. Senders say
HELLO (signed with the connection's key: unsigned HELLOs get no credits); the receiver grants
each its window of credits and gives them back as its user takes items. `connect_recv()`
returns once every sender that was live at registration has said HELLO, so anything sent
after it returns reaches this receiver (no slow-joiner loss, no sleeps).

The pump moves frames from the socket into the channel's own queue; `recv()` only takes from
that queue (or waits for the pump), so a cancelled `recv()` leaves the item for the next.

End of the connection:

- pubsub: after ENDED from the rendezvous (every sender left), once END arrived from every
  sender that had connected here and the queue is empty, `recv()` raises ChannelClosedError.
- pipeline: the receiver reports DRAINED to the rendezvous in that state and ends on FINAL,
  which the rendezvous sends when every receiver is drained and no items are returned or
  held anywhere, so no receiver ends while a closing one may still hand items back.

Closing a pipeline receiver: it tells its senders BYE and the rendezvous it is leaving, keeps
reading until every sender that had credit here answered (DETACH or END), and returns every
item it had taken off the wire but not handed out to the rendezvous, which passes them to
the other receivers. A pubsub receiver just says BYE and leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections import deque
from typing import Any

import zmq
import zmq.asyncio

from connector_core.exceptions import ChannelClosedError
from connector_zmq import protocol as p
from connector_zmq.link import CONTROL_TIMEOUT, Link
from connector_zmq.waiting import wait_readable

__all__ = ["ReceiverLink"]


class ReceiverLink(Link):
    """The receiving end: a bound ROUTER that senders connect to, paid for with credits."""

    can_recv = True

    async def open(self, bind_host: str) -> None:
        """Binds, registers with the rendezvous and waits until the live senders connected.

        Args:
            bind_host: The interface to listen on.

        Raises:
            ChannelSetupError: If binding fails or the rendezvous or a sender does not answer.
        """
        self._window = p.window(self._maxsize, self._pubsub)
        self._batch = max(1, self._window // 4)
        self._items: deque[bytes] = deque()
        # who sent the queued items, in order: runs of [sender id or None, count, owed],
        # `owed` being the sender's one-element credit counter shared by all its runs
        self._runs: deque[list[Any]] = deque()
        self._owed: dict[bytes | None, list[int]] = {}
        self._hello: set[bytes] = set()
        self._done: set[bytes] = set()  # END or DETACH seen: nothing more from them
        self._must_end: set[bytes] = set()  # left the connection after connecting here
        self._left: set[bytes] = set()
        self._ended = False
        self._final = False
        self._leave_acked = False
        self._returned = 0
        self._reported = -1
        self._data, self._data_s = self._socket(zmq.ROUTER)
        self._data_s.setsockopt(zmq.LINGER, 0)
        try:
            address = p.bind_random(self._data_s, bind_host)
            reply = await self._open_control(
                p.REG_RECEIVER,
                p.credentials(self._codec, self.pid),
                address.encode(),
                p.process_token(),
            )
        except BaseException:
            self._data.close(0)
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

    # -- what the pump handles -----------------------------------------------------------------

    def _sockets(self) -> list[zmq.Socket[bytes]]:
        assert self._ctrl is not None
        return [self._data, self._ctrl]

    def _on_control(self, msg: list[bytes]) -> None:
        kind = msg[0]
        if kind == p.SENDER_LEFT:
            self._left.add(msg[1])
            if msg[2] == b"1":
                self._must_end.add(msg[1])
            elif msg[2] == p.CRASHED:  # its END will never come
                self._done.add(msg[1])
        elif kind == p.ENDED:
            self._ended = True
        elif kind == p.RETURNED:
            self._enqueue(None, msg[1:])
            self._returned += len(msg) - 1
        elif kind == p.FINAL:
            self._final = True
        elif kind == p.LEAVE_ACK:
            self._leave_acked = True

    def _drain(self) -> None:
        data = self._data_s
        enqueue = self._enqueue
        while True:
            try:
                msg = data.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            if len(msg) == 2:
                enqueue(msg[0], msg[1:])
            elif len(msg) >= 3 and msg[1] == b"":
                self._on_link(msg[0], msg[2], msg[3:])
            else:  # not our framing: let the codec judge (and reject) its last part
                enqueue(None, msg[-1:])
        self._drain_control()
        if not self._pubsub and not self._closing:
            self._report_drained()

    def _on_link(self, sid: bytes, kind: bytes, rest: list[bytes]) -> None:
        if kind == p.BATCH:
            owner: bytes | None = sid
            try:
                frames = p.unpack_batch(rest[0])
            except (ValueError, IndexError, struct.error):
                frames = [b"".join(rest)]  # not our framing: the codec rejects it
                owner = None
            self._enqueue(owner, frames)
        elif kind == p.HELLO:
            if sid in self._hello or not rest or not p.authenticate(self._codec, sid, rest[0]):
                return
            self._hello.add(sid)
            if self._closing:
                self._data_s.send_multipart([sid, b"", p.BYE], zmq.NOBLOCK)
            else:
                self._data_s.send_multipart(
                    [sid, b"", p.CREDIT, p.pack_count(self._window)], zmq.NOBLOCK
                )
        elif kind in (p.END, p.DETACH) and sid in self._hello:
            self._done.add(sid)

    def _senders_finished(self) -> bool:
        return (self._hello | self._must_end) <= self._done

    def _report_drained(self) -> None:
        if (
            self._ended
            and not self._final
            and not self._items
            and self._senders_finished()
            and self._reported != self._returned
        ):
            self._reported = self._returned
            self._control().send_multipart([p.DRAINED, p.pack_count(self._returned)])
            self._sent_on(self._control())

    def _finished(self) -> bool:
        if self._pubsub:
            return self._ended and self._senders_finished()
        return self._final

    # -- receiving -----------------------------------------------------------------------------

    async def recv(self) -> bytes:
        """Returns the next frame, waiting while none is here.

        Raises:
            ChannelClosedError: When the connection is over (after everything was
                delivered) or this receiver was closed.
            ChannelError: If the link failed.
        """
        drained = False
        while True:
            if self._closing:
                raise self._closed_error()
            frame = self.try_recv()
            if frame is not None:
                return frame
            self._check_error()
            if self._finished():
                raise ChannelClosedError("every sender has closed and all was delivered")
            if not drained:
                self._drain()
                drained = True
                continue
            await self._wait_changed()
            drained = False

    def try_recv(self) -> bytes | None:
        """The next frame if one is queued here, else None; gives credits back as it goes."""
        items = self._items
        if not items or self._closing:
            return None
        frame = items.popleft()
        runs = self._runs
        run = runs[0]
        run[1] -= 1
        if not run[1]:
            runs.popleft()
        sid = run[0]
        if sid is not None:
            owed = run[2]
            owed[0] += 1
            if owed[0] >= self._batch:
                owed[0] = self._give_credit(sid, owed[0])
        return frame

    def _enqueue(self, sid: bytes | None, frames: list[bytes]) -> None:
        """Queues `frames` from sender `sid` (None: returned or foreign, owed no credit)."""
        if not frames:
            return
        self._items.extend(frames)
        runs = self._runs
        if runs and runs[-1][0] == sid:
            runs[-1][1] += len(frames)
            return
        owed = self._owed.get(sid)
        if owed is None:
            owed = self._owed[sid] = [0]
        runs.append([sid, len(frames), owed])

    def _give_credit(self, sid: bytes, owed: int) -> int:
        """Returns `owed` credits to sender `sid` if it is still here; what is still owed."""
        if sid not in self._hello or sid in self._done:
            return owed
        self._data_s.send_multipart([sid, b"", p.CREDIT, p.pack_count(owed)], zmq.NOBLOCK)
        self._sent_on(self._data_s)
        return 0

    # -- closing -------------------------------------------------------------------------------

    async def close(self) -> bool:
        """Leaves the connection (returning untaken items in a pipeline); True when it is over."""
        if self._closing:
            return False
        over = self._finished() and not self._items  # the end was seen: nothing more comes
        self._closing = True
        self._changed.set()  # wake a blocked recv: it raises ChannelClosedError
        await self._stop_pump()
        try:
            if over:
                self._data.close(0)
                return await self._finish_control(p.RECEIVER_DONE)
            with contextlib.suppress(zmq.ZMQError):
                self._drain()
            for sid in self._hello - self._done:
                with contextlib.suppress(zmq.ZMQError):
                    self._data_s.send_multipart([sid, b"", p.BYE], zmq.NOBLOCK)
            leftovers: list[bytes] = []
            if not self._pubsub:
                self._control().send_multipart([p.LEAVING])
                await self._collect()
                leftovers = list(self._items)
            self._items.clear()
            self._runs.clear()
            return await self._finish_control(p.RECEIVER_DONE, *leftovers)
        finally:
            self._data.close(0)

    async def _collect(self) -> None:
        """Reads until every sender with credit here answered and the rendezvous acknowledged."""
        assert self._ctrl is not None
        sockets = [self._data, self._ctrl]
        try:
            async with asyncio.timeout(CONTROL_TIMEOUT):
                while True:
                    self._drain()
                    if self._leave_acked and self._senders_finished():
                        return
                    await wait_readable(sockets)
        except TimeoutError:
            missing = sorted(s.decode() for s in (self._hello | self._must_end) - self._done)
            p.log.warning(
                "closing receiver %s: senders %s did not answer within %.0f s; items they "
                "still had in flight to it are lost",
                self.pid.decode(),
                missing,
                CONTROL_TIMEOUT,
            )

    def buffered(self) -> int:
        """Items taken off the wire and not yet received by the user."""
        return len(self._items)

    def peer_counts(self) -> tuple[int, int]:
        """Senders connected here and still open, and this receiver (if open)."""
        return (len((self._hello | self._must_end) - self._done), 0 if self._closing else 1)
