"""The rendezvous: the control plane of one ZMQ connection (membership, end, returns).

One rendezvous exists per connection. It runs as a thread of the process that created the
connector, started lazily by the first `connect_send()`, `connect_recv()`, `zmq_address` or
pickling of the connector there, and listens on one ROUTER socket bound to
`settings.bind_host` on a free port. Its address travels inside the pickled connector.

It never forwards items between senders and receivers (they talk directly, see
`connector_zmq`). It keeps:

- the live senders and receivers, with each receiver's data address; it tells every sender
  when a receiver joins or leaves, and tells every receiver when a sender left and whether
  that sender had connected to it;
- whether the connection has *ended*: at least one sender joined and every sender has left;
  a sender that registers after that is refused (`ChannelClosedError`). When the connector
  was pickled to other processes, the end waits `settings.zmq_end_grace` seconds (2 by
  default) for senders still starting elsewhere; a sender that registers in that time
  keeps the connection open. A connector used in one process ends at once;
- pipeline only: the *returned* items, signed frames a closing receiver had taken from the
  wire but not handed to its user, or a closing sender still held. It passes them on to the
  live receivers (or keeps them for the next receiver to join): a closed receiver's items
  stay for the others. Each receiver reports when it is *drained* (ended, every sender's
  END seen, nothing buffered); once every live receiver is drained, nothing is leaving and
  nothing is held here, the rendezvous sends FINAL and the receivers end, all of them.

Crashes: the rendezvous watches the process of every participant on its host with a pidfd
(Linux), which becomes readable when that process exits. A receiver whose process died is
dropped (the items it held, at most its credit window per sender, are lost) and senders stop
sending to it; a sender whose process died is dropped and its receivers stop waiting for its
END, so the others still end. Participants on other hosts are not watched.

It stops (closing its socket and private ZeroMQ context) once every participant has left,
whether or not a sender ever joined: when the connection has ended and every receiver left,
or when the creating connector object is gone (collected: it can make no more channels) and
nobody is connected; for a pickled connector, after `settings.zmq_join_timeout` seconds
(60 by default) more for copies still starting elsewhere. It also stops when its process
exits. If the creating process dies, the rendezvous dies with it: items already with a
receiver are still delivered, but new participants cannot join and receivers do not learn
of the end.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass

import zmq

from connector_core.serde import Codec
from connector_zmq import protocol as p

__all__ = ["Rendezvous"]

_log = logging.getLogger(__name__)

_RUNNING: weakref.WeakSet[Rendezvous] = weakref.WeakSet()

_STOP, _ORPHAN = b"x", b"o"  # what the stop pipe carries: stop now, or orphaned


@dataclass
class _Receiver:
    address: bytes
    leaving: bool = False
    drained: bool = False
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
            ChannelSetupError: If `bind_host` cannot be bound.
        """
        self._pubsub = pubsub
        self._codec = codec
        self._ctx = zmq.Context()
        self._sock: zmq.Socket[bytes] = self._ctx.socket(zmq.ROUTER)
        self._sock.setsockopt(zmq.LINGER, p.LINGER_MS)
        self._sock.setsockopt(zmq.SNDHWM, 0)
        self._sock.setsockopt(zmq.RCVHWM, 0)
        try:
            self.address = p.bind_random(self._sock, bind_host)
        except BaseException:
            self._sock.close(0)
            self._ctx.term()
            raise
        self._stop_r, self._stop_w = os.pipe()
        self._pipe_lock = threading.Lock()
        self._pipe_open = True
        self._orphaned = False
        self._idle_at: float | None = None
        self._senders: set[bytes] = set()
        self._receivers: dict[bytes, _Receiver] = {}
        self._store: deque[bytes] = deque()
        self._ever_sender = False
        self._ended = False
        self._final = False
        self._end_grace = end_grace
        self._join_timeout = join_timeout
        self._end_at: float | None = None
        self._pidfds: dict[int, int] = {}
        self._members: dict[int, set[bytes]] = {}
        self._pid_of: dict[bytes, int] = {}
        self._poller = zmq.Poller()
        self.shared = False
        """Set when the connector was pickled: other processes may still be starting."""
        self._thread = threading.Thread(
            target=self._run, name=f"connector-zmq-rendezvous {self.address}", daemon=True
        )
        _RUNNING.add(self)
        self._thread.start()

    @property
    def running(self) -> bool:
        """True while the thread serves the connection."""
        return self._thread.is_alive()

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stops the thread (if still running) and waits for it to release everything."""
        if self._thread.is_alive():
            self._signal(_STOP)
            self._thread.join(timeout)

    def orphan(self) -> None:
        """Says the creating connector is gone: stop once nobody is connected (see above)."""
        self._signal(_ORPHAN)

    def _signal(self, what: bytes) -> None:
        with self._pipe_lock:
            if self._pipe_open:
                with contextlib.suppress(OSError):
                    os.write(self._stop_w, what)

    def join(self, timeout: float | None = 5.0) -> None:
        """Waits for the thread to finish on its own (after the connection is over)."""
        self._thread.join(timeout)

    # -- the thread ------------------------------------------------------------------------

    def _finished(self) -> bool:
        if self._senders or self._receivers:
            return False
        if self._idle_at is not None and time.monotonic() >= self._idle_at:
            return True  # orphaned, and nobody came: nobody can take what is stored either
        return self._ever_sender and not self._store  # ended, and everyone left

    def _update_idle(self) -> None:
        """Starts (or cancels) the wait before an orphaned rendezvous with nobody stops."""
        if not self._orphaned or self._senders or self._receivers:
            self._idle_at = None
        elif self._idle_at is None:
            self._idle_at = time.monotonic() + (self._join_timeout if self.shared else 0.0)

    def _timeout_ms(self) -> int | None:
        deadlines = [t for t in (self._end_at, self._idle_at) if t is not None]
        return max(0, int((min(deadlines) - time.monotonic()) * 1000) + 1) if deadlines else None

    def _run(self) -> None:
        poller = self._poller
        poller.register(self._sock, zmq.POLLIN)
        poller.register(self._stop_r, zmq.POLLIN)
        try:
            while not self._finished():
                events = dict(poller.poll(self._timeout_ms()))
                if self._stop_r in events:
                    signals = os.read(self._stop_r, 64)
                    if _STOP in signals:
                        break
                    self._orphaned = True
                for pid, fd in list(self._pidfds.items()):
                    if fd in events:
                        self._process_died(pid)
                if self._end_at is not None and time.monotonic() >= self._end_at:
                    self._end_at = None
                    if not self._senders:
                        self._end()
                while True:
                    try:
                        msg = self._sock.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    try:
                        self._handle(msg)
                    except Exception:  # a malformed control message must not kill us
                        _log.warning("rendezvous ignored a malformed message", exc_info=True)
                self._update_idle()
        finally:
            if self._store:
                _log.warning("%d returned items had no receiver left to go to", len(self._store))
            self._sock.close(linger=0)  # everyone left (or the process is exiting)
            for fd in self._pidfds.values():
                os.close(fd)
            self._pidfds.clear()
            self._ctx.term()
            with self._pipe_lock:
                self._pipe_open = False
                os.close(self._stop_r)
                os.close(self._stop_w)
            _RUNNING.discard(self)

    def _send(self, pid: bytes, *parts: bytes) -> None:
        self._sock.send_multipart([pid, *parts])

    def _handle(self, msg: list[bytes]) -> None:
        pid, kind, *rest = msg
        if kind == p.REG_SENDER:
            if self._register_sender(pid, rest[0]):
                self._watch(pid, rest[1])
        elif kind == p.REG_RECEIVER:
            if self._register_receiver(pid, rest[0], rest[1]):
                self._watch(pid, rest[2])
        elif kind == p.SENDER_LEFT and pid in self._senders:
            self._sender_left(pid, p.loads(rest[0]), rest[1:])
        elif kind == p.LEAVING and pid in self._receivers:
            self._receivers[pid].leaving = True
            for sid in self._senders:
                self._send(sid, p.RECEIVER_LEFT, pid)
            self._send(pid, p.LEAVE_ACK)
        elif kind == p.RECEIVER_DONE and pid in self._receivers:
            self._receiver_done(pid, rest)
        elif kind == p.DRAINED and pid in self._receivers:
            info = self._receivers[pid]
            info.drained = p.unpack_count(rest[0]) == info.returned_sent
            self._check_final()

    # -- crash detection ---------------------------------------------------------------------

    def _watch(self, participant: bytes, token: bytes) -> None:
        """Watches the participant's process (same host only) so that its death is noticed."""
        pid = p.same_host_pid(token)
        if pid is None or pid == os.getpid() or not hasattr(os, "pidfd_open"):
            return
        self._members.setdefault(pid, set()).add(participant)
        self._pid_of[participant] = pid
        if pid in self._pidfds:
            return
        try:
            fd = os.pidfd_open(pid)
        except OSError:  # already gone, or not permitted: treat as gone
            self._process_died(pid)
            return
        self._pidfds[pid] = fd
        self._poller.register(fd, zmq.POLLIN)

    def _unwatch(self, participant: bytes) -> None:
        pid = self._pid_of.pop(participant, None)
        if pid is None:
            return
        members = self._members.get(pid, set())
        members.discard(participant)
        if not members:
            self._release(pid)

    def _release(self, pid: int) -> None:
        self._members.pop(pid, None)
        fd = self._pidfds.pop(pid, None)
        if fd is not None:
            self._poller.unregister(fd)
            os.close(fd)

    def _process_died(self, pid: int) -> None:
        members = self._members.get(pid, set())
        self._release(pid)
        for participant in members:
            self._pid_of.pop(participant, None)
            if participant in self._senders:
                _log.warning("a sender's process (pid %d) died without closing", pid)
                self._sender_left(participant, [], [], crashed=True)
            elif participant in self._receivers:
                _log.warning("a receiver's process (pid %d) died without closing", pid)
                self._receiver_done(participant, [], crashed=True)

    # -- registration and departures -------------------------------------------------------------

    def _register_sender(self, pid: bytes, proof: bytes) -> bool:
        if not p.authenticate(self._codec, pid, proof):
            _log.warning("rendezvous refused a participant without the connection's key")
            return False
        if self._ended:
            self._send(pid, p.REFUSED, b"every sender of this connection has closed")
            return False
        self._senders.add(pid)
        self._ever_sender = True
        self._end_at = None
        live = {
            rid.decode(): info.address.decode()
            for rid, info in self._receivers.items()
            if not info.leaving
        }
        self._send(pid, p.OK, p.dumps(live))
        return True

    def _register_receiver(self, pid: bytes, proof: bytes, address: bytes) -> bool:
        if not p.authenticate(self._codec, pid, proof):
            _log.warning("rendezvous refused a participant without the connection's key")
            return False
        self._receivers[pid] = _Receiver(address)
        state = {
            "senders": sorted(sid.decode() for sid in self._senders),
            "ended": self._ended,
            "final": self._final,
        }
        self._send(pid, p.OK, p.dumps(state))
        for sid in self._senders:
            self._send(sid, p.RECEIVER_JOINED, pid, address)
        self._distribute()
        return True

    def _sender_left(
        self, pid: bytes, connected: list[str], frames: list[bytes], *, crashed: bool = False
    ) -> None:
        self._senders.discard(pid)
        self._unwatch(pid)
        targets = set(connected)
        for rid in self._receivers:
            flag = p.CRASHED if crashed else b"1" if rid.decode() in targets else b"0"
            self._send(rid, p.SENDER_LEFT, pid, flag)
        if not self._pubsub:
            self._store.extend(frames)
        if not self._senders and not self._ended:
            if self.shared and self._end_grace > 0:
                self._end_at = time.monotonic() + self._end_grace
            else:
                self._end()
        self._distribute()
        self._check_final()
        if not crashed:
            self._send(pid, p.ACK, b"1" if self._finished() else b"0")

    def _end(self) -> None:
        self._ended = True
        for rid in self._receivers:
            self._send(rid, p.ENDED)
        self._check_final()

    def _receiver_done(self, pid: bytes, frames: list[bytes], *, crashed: bool = False) -> None:
        info = self._receivers.pop(pid)
        self._unwatch(pid)
        if not info.leaving:
            for sid in self._senders:
                self._send(sid, p.RECEIVER_LEFT, pid)
        if not self._pubsub:
            self._store.extend(frames)
        self._distribute()
        self._check_final()
        if not crashed:
            self._send(pid, p.ACK, b"1" if self._finished() else b"0")

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
                info = self._receivers[rid]
                info.returned_sent += len(frames)
                info.drained = False
                self._send(rid, p.RETURNED, *frames)

    def _check_final(self) -> None:
        if self._pubsub or self._final or not self._ended or self._store:
            return
        if any(info.leaving or not info.drained for info in self._receivers.values()):
            return
        self._final = True
        for rid in self._receivers:
            self._send(rid, p.FINAL)


@atexit.register
def _stop_all() -> None:
    for rendezvous in list(_RUNNING):
        rendezvous.stop(timeout=2.0)
