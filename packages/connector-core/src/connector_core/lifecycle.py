"""`Lifecycle`: who is in a connection, and when it ends, as one pure state machine.

Every backend answers the same questions about a connection: which senders and receivers
are in it, whether it has *ended* (senders joined and every one of them has closed), when
the receivers may stop (every one has drained what was left), and when nothing is left to
serve (everyone has gone, so sockets, queues or actors can be released). This module answers
them once. It does no I/O and keeps no clock: a backend feeds it the events its transport
observed, in the order it observed them, and acts on the edges each event reports.

Events, each idempotent (a replayed control log changes nothing):

- `open_sender(p)`: a sender joined. Refused with `ChannelClosedError` once the connection
  has ended: a stream that ended stays ended.
- `close_sender(p)`: a sender is done. When it was the last open one, the connection is
  *quiescent*. Without a grace period it ends at once; with one (`grace = True`, for
  connectors shared with processes that may still be starting) the end is *pending* until
  the backend's timer calls `grace_over()`, and a sender that opens meanwhile cancels it.
- `join_receiver(p)` / `leave_receiver(p)`: a receiver came, or went (closed, finished or
  died). A receiver may join an ended connection: it finds the end at once.
- `drained(p, True/False)`: whether a receiver holds nothing more (after the end it has
  handed everything to its user). Once the connection ended and every live receiver is
  drained, it is *final*: every receiver may stop.

Each event returns an `Edges` tuple naming what became true because of it (`ended`,
`end_pending`, `final`, `finished`), each reported once in the connection's life (
`end_pending` once per quiescent spell), so a backend broadcasts an end or releases its
resources exactly once.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, NamedTuple, TypeVar

from connector_core.exceptions import ChannelClosedError

__all__ = ["Edges", "Lifecycle"]

P = TypeVar("P", bound=Hashable)


class Edges(NamedTuple):
    """What became true because of one event."""

    ended: bool = False
    """The connection has just ended: tell every receiver."""
    end_pending: bool = False
    """Every sender has just closed and the end waits for the grace period: start a timer
    that calls `grace_over()`."""
    final: bool = False
    """The connection has ended and every live receiver has just drained: they may stop."""
    finished: bool = False
    """The connection has ended and every participant has gone: release everything."""

    def __bool__(self) -> bool:
        return self.ended or self.end_pending or self.final or self.finished


_NOTHING = Edges()


class Lifecycle(Generic[P]):
    """Membership and end of one connection (see the module docstring)."""

    __slots__ = (
        "_drained",
        "_end_pending",
        "_ended",
        "_final",
        "_finished",
        "_receivers",
        "_senders",
        "ever_receiver",
        "ever_sender",
        "grace",
    )

    def __init__(self, *, grace: bool = False) -> None:
        """Creates the state of a connection nobody has joined yet.

        Args:
            grace: Optional; True makes the end wait for `grace_over()` once every sender
                has closed. A backend may switch it on later (when its connector is shared
                with other processes).
        """
        self.grace = grace
        self.ever_sender = False
        """True once any sender has opened."""
        self.ever_receiver = False
        """True once any receiver has joined."""
        self._senders: set[P] = set()
        self._receivers: set[P] = set()
        self._drained: set[P] = set()
        self._ended = False
        self._end_pending = False
        self._final = False
        self._finished = False

    # -- what is known ---------------------------------------------------------------------

    @property
    def senders(self) -> frozenset[P]:
        """The open senders."""
        return frozenset(self._senders)

    @property
    def receivers(self) -> frozenset[P]:
        """The receivers that joined and have not gone."""
        return frozenset(self._receivers)

    def is_sender(self, party: P) -> bool:
        """True if `party` is an open sender (without copying the set, for hot paths).

        Args:
            party: The id to look up.
        """
        return party in self._senders

    @property
    def sender_count(self) -> int:
        """How many senders are open."""
        return len(self._senders)

    @property
    def receiver_count(self) -> int:
        """How many receivers are live."""
        return len(self._receivers)

    @property
    def quiescent(self) -> bool:
        """True when senders have opened and every one of them has closed."""
        return self.ever_sender and not self._senders

    @property
    def ended(self) -> bool:
        """True once the connection has ended; it never opens again."""
        return self._ended

    @property
    def end_pending(self) -> bool:
        """True while the end waits for `grace_over()`."""
        return self._end_pending

    @property
    def final(self) -> bool:
        """True once the connection ended and every live receiver drained."""
        return self._final

    @property
    def finished(self) -> bool:
        """True once the connection ended and every sender and receiver has gone."""
        return self._finished

    # -- events ----------------------------------------------------------------------------

    def open_sender(self, sender: P) -> Edges:
        """A sender joins.

        Args:
            sender: The sender's id.

        Raises:
            ChannelClosedError: If the connection has ended (every sender had closed).
        """
        if self._ended:
            raise ChannelClosedError(
                "this connection has ended (every sender closed): a new sender cannot join "
                "it; build a new connector"
            )
        self.ever_sender = True
        self._senders.add(sender)
        self._end_pending = False
        return _NOTHING

    def close_sender(self, sender: P) -> Edges:
        """A sender is done; the last one to close ends the connection (or arms the grace).

        Args:
            sender: The sender's id; an id that is not open changes nothing.
        """
        if sender not in self._senders:
            return _NOTHING
        self._senders.discard(sender)
        if self._senders or self._ended:
            return self._settle()
        if self.grace:
            self._end_pending = True
            return Edges(end_pending=True)
        return self._end()

    def grace_over(self) -> Edges:
        """The grace period after the last close has passed: end if still quiescent."""
        if not self._end_pending:
            return _NOTHING
        self._end_pending = False
        return self._end() if self.quiescent else _NOTHING

    def join_receiver(self, receiver: P) -> Edges:
        """A receiver joins (it has drained nothing yet).

        Args:
            receiver: The receiver's id.
        """
        self.ever_receiver = True
        self._receivers.add(receiver)
        self._drained.discard(receiver)
        return _NOTHING

    def leave_receiver(self, receiver: P) -> Edges:
        """A receiver has gone: closed, finished or died.

        Args:
            receiver: The receiver's id; an id that is not live changes nothing.
        """
        if receiver not in self._receivers:
            return _NOTHING
        self._receivers.discard(receiver)
        self._drained.discard(receiver)
        return self._settle()

    def drained(self, receiver: P, drained: bool = True) -> Edges:
        """Whether a live receiver holds nothing more for its user.

        Args:
            receiver: The receiver's id; an id that is not live changes nothing.
            drained: Optional; False when items were handed to it again.
        """
        if receiver not in self._receivers:
            return _NOTHING
        if drained:
            self._drained.add(receiver)
        else:
            self._drained.discard(receiver)
        return self._settle()

    # -- transitions -----------------------------------------------------------------------

    def _end(self) -> Edges:
        self._ended = True
        self._end_pending = False
        settled = self._settle()
        return settled._replace(ended=True)

    def _settle(self) -> Edges:
        if not self._ended:
            return _NOTHING
        final = not self._final and self._receivers <= self._drained
        if final:
            self._final = True
        finished = not self._finished and not self._senders and not self._receivers
        if finished:
            self._finished = True
            self._final = True
        return Edges(final=final, finished=finished) if final or finished else _NOTHING
