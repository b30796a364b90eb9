"""`AsyncioChannel`: the in-process backend's channel, for coroutines in one event loop.

Topology: every channel of one `AsyncioConnector` shares one private hub. In pipeline mode the
hub holds one bounded buffer that every receiver takes from (competing consumers). In pubsub
mode each receiver owns a bounded buffer, and `send()` appends the item to every subscriber's
buffer directly: no task per message per subscriber.

Backpressure is exact: a buffer never holds more than `maxsize` items (`<= 0`: unbounded). A
pubsub `send()` first waits until *every* subscriber has room and then delivers to all of them
without yielding, so a cancelled send has reached all subscribers or none.

Close: the hub's `Lifecycle` (`connector_core.lifecycle`) knows the open senders and live
receivers. When the last sender closes the connection has ended: every buffer is marked
ended; receivers drain what is left and then raise `ChannelClosedError`, all of them. A blocked
`send()` is woken with `ChannelClosedError` when its own channel closes, or (pipeline) when
every receiver has closed and nothing could ever take the item. A blocked `recv()` is woken
when its channel closes or the connection ends.

Loops: the hub belongs to the event loop its first channel was made or used in. A channel
awaited from any other loop raises `ChannelError` at once (its wake-ups are futures of the
home loop, which another loop could never await), and stays usable at home.

Nothing here outlives the hub: there are no tasks or threads; a crash loses what the buffers
held, as any in-memory queue would.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Iterable
from typing import Any, Final, NoReturn

from connector_core.channel import CHAN_MAXSIZE, Channel, check_max_items
from connector_core.exceptions import ChannelClosedError, ChannelError
from connector_core.lifecycle import Lifecycle
from connector_core.loops import running_here
from connector_core.spec import ConnectorMode

__all__ = ["AsyncioChannel"]

_SEND: Final = 1
_RECV: Final = 2
_BOTH: Final = _SEND | _RECV


def _wake_one(waiters: deque[asyncio.Future[None]]) -> None:
    while waiters:
        fut = waiters.popleft()
        if not fut.done():
            fut.set_result(None)
            return


def _wake_all(waiters: deque[asyncio.Future[None]]) -> None:
    while waiters:
        fut = waiters.popleft()
        if not fut.done():
            fut.set_result(None)


async def _wait(waiters: deque[asyncio.Future[None]]) -> None:
    fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    waiters.append(fut)
    try:
        await fut
    except asyncio.CancelledError:
        if fut.done() and not fut.cancelled():
            _wake_one(waiters)  # we were woken but will not act: pass the wake-up on
        else:
            with contextlib.suppress(ValueError):
                waiters.remove(fut)
        raise


class _Inbox:
    """A bounded FIFO with waiting getters and putters; callers re-check after each wake."""

    __slots__ = ("ended", "getters", "items", "maxsize", "putters")

    def __init__(self, maxsize: int) -> None:
        self.items: deque[Any] = deque()
        self.maxsize = maxsize
        self.getters: deque[asyncio.Future[None]] = deque()
        self.putters: deque[asyncio.Future[None]] = deque()
        self.ended = False

    def full(self) -> bool:
        return 0 < self.maxsize <= len(self.items)

    def put(self, item: Any) -> None:
        self.items.append(item)
        if self.getters:
            _wake_one(self.getters)

    def take(self) -> Any:
        item = self.items.popleft()
        if self.putters:
            _wake_one(self.putters)
        return item

    def end(self) -> None:
        self.ended = True
        _wake_all(self.getters)
        _wake_all(self.putters)


class _Hub:
    """The state shared by every channel of one connector."""

    __slots__ = ("life", "loop", "maxsize", "pubsub", "shared", "subscribers")

    def __init__(self, mode: ConnectorMode, maxsize: int) -> None:
        self.pubsub = mode is ConnectorMode.PUBSUB
        self.maxsize = maxsize
        self.life: Lifecycle[AsyncioChannel] = Lifecycle()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.shared = _Inbox(maxsize)
        self.subscribers: list[_Inbox] = []

    def inboxes(self) -> list[_Inbox]:
        return list(self.subscribers) if self.pubsub else [self.shared]

    def check_loop(self) -> None:
        """Binds the hub to the running loop on first use; raises in any other loop."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            return  # made by config code outside a loop: bound on first await
        if self.loop is None or self.loop.is_closed():
            self.loop = running
        elif running is not self.loop:
            raise ChannelError(
                "this AsyncioChannel belongs to another event loop: an in-process connection "
                "lives in one loop. Make the connector and its channels in the loop that "
                "uses them (for example inside the coroutine passed to asyncio.run)."
            )


