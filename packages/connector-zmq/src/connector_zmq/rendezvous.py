"""The rendezvous: the control plane of one ZMQ connection (membership, end, returns).

One rendezvous exists per connection: a thread of the process that created the connector,
started by the first `connect_send()`, `connect_recv()`, `zmq_address` or pickling there,
listening on one ROUTER socket bound to `ZMQSettings.bind_host` on a free port. Its address
travels inside the pickled connector. It never forwards items (senders and receivers talk
directly, see `connector_zmq`). Who is in the connection and when it ends is decided by a
`connector_core.lifecycle.Lifecycle`: the rendezvous feeds it what its socket and its crash
watch observe and acts on the edges it reports. It keeps:

- each live receiver's data address; it tells every sender when a receiver joins or leaves,
  and every receiver when a sender left and whether that sender had connected to it;
- the end: once senders joined and all have left, the lifecycle reports *ended* and the
  rendezvous sends ENDED to every receiver; a later sender is refused (`ChannelClosedError`).
  When the connector was pickled to other processes, the end is first *pending*: it waits
  `end_grace` seconds (`CONNECTOR_END_GRACE`, 2 by default) for senders still starting (one
  that registers keeps the connection open), or less if nobody is left to wait with;
- pipeline only: the *returned* items, signed frames a closing receiver had taken but not
  handed to its user, or a closing sender still held. They go to the live receivers (or wait
  for the next to join); while any wait here, the store counts as a receiver not drained.
  Each receiver reports when it is *drained* (ended, every sender's END seen, nothing
  buffered; a leaving one is not). On *final* (ended, every live receiver drained) the
  rendezvous sends FINAL and the receivers end, all of them.

Malformed control messages, or ones without the key, are ignored: the first is logged, the
rest counted (`Rendezvous.rejected`, their number logged at stop). Crashes: a pidfd watches
each participant's process on this host (`connector_zmq.watch`). A receiver whose process died
leaves (the items it held, at most its credit window per sender, are lost); a sender whose
process died leaves and its receivers stop waiting for its END.

It stops (closing its socket and private ZeroMQ context) once every participant has left:
when the lifecycle reports *finished* (ended, everyone gone), or when the creating connector
object is gone (collected: it can make no more channels) and nobody is connected; for a
pickled connector, after `ZMQSettings.join_timeout` seconds (60 by default) more for copies
still starting elsewhere. It also stops when its process exits. If the creating process
dies, the rendezvous dies with it: items already with a receiver are still delivered, but
nobody new can join and receivers do not learn of the end.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass

import zmq

from connector_core.lifecycle import Edges, Lifecycle
from connector_core.serde import Codec
from connector_zmq import access
from connector_zmq import protocol as p
from connector_zmq.signal_pipe import SignalPipe
from connector_zmq.watch import ProcessWatch

__all__ = ["Rendezvous"]

_log = logging.getLogger(__name__)

_RUNNING: weakref.WeakSet[Rendezvous] = weakref.WeakSet()

_STOP, _ORPHAN = b"x", b"o"  # what the stop pipe carries: stop now, or orphaned

_STORE = b""  # the returned-items store: a receiver (never drained) while it holds items


@dataclass
class _Receiver:
    address: bytes
    leaving: bool = False
    returned_sent: int = 0


class Rendezvous:
    """The control plane of one connection, served by a thread of this process."""

    def __init__(
        self,
        *,
        pubsub: bool,
        bind_host: str,
        codec: Codec,
        end_grace: float = 0.0,
        join_timeout: float = 0.0,
    ) -> None:
        """Binds the rendezvous socket and starts its thread.

        Args:
            pubsub: True for a pubsub connection, False for a pipeline.
            bind_host: The interface to listen on.
            codec: The connection's codec; participants prove they hold its key.
            end_grace: Seconds to wait, once the connector was shared with other processes
                and every sender has left, for senders still starting before ending.
            join_timeout: Seconds an orphaned rendezvous of a shared connector waits with
                nobody connected (for copies still starting) before it stops.

        Raises:
            ChannelSetupError: If `bind_host` cannot be bound, or this process has no file
                descriptor left.
        """
        self._pubsub = pubsub
        self._codec = codec
        self._ctx = zmq.Context()
        try:  # its gate is served by the loop below: no thread of its own for authentication
            self._sock, self.address, self._gate = access.listen_guarded(
                self._ctx, bind_host, codec
            )
        except BaseException:
            self._ctx.term()
            raise
        self._signals = SignalPipe()
        self._orphaned = False
        self._idle_at: float | None = None
        self._life: Lifecycle[bytes] = Lifecycle()
        self._receivers: dict[bytes, _Receiver] = {}
        self._store: deque[bytes] = deque()
        self._end_grace = end_grace
        self._join_timeout = join_timeout
        self._end_at: float | None = None
        self._poller = zmq.Poller()
        self._watch = ProcessWatch(self._poller)
        self._shared = False
        self._rejected = 0
        self._thread = threading.Thread(
            target=self._run, name=f"connector-zmq-rendezvous {self.address}", daemon=True
        )
        _RUNNING.add(self)
        self._thread.start()

    @property
    def shared(self) -> bool:
        """True once the connector was pickled: other processes may still be starting."""
        return self._shared

    @shared.setter
    def shared(self, value: bool) -> None:
        self._shared = value
        self._life.grace = value and self._end_grace > 0

    @property
    def rejected(self) -> int:
        """Control messages ignored: malformed, or from a participant without the key."""
        return self._rejected

    @property
    def running(self) -> bool:
        """True while the thread serves the connection."""
        return self._thread.is_alive()

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stops the thread (if still running) and waits for it to release everything."""
        if self._thread.is_alive():
            self._signals.send(_STOP)
            self._thread.join(timeout)

    def orphan(self) -> None:
        """Says the creating connector is gone: stop once nobody is connected (see above)."""
        self._signals.send(_ORPHAN)

    def join(self, timeout: float | None = 5.0) -> None:
        """Waits for the thread to finish on its own (after the connection is over)."""
        self._thread.join(timeout)

    # -- the thread ------------------------------------------------------------------------

    def _nobody(self) -> bool:
        """True when no sender and no receiver is connected (returned items may be held)."""
        return not self._life.sender_count and not self._receivers

    def _done(self) -> bool:
        if not self._nobody():
            return False
        if self._idle_at is not None and time.monotonic() >= self._idle_at:
            return True  # orphaned, and nobody came: nobody can take what is stored either
        return self._life.finished and not self._store  # ended, and everyone left

    def _update_idle(self) -> None:
        """Starts (or cancels) the wait before an orphaned rendezvous with nobody stops."""
        if not self._orphaned or not self._nobody():
            self._idle_at = None
        elif self._idle_at is None:
            self._idle_at = time.monotonic() + (self._join_timeout if self.shared else 0.0)

    def _timeout_ms(self) -> int | None:
        deadlines = [t for t in (self._end_at, self._idle_at) if t is not None]
        return max(0, int((min(deadlines) - time.monotonic()) * 1000) + 1) if deadlines else None

    def _run(self) -> None:
        poller = self._poller
        poller.register(self._sock, zmq.POLLIN)
        poller.register(self._signals.fd, zmq.POLLIN)
        if self._gate is not None:
            poller.register(self._gate.socket, zmq.POLLIN)
        try:
            while not self._done():
                events = dict(poller.poll(self._timeout_ms()))
                if self._signals.fd in events:
                    signals = self._signals.receive()
                    if _STOP in signals:
                        break
                    self._orphaned = True
                if self._gate is not None and self._gate.socket in events:
                    self._gate.serve_waiting()
                for pid in self._watch.exited(events):
                    self._process_died(pid)
                if self._end_at is not None and time.monotonic() >= self._end_at:
                    self._end_at = None
                    self._apply(self._life.grace_over())
                while True:
                    try:
                        msg = self._sock.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    try:
                        self._handle(msg)
                    except Exception as exc:  # a malformed control message must not kill us
                        self._reject(f"a malformed control message ({exc!r})", exc)
                self._update_idle()
        finally:
            if self._store:
                _log.warning("%d returned items had no receiver left to go to", len(self._store))
            if self._rejected > 1:
                _log.warning("rendezvous ignored %d control messages in all", self._rejected)
            self._sock.close(linger=0)  # everyone left (or the process is exiting)
            if self._gate is not None:
                self._gate.socket.close(linger=0)
            self._watch.close()
            self._ctx.term()
            self._signals.close()
            _RUNNING.discard(self)

    def _reject(self, what: str, exc: BaseException | None = None) -> None:
        """Counts an ignored control message; only the first one is logged."""
        self._rejected += 1
        if self._rejected == 1:
            _log.warning(
                "rendezvous ignored %s; further control messages it ignores are counted and "
                "their number logged when it stops",
                what,
                exc_info=exc,
            )

    def _send(self, pid: bytes, *parts: bytes) -> None:
        self._sock.send_multipart([pid, *parts])

    def _handle(self, msg: list[bytes]) -> None:
        pid, kind, *rest = msg
        if kind in (p.REG_SENDER, p.REG_RECEIVER) and not p.authenticate(self._codec, pid, rest[0]):
            self._reject("a participant without the connection's key")
        elif kind == p.REG_SENDER:
            if self._register_sender(pid):
                self._watch_process(pid, rest[1])
        elif kind == p.REG_RECEIVER:
            self._register_receiver(pid, rest[1])
            self._watch_process(pid, rest[2])
        elif kind == p.SENDER_LEFT and self._life.is_sender(pid):
            self._sender_left(pid, p.loads(rest[0]), rest[1:])
        elif kind == p.LEAVING and pid in self._receivers:
            self._receivers[pid].leaving = True
            self._apply(self._life.drained(pid, False))
            for sid in self._life.senders:
                self._send(sid, p.RECEIVER_LEFT, pid)
            self._send(pid, p.LEAVE_ACK)
        elif kind == p.RECEIVER_DONE and pid in self._receivers:
            self._receiver_done(pid, rest)
        elif kind == p.DRAINED and pid in self._receivers:
            info = self._receivers[pid]
            drained = p.unpack_count(rest[0]) == info.returned_sent and not info.leaving
            self._apply(self._life.drained(pid, drained))

    def _apply(self, edges: Edges) -> None:
        """Acts on what the connection's lifecycle reports after one event."""
        life = self._life
        if edges.ended:
            self._end_at = None
            for rid in self._receivers:
                self._send(rid, p.ENDED)
        if edges.final and not self._pubsub:
            for rid in self._receivers:
                self._send(rid, p.FINAL)
        if edges.end_pending:
            self._end_at = time.monotonic() + self._end_grace
        if life.end_pending and not life.sender_count and not life.receiver_count:
            self._end_at = None  # nobody is left to wait with: the grace is over now
            self._apply(life.grace_over())

    # -- registration, departures and crashes ----------------------------------------------

    def _watch_process(self, participant: bytes, token: bytes) -> None:
        gone = self._watch.watch(participant, token)
        if gone is not None:
            self._process_died(gone)

    def _process_died(self, pid: int) -> None:
        for participant in self._watch.died(pid):
            if self._life.is_sender(participant):
                _log.warning("a sender's process (pid %d) died without closing", pid)
                self._sender_left(participant, [], [], crashed=True)
            elif participant in self._receivers:
                _log.warning("a receiver's process (pid %d) died without closing", pid)
                self._receiver_done(participant, [], crashed=True)

    def _register_sender(self, pid: bytes) -> bool:
        if self._life.ended:
            self._send(pid, p.REFUSED, b"every sender of this connection has closed")
            return False
        self._end_at = None
        self._apply(self._life.open_sender(pid))
        live = {
            rid.decode(): info.address.decode()
            for rid, info in self._receivers.items()
            if not info.leaving
        }
        self._send(pid, p.OK, p.dumps(live))
        return True

    def _register_receiver(self, pid: bytes, address: bytes) -> None:
        self._receivers[pid] = _Receiver(address)
        self._apply(self._life.join_receiver(pid))
        life, senders = self._life, self._life.senders
        final = life.final and not self._pubsub
        state = {
            "senders": sorted(s.decode() for s in senders),
            "ended": life.ended,
            "final": final,
        }
        self._send(pid, p.OK, p.dumps(state))
        for sid in senders:
            self._send(sid, p.RECEIVER_JOINED, pid, address)
        self._distribute()

    def _sender_left(
        self, pid: bytes, connected: list[str], frames: list[bytes], *, crashed: bool = False
    ) -> None:
        self._watch.unwatch(pid)
        targets = set(connected)
        for rid in self._receivers:
            flag = p.CRASHED if crashed else b"1" if rid.decode() in targets else b"0"
            self._send(rid, p.SENDER_LEFT, pid, flag)
        self._hold(frames)
        self._apply(self._life.close_sender(pid))
        self._distribute()
        if not crashed:
            self._send(pid, p.ACK, b"1" if self._done() else b"0")

    def _receiver_done(self, pid: bytes, frames: list[bytes], *, crashed: bool = False) -> None:
        info = self._receivers.pop(pid)
        self._watch.unwatch(pid)
        if not info.leaving:
            for sid in self._life.senders:
                self._send(sid, p.RECEIVER_LEFT, pid)
        self._hold(frames)
        self._apply(self._life.leave_receiver(pid))
        self._distribute()
        if not crashed:
            self._send(pid, p.ACK, b"1" if self._done() else b"0")

    # -- returned items (pipeline) ---------------------------------------------------------

    def _hold(self, frames: list[bytes]) -> None:
        """Keeps returned items; until they go out, the store holds back the final end."""
        if self._pubsub or not frames:
            return
        self._store.extend(frames)
        self._life.join_receiver(_STORE)

    def _distribute(self) -> None:
        if self._pubsub or not self._store:
            return
        targets = [rid for rid, info in self._receivers.items() if not info.leaving]
        if not targets:
            return
        shares: dict[bytes, list[bytes]] = {rid: [] for rid in targets}
        index = 0
        while self._store:
            shares[targets[index % len(targets)]].append(self._store.popleft())
            index += 1
        for rid, frames in shares.items():
            if frames:
                self._receivers[rid].returned_sent += len(frames)
                self._apply(self._life.drained(rid, False))
                self._send(rid, p.RETURNED, *frames)
        self._apply(self._life.leave_receiver(_STORE))


@atexit.register
def _stop_all() -> None:
    for rendezvous in list(_RUNNING):
        rendezvous.stop(timeout=2.0)
