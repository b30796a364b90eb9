"""The control log: an append-only stream that tells every party who came and who went.

Close semantics need facts that no single queue can carry to everybody, including parties
that connect later: which senders exist, which have closed, which receivers are listening.
Each connection therefore has one RabbitMQ *stream* (`<prefix>.ctl`): a durable, append-only
log that every consumer reads from the first entry. Parties append small JSON events,
each with a publisher confirm, and each reader folds them, in log order, into a
`LogState`:

- `open <sender>`: a sender connected (appended before `connect_send()` returns);
- `close <sender>`: the sender closed; everything it sent is confirmed by the broker;
- `join <receiver> <queue>`: a receiver's queue is bound (appended before
  `connect_recv()` returns);
- `leave <receiver>`: a receiver closed;
- `end <party>`: the connection has stayed *quiescent* (every sender that opened has closed)
  for the grace period, or the last party closed while it was quiescent;
- `sync <marker>`: changes nothing; a pubsub sender reads the log up to one it appended to
  know every receiver that joined before (`connector_rabbitmq.parts`).

The connection *ends* at the first `end` event folded while it is quiescent
(`LogState.end_senders`): each reader feeds the events into a core `Lifecycle` with a grace
period, the same state machine the other backends use, and `end` is its `grace_over()`.
The grace period lets senders in other processes that are still starting join the stream
instead of finding it over; an `end` that arrives after a new `open` is void. A sender that
opens after the end is refused. Events are idempotent and carry their stream offset, so a
reader that reconnects and replays the log changes nothing.

Every entry is signed with the connection's codec: its `s` field is the HMAC tag over
`"connector-control" | connection id | [kind, party, queue]` (`entry_message`), so an entry
is bound to its connection and says nothing its author did not sign. Anyone with broker
credentials can append to the stream; an entry whose tag does not verify is dropped,
counted in `ControlLog.rejected` (the first one is logged) and never folded. A valid entry
copied again (a replay) changes nothing: each (kind, party) is folded once, and parties are
unique per channel, so a copied `open` cannot reopen a closed sender, nor a copied `join` a
receiver that left. The limit: a connection is named by its job id and spec id, so entries
of an earlier run that used the same job id would verify too (use a fresh job id per run).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue, AbstractRobustChannel

from connector_core.codec import TAG_SIZE, Codec, MessageRejectedError
from connector_core.exceptions import ChannelClosedError
from connector_core.lifecycle import Lifecycle
from connector_core.transport import Verifier
from connector_rabbitmq.recovery import ChannelGoneError, wait_until_open
from connector_rabbitmq.stream import StreamProbe

__all__ = [
    "CLOSE",
    "END",
    "JOIN",
    "LEAVE",
    "OPEN",
    "SYNC",
    "ControlLog",
    "ControlLogGoneError",
    "LogState",
    "entry_message",
]

_log = logging.getLogger(__name__)

OPEN: Final = "open"
CLOSE: Final = "close"
JOIN: Final = "join"
LEAVE: Final = "leave"
END: Final = "end"
SYNC: Final = "sync"
_KINDS = frozenset({OPEN, CLOSE, JOIN, LEAVE, END, SYNC})
_PREFETCH = 256


def entry_message(codec: Codec, kind: str, party: str, queue: str | None) -> bytes:
    """The bytes a control-log entry's tag covers: its connection, kind, party and queue."""
    fields = json.dumps([kind, party, queue], separators=(",", ":")).encode()
    return b"connector-control\0" + codec.connection + fields


class ControlLogGoneError(Exception):
    """The broker cancelled the reading of the control log: the stream was deleted.

    The last party of a connection deletes its log; a party still waiting on the log at
    that moment gets this error instead of waiting for a timeout (someone else cleans up).
    """


