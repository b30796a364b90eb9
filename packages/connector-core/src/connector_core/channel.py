"""`Channel`: the interface every backend's channel implements, and its statistics.

A channel is one end of a connection, made by `Connector.connect_send()` or
`Connector.connect_recv()`. Senders `send()` items and finally `close()`; receivers `recv()`
until every sender has closed and everything sent has been delivered, after which `recv()`
raises `ChannelClosedError` (and `async for` ends).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable
from types import TracebackType
from typing import Any, NamedTuple, Self

from connector_core.exceptions import ChannelClosedError

__all__ = ["CHAN_MAXSIZE", "Channel", "ChannelStatistics", "check_max_items"]

CHAN_MAXSIZE: int = 2000
"""Default capacity of a channel's buffer, in messages. `maxsize <= 0` means unbounded."""


def check_max_items(max_items: object) -> int:
    """Returns `max_items` for `recv_many()`, or raises saying what it must be.

    Raises:
        TypeError: If it is not an int.
        ValueError: If it is below 1.
    """
    if isinstance(max_items, bool) or not isinstance(max_items, int):
        raise TypeError(f"recv_many(max_items) takes an int >= 1, got {max_items!r}")
    if max_items < 1:
        raise ValueError(f"recv_many(max_items) takes an int >= 1, got {max_items}")
    return max_items


class ChannelStatistics(NamedTuple):
    """A snapshot of a channel's counters, the same shape on every backend."""

    sent: int
    """Items this channel has sent (accepted by the transport)."""
    received: int
    """Items this channel has returned from `recv()`."""
    buffered: int
    """Items waiting in this channel's buffers now (sent but not yet received, where known)."""
    max_size: int
    """The channel's `maxsize` (`<= 0`: unbounded)."""
    senders: int
    """Open senders of the connection that this channel knows of."""
    receivers: int
    """Open receivers of the connection that this channel knows of."""
    rejected: int
    """Messages dropped on receipt: forged, undecodable or otherwise invalid."""


class Channel(ABC):
    """Channel defines an interface for data communication.

    Subclasses implement `send` and `recv`; `close` must be awaited by subclasses that
    override it (`await super().close()`).
    """

    def __init__(self, *args: Any, maxsize: int = CHAN_MAXSIZE, **kwargs: Any) -> None:
        """Initialises the Channel.

        Args:
            *args: Ignored; accepted for cooperative subclassing.
            maxsize: Optional; The message capacity of the Channel (`<= 0`: unbounded).
            **kwargs: Ignored; accepted for cooperative subclassing.

        Raises:
            TypeError: If `maxsize` is not an integer.
        """
        if isinstance(maxsize, bool) or not isinstance(maxsize, int):
            raise TypeError(f"maxsize must be an int (<= 0 for unbounded), got {maxsize!r}")
        self._maxsize = maxsize
        self._is_closed = False
        self._sent = 0
        self._received = 0
        self._rejected = 0

    @property
    def is_closed(self) -> bool:
        """Returns True if the Channel is closed, False otherwise.

        When a Channel is closed, it can no longer be used to send messages, though there may
        still be some messages waiting to be read.
        """
        return self._is_closed

    @property
    def maxsize(self) -> int:
        """Returns the message capacity of the Channel."""
        return self._maxsize

    @abstractmethod
    async def send(self, msg: Any) -> None:
        """Sends an item through the Channel.

        Args:
            msg: The item to be sent through the Channel.

        Raises:
            ChannelClosedError: If the channel is closed.
        """

    @abstractmethod
    async def recv(self) -> Any:
        """Receives an item from the Channel and returns it.

        Raises:
            ChannelClosedError: When every sender has closed and everything was delivered,
                or when this channel itself was closed.
        """

    async def send_many(self, items: Iterable[Any]) -> None:
        """Sends several items as one operation, in order.

        Each item keeps the guarantees of `send()`: order, exactly-once delivery, and
        backpressure counted in items. If the call is cancelled or fails, a prefix of
        `items` was sent, never part of an item; `statistics().sent` says how many.
        Backends send a batch as few frames as they can (one signed frame per batch on the
        cross-process backends); this default sends the items one by one.

        Args:
            items: The items, in the order they are to arrive.

        Raises:
            ChannelClosedError: If the channel is closed.
            ChannelSerializationError: If an item cannot be serialized (the cross-process
                backends then send none of them).
        """
        for item in items:
            await self.send(item)

    async def recv_many(self, max_items: int) -> list[Any]:
        """Waits for at least one item, then returns up to `max_items` available ones.

        It never waits for more once it has one: the list holds what had already arrived.
        At the end of the stream it raises `ChannelClosedError` like `recv()`; if cancelled,
        it took nothing.

        Args:
            max_items: The most items to return (an int >= 1).

        Raises:
            ChannelClosedError: When every sender has closed and everything was delivered,
                or when this channel itself was closed.
            TypeError: If `max_items` is not an int.
            ValueError: If `max_items` is below 1.
        """
        check_max_items(max_items)
        return [await self.recv()]

    async def batches(self, max_items: int) -> AsyncIterator[list[Any]]:
        """Iterates over the stream in lists of up to `max_items` items (`recv_many`).

        Args:
            max_items: The most items per list (an int >= 1).
        """
        check_max_items(max_items)
        while True:
            try:
                batch = await self.recv_many(max_items)
            except ChannelClosedError:
                return
            yield batch

    async def close(self) -> None:
        """Closes the Channel. Closing twice is harmless."""
        self._is_closed = True

    def statistics(self) -> ChannelStatistics:
        """Returns a snapshot of this channel's counters."""
        senders, receivers = self._peer_counts()
        return ChannelStatistics(
            sent=self._sent,
            received=self._received,
            buffered=self._buffered(),
            max_size=self._maxsize,
            senders=senders,
            receivers=receivers,
            rejected=self._rejected_count(),
        )

    def _rejected_count(self) -> int:
        """Messages dropped on receipt; backends that drop them elsewhere add theirs."""
        return self._rejected

    def _buffered(self) -> int:
        """Items waiting in this channel's buffers; backends override when they know."""
        return 0

    def _peer_counts(self) -> tuple[int, int]:
        """Open (senders, receivers) this channel knows of; backends override."""
        return (0, 0)

    def _check_open(self) -> None:
        if self._is_closed:
            raise ChannelClosedError(f"{type(self).__name__} is closed")

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.recv()
        except ChannelClosedError:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