class AsyncioChannel(Channel):
    """AsyncioChannel enables async data exchange between coroutines on the same host.

    Channels are normally made by `AsyncioConnector.connect_send()` and `connect_recv()`.
    A channel made directly, `AsyncioChannel(maxsize=...)`, is a standalone pipeline that is
    both its own sender and receiver: after `close()` it still returns what it holds, then
    `recv()` raises `ChannelClosedError`.

    The reference API let callers pass their own `asyncio.Queue` (`queue=`, `subscribers=`);
    this channel keeps its buffers private so that close and backpressure can reach every
    end, and refuses those arguments with a `TypeError` that says so.

    `statistics().buffered` is the length of the buffer this channel receives from; for a
    pubsub sender, the fullest subscriber buffer.
    """

    _hub: _Hub
    _role: int
    _inbox: _Inbox | None

    def __init__(self, *args: Any, maxsize: int = CHAN_MAXSIZE, **kwargs: Any) -> None:
        """Instantiates a standalone AsyncioChannel (its own sender and receiver).

        Args:
            *args: Passed to `Channel`.
            maxsize: Optional; buffer capacity in items (`<= 0`: unbounded).
            **kwargs: Passed to `Channel`.

        Raises:
            TypeError: If given the reference API's `queue` or `subscribers` arguments.
        """
        for legacy in ("queue", "subscribers"):
            if legacy in kwargs:
                raise TypeError(
                    f"AsyncioChannel does not take {legacy}=: its buffers are private so that "
                    "close reaches every receiver. Use AsyncioConnector(spec).connect_send() "
                    "and connect_recv() to share a connection between coroutines."
                )
        super().__init__(*args, maxsize=maxsize, **kwargs)
        self._setup(_Hub(ConnectorMode.PIPELINE, maxsize), _BOTH)

    @classmethod
    def _attach(cls, hub: _Hub, role: int) -> AsyncioChannel:
        channel = cls.__new__(cls)
        Channel.__init__(channel, maxsize=hub.maxsize)
        channel._setup(hub, role)
        return channel

    def _setup(self, hub: _Hub, role: int) -> None:
        hub.check_loop()
        self._hub = hub
        self._role = role
        self._inbox = None
        if role & _SEND:
            hub.life.open_sender(self)  # refused once every sender has closed
        if role & _RECV:
            hub.life.join_receiver(self)
            if hub.pubsub:
                inbox = _Inbox(hub.maxsize)
                inbox.ended = hub.life.ended
                hub.subscribers.append(inbox)
                self._inbox = inbox
            else:
                self._inbox = hub.shared

    def _closed(self, what: str) -> NoReturn:
        raise ChannelClosedError(f"AsyncioChannel is closed: cannot {what}")

    def _check_send(self) -> _Hub:
        hub = self._hub
        if not running_here(hub.loop):
            hub.check_loop()
        if self._is_closed:
            self._closed("send")
        if not self._role & _SEND:
            raise ChannelError("this channel was made by connect_recv(): it cannot send")
        return hub

    def _full_inbox(self) -> _Inbox | None:
        """A buffer the next item goes to that is full (pubsub: any subscriber's); else None."""
        hub = self._hub
        if hub.pubsub:
            for inbox in hub.subscribers:  # a loop: a generator here costs more per send
                if inbox.full():
                    return inbox
            return None
        return hub.shared if hub.shared.full() else None

    async def _wait_room(self) -> None:
        """Waits until every buffer the next item goes to has room."""
        life = self._hub.life
        while (inbox := self._full_inbox()) is not None:
            if not self._hub.pubsub and life.ever_receiver and not life.receiver_count:
                raise ChannelClosedError(
                    "every receiver of this pipeline has closed and its buffer is full: "
                    "nothing will take this item"
                )
            await _wait(inbox.putters)
            if self._is_closed:
                self._closed("send")

    async def send(self, item: Any) -> None:
        """Sends an item through the Channel, waiting while the buffer is full.

        Args:
            item: The item; it is passed by reference, not copied.

        Raises:
            ChannelClosedError: If this channel is closed (also while waiting), or, in a
                pipeline, every receiver has closed and the buffer is full.
            ChannelError: If this channel was made by `connect_recv()`.
        """
        hub = self._check_send()
        if hub.pubsub:
            if self._full_inbox() is not None:
                await self._wait_room()
            for inbox in hub.subscribers:
                inbox.put(item)
        else:
            inbox = hub.shared
            if inbox.full():
                await self._wait_room()
            inbox.put(item)
        self._sent += 1

    async def send_many(self, items: Iterable[Any]) -> None:
        """Sends several items in order, waiting only when a buffer is full.

        While there is room the items go in without yielding to the loop. If cancelled
        while waiting, the items before the one waiting were sent (`statistics().sent`).

        Args:
            items: The items; each is passed by reference, not copied.

        Raises:
            ChannelClosedError: As `send()`.
            ChannelError: If this channel was made by `connect_recv()`.
        """
        hub = self._check_send()
        if hub.pubsub:
            for item in items:
                if self._full_inbox() is not None:
                    await self._wait_room()
                for inbox in hub.subscribers:
                    inbox.put(item)
                self._sent += 1
        else:
            shared = hub.shared
            for item in items:
                if shared.full():
                    await self._wait_room()
                shared.put(item)
                self._sent += 1

    async def recv(self) -> Any:
        """Returns the next item, waiting while the buffer is empty.

        Raises:
            ChannelClosedError: When every sender has closed and the buffer is drained, or
                this receiving channel was closed.
            ChannelError: If this channel was made by `connect_send()`.
        """
        inbox = self._inbox
        if inbox is None:
            raise ChannelError("this channel was made by connect_send(): it cannot receive")
        if not running_here(self._hub.loop):
            self._hub.check_loop()
        if self._is_closed and self._role == _RECV:
            self._closed("receive")
        while not inbox.items:
            if inbox.ended:
                if self._role == _RECV:
                    self._close_now()  # the end of the stream closes the receiver
                raise ChannelClosedError("every sender has closed and all was delivered")
            await _wait(inbox.getters)
            if self._is_closed and self._role == _RECV:
                self._closed("receive")
        self._received += 1
        return inbox.take()

    async def recv_many(self, max_items: int) -> list[Any]:
        """Waits for an item, then returns up to `max_items` of those already buffered.

        Args:
            max_items: The most items to return (an int >= 1).

        Raises:
            ChannelClosedError: As `recv()`.
            ChannelError: If this channel was made by `connect_send()`.
            TypeError: If `max_items` is not an int.
            ValueError: If `max_items` is below 1.
        """
        check_max_items(max_items)
        batch = [await self.recv()]
        inbox = self._inbox
        assert inbox is not None
        while inbox.items and len(batch) < max_items:
            batch.append(inbox.take())
        self._received += len(batch) - 1
        return batch

    async def close(self) -> None:
        """Closes the channel; closing twice is harmless.

        A sender's close ends the connection once it is the last open sender. A receiver's
        close stops it; in a pipeline what it had not taken stays for the others.
        """
        self._close_now()

    def _close_now(self) -> None:
        if self._is_closed:
            return
        self._is_closed = True
        hub = self._hub
        if self._role & _SEND:
            if hub.life.close_sender(self).ended:
                for inbox in hub.inboxes():
                    inbox.end()
            else:
                for inbox in hub.inboxes():
                    _wake_all(inbox.putters)
        if self._role == _RECV:
            hub.life.leave_receiver(self)
            own = self._inbox
            assert own is not None
            if hub.pubsub:
                hub.subscribers.remove(own)
                _wake_all(own.getters)
                _wake_all(own.putters)
            else:
                _wake_all(own.getters)
                if not hub.life.receiver_count:
                    _wake_all(own.putters)

    def _buffered(self) -> int:
        if self._inbox is not None:
            return len(self._inbox.items)
        return max((len(inbox.items) for inbox in self._hub.inboxes()), default=0)

    def _peer_counts(self) -> tuple[int, int]:
        return (self._hub.life.sender_count, self._hub.life.receiver_count)

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"AsyncioChannel is in-process only and cannot be pickled; {_elsewhere()}")


def _elsewhere() -> str:
    """What to use instead of an in-process object: the installed cross-process backends."""
    from connector_core.registry import available_backends  # at call time: no import cycle

    others = [name for name in available_backends() if name != "asyncio"]
    if not others:
        return "install a cross-process backend to connect processes (none is installed)"
    return (
        f"use a cross-process backend to connect processes (installed: {', '.join(others)}; "
        "connector_core.get_backend(name) returns its connector class)"
    )