@dataclass
class LogState:
    """What the control log says so far, folded in log order.

    Who is in the connection and whether it has ended is a `connector_core.lifecycle.Lifecycle`
    (`life`), with a grace period: `open`, `close`, `join` and `leave` are its sender and
    receiver events and `end` is `grace_over()`. The rest are facts of this backend: each
    receiver's queue, the senders already closed when it joined, late senders, and the
    offset that makes a replayed log change nothing.
    """

    life: Lifecycle[str] = field(default_factory=lambda: Lifecycle(grace=True))
    """Open senders, live receivers, quiescence and the end."""
    opened: set[str] = field(default_factory=set)
    """Senders that opened before the end of the connection."""
    late: set[str] = field(default_factory=set)
    """Senders that opened after the end (they are refused)."""
    closed: set[str] = field(default_factory=set)
    joined: dict[str, str] = field(default_factory=dict)
    """Receiver id -> its queue name (pipeline: the shared work queue)."""
    end_senders: frozenset[str] | None = None
    """The senders of the connection once it has ended; None while it goes on."""
    closed_at_join: dict[str, frozenset[str]] = field(default_factory=dict)
    """Receiver id -> the senders already closed when it joined."""
    seen: set[str] = field(default_factory=set)
    """`"<kind>:<party>"` of every event folded so far."""
    offset: int = -1

    def apply(self, offset: int, kind: str, party: str, queue: str | None) -> None:
        """Folds one event in; an event at or before the last offset is a replay and ignored.

        So is a (kind, party) folded before: a copy of a signed entry changes nothing.
        """
        if offset <= self.offset:
            return
        self.offset = offset
        if f"{kind}:{party}" in self.seen:
            return
        life = self.life
        if kind == OPEN:
            try:
                life.open_sender(party)
            except ChannelClosedError:
                self.late.add(party)
            else:
                self.opened.add(party)
        elif kind == CLOSE:
            self.closed.add(party)
            life.close_sender(party)
        elif kind == END:
            if life.grace_over().ended:
                self.end_senders = frozenset(self.opened)
        elif kind == JOIN:
            self.joined[party] = queue or ""
            self.closed_at_join[party] = frozenset(self.closed)
            life.join_receiver(party)
        elif kind == LEAVE:
            life.leave_receiver(party)
        self.seen.add(f"{kind}:{party}")

    def quiescent(self) -> bool:
        """True when senders have opened and every one of them has closed."""
        return self.life.quiescent

    def open_senders(self) -> set[str]:
        """Senders that opened (before or after the end) and have not closed."""
        return set(self.life.senders) | (self.late - self.closed)

    def live_receivers(self) -> set[str]:
        """Receivers that joined and have not left."""
        return set(self.life.receivers)

    @property
    def ended(self) -> bool:
        """True once every sender that opened before the end has closed."""
        return self.life.ended

    def everyone_gone(self) -> bool:
        """True when the connection ended and every sender and receiver has closed."""
        return self.life.ended and not self.open_senders() and not self.life.receivers


class ControlLog:
    """Reads and appends the control log of one connection on one AMQP channel."""

    def __init__(
        self,
        channel: AbstractRobustChannel,
        name: str,
        unreachable_timeout: float | None = None,
        probe: StreamProbe | None = None,
        codec: Codec | None = None,
    ) -> None:
        """Creates the reader; `start()` declares the stream and starts reading it.

        Args:
            channel: An AMQP channel of its own (with publisher confirms).
            name: The stream's name.
            unreachable_timeout: Optional; seconds `append()` waits for a lost connection
                to come back (None: no limit).
            probe: Optional; makes sure a new stream is ready before `channel` uses it
                (see `connector_rabbitmq.stream`). Needed when other connections may
                declare the stream at the same moment.
            codec: Optional; the connection's codec, which signs every appended entry and
                verifies every entry read. None (only for `purge`, which has no key and
                only collects queue names that cleanup filters by the connection's
                prefix) appends unsigned entries and reads every entry unverified.
        """
        self.channel = channel
        self.name = name
        self.unreachable_timeout = unreachable_timeout
        self.probe = probe
        self.codec = codec
        self.state = LogState()
        self.rejected = 0
        """Entries dropped because their signature did not verify (forged or unsigned)."""
        self.verifier: Verifier | None = None
        """The receiving channel's verifier, when this log is a receiver's: rejected entries
        then count in that channel's `statistics().rejected` (and it logs the first)."""
        self._queue: AbstractQueue | None = None
        self._tag: str | None = None
        self._changed = asyncio.Event()
        self._listeners: list[Callable[[], None]] = []
        self.gone = False
        """True once the broker cancelled the reading (the stream was deleted)."""
        self._guarded = False
        self._robust_on_cancel: Callable[[Any], None] | None = None

    def on_change(self, callback: Callable[[], None]) -> None:
        """Calls `callback()` after every event folded in."""
        self._listeners.append(callback)

    async def declare(self) -> None:
        """Declares the stream (idempotent); with a probe, returns once it is ready.

        Raises:
            ChannelSetupError: If the probe finds the stream not ready in time.
        """
        if self.probe is not None:
            await self.probe.ensure(self.name)
        await self.channel.set_qos(prefetch_count=_PREFETCH)
        self._queue = await self.channel.declare_queue(
            self.name, durable=True, arguments={"x-queue-type": "stream"}
        )

    async def start(self) -> None:
        """Declares the stream and reads it from its first entry, in the background."""
        if self._queue is None:
            await self.declare()
        assert self._queue is not None
        if self.gone:
            raise ControlLogGoneError(f"control log {self.name} was deleted")
        self._tag = await self._queue.consume(
            self._on_message, arguments={"x-stream-offset": "first"}
        )
        self._guard_cancels()
        if not self._guarded:
            self._guarded = True
            self.channel.reopen_callbacks.add(lambda *_: self._guard_cancels())

    def _guard_cancels(self) -> None:
        """Routes the broker's cancel of this reader to `_on_cancel`, not to aio-pika.

        aio-pika's robust channel answers a broker-side consumer cancel by recovering the
        whole broker connection, which consumes again and declares the queue again: here
        it would bring back a control log the last party just deleted. Its handler stays
        in place for any other consumer of the channel. Installed again on every reopen
        (aio-pika installs its handler on each new underlying channel).
        """
        with contextlib.suppress(Exception):  # not open now: the next reopen installs it
            underlay = self.channel._channel.channel  # type: ignore[attr-defined]
            robust = getattr(self.channel, "_on_consumer_cancel", None)
            callbacks = underlay.on_consumer_cancel_callbacks
            if robust is not None:
                callbacks.discard(robust)
            self._robust_on_cancel = robust
            callbacks.add(self._on_cancel)

    def _on_cancel(self, frame: Any) -> None:
        tag = getattr(frame, "consumer_tag", None)
        if tag is None or tag != self._tag:
            if self._robust_on_cancel is not None:
                self._robust_on_cancel(frame)
            return
        _log.debug("the broker cancelled the reading of %s: the log was deleted", self.name)
        self._tag = None
        self.gone = True
        if self._queue is not None:  # never consume again nor declare the deleted stream
            getattr(self._queue, "_consumers", {}).pop(tag, None)
            getattr(self.channel, "_queues", {}).pop(self.name, None)
        self._changed.set()

    @property
    def reading(self) -> bool:
        """True while the log is being read in the background."""
        return self._tag is not None

    async def stop(self) -> None:
        """Stops reading (the state keeps what was read)."""
        if self._queue is not None and self._tag is not None:
            tag, self._tag = self._tag, None
            with contextlib.suppress(Exception):
                await self._queue.cancel(tag)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        offset = message.headers.get("x-stream-offset")
        try:
            event = json.loads(message.body)
            kind, party = event["k"], event["p"]
            queue = event.get("q")
            if kind not in _KINDS or not isinstance(party, str) or not isinstance(offset, int):
                raise ValueError(f"not a control event: {event!r}")
            if not isinstance(queue, str | None):
                raise ValueError(f"not a queue name: {queue!r}")
            self._verify(kind, party, queue, event.get("s"))
        except (ValueError, KeyError, TypeError, MessageRejectedError) as exc:
            self._reject(exc)
        else:
            self.state.apply(offset, kind, party, queue)
            self._changed.set()
            for listener in self._listeners:
                listener()
        with contextlib.suppress(Exception):
            await message.ack()

    def _verify(self, kind: str, party: str, queue: str | None, tag: object) -> None:
        """Raises MessageRejectedError unless the entry carries its author's valid tag."""
        codec = self.codec
        if codec is None or not codec.signed:
            return
        if not isinstance(tag, str) or len(tag) != 2 * TAG_SIZE:
            raise MessageRejectedError("the entry carries no signature")
        codec.verify(bytes.fromhex(tag) + entry_message(codec, kind, party, queue))

    def _reject(self, reason: Exception) -> None:
        self.rejected += 1
        if self.verifier is not None:  # a receiver's log: counted in its statistics()
            self.verifier.drop(f"a control-log entry: {reason}")
        elif self.rejected == 1:
            _log.warning(
                "dropped a control-log entry of %s that is malformed or does not verify (%s); "
                "further ones are counted in ControlLog.rejected without logging",
                self.name,
                reason,
            )

    async def wait_for(self, kind: str, party: str) -> LogState:
        """Waits until the event `kind` of `party` has been read; returns the state then.

        Raises:
            ControlLogGoneError: If the log is deleted before the event is read.
        """
        key = f"{kind}:{party}"
        while key not in self.state.seen:
            if self.gone:
                raise ControlLogGoneError(
                    f"control log {self.name} was deleted before {key} was read"
                )
            self._changed.clear()
            await self._changed.wait()
        return self.state

    async def append(self, kind: str, party: str, queue: str | None = None) -> None:
        """Appends one event and waits for the broker's confirm, retrying across reconnects.

        Raises:
            aio_pika.exceptions.DeliveryError: If the broker refuses the event.
            BrokerUnreachableError: If the connection is lost for longer than
                `unreachable_timeout`.
        """
        body: dict[str, Any] = {"k": kind, "p": party}
        if queue is not None:
            body["q"] = queue
        codec = self.codec
        if codec is not None and codec.signed:
            body["s"] = codec.sign(entry_message(codec, kind, party, queue))[:TAG_SIZE].hex()
        message = aio_pika.Message(
            json.dumps(body).encode(),
            message_id=f"{kind}:{party}",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            content_type="application/json",
        )
        while True:
            if self.channel.is_closed:
                await wait_until_open(self.channel, self.unreachable_timeout)
            try:
                await self.channel.default_exchange.publish(
                    message, routing_key=self.name, mandatory=False
                )
                return
            except (aio_pika.exceptions.DeliveryError, ChannelGoneError):
                raise
            except Exception as exc:  # connection lost: wait for the robust reconnect
                _log.debug("control-log append interrupted (%r); retrying", exc)
                await wait_until_open(self.channel, self.unreachable_timeout)
