"""`TransportChannel`: the one channel class of every cross-process backend.

Core owns the channel; a backend supplies its transports (`connector_core.transport`). The
channel holds the codec, the counters, the closed flag, the event-loop check, iteration and
statistics; a backend's channel class (`ZMQChannel`, `RabbitMQChannel`, ...) is this class
under its own name, plus the constructor of the reference API where it has one.

A channel made by `connect_send()` has a send transport only, one made by `connect_recv()`
a receive transport only. A channel over caller-made endpoints (the reference API's
`ZMQChannel(send_socket=..., recv_socket=...)`) may have both, and may be its own sender
and receiver (a standalone pipeline, `recv_after_close=True`): `close()` then ends its
sending side only, and `recv()` returns what is on its way until the connection ends.

Loops: a channel belongs to the loop its connector names (`loop=`), else to that of its
first use; awaited from another it raises `ChannelError` and stays usable at home.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterable
from typing import Any, cast

from connector_core.buffers import send_dumps
from connector_core.channel import CHAN_MAXSIZE, check_max_items
from connector_core.codec import Codec
from connector_core.exceptions import ChannelClosedError, ChannelDecodeError, ChannelError
from connector_core.loops import running_here
from connector_core.payload import Payload, WithBuffers
from connector_core.sealer import ASIDE_BYTES, BATCH_BYTES, Sealer
from connector_core.serde import SerdeChannel
from connector_core.transport import (
    BufferSender,
    ControlRejections,
    HoldsTaken,
    ItemSender,
    RecvTransport,
    SendTransport,
    SizeLimited,
)

__all__ = ["BATCH_BYTES", "TransportChannel"]

_log = logging.getLogger(__name__)


class TransportChannel(SerdeChannel):
    """A `SerdeChannel` whose frames move through a backend's transports."""

    def __init__(
        self,
        *args: Any,
        sender: SendTransport | None = None,
        receiver: RecvTransport | None = None,
        maxsize: int = CHAN_MAXSIZE,
        codec: Codec | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
        recv_after_close: bool = False,
        **kwargs: Any,
    ) -> None:
        """Creates a channel over one or both transports.

        Args:
            *args: Passed to `SerdeChannel`.
            sender: Optional; the transport `send()` hands frames to.
            receiver: Optional; the transport `recv()` takes verified payloads from.
            maxsize: Optional; the channel's capacity (the transports enforce it).
            codec: Optional; the connection's codec.
            loop: Optional; the channel's event loop (default: the loop of its first use).
            recv_after_close: Optional; for a channel that is its own sender and receiver:
                `close()` closes the sending side only, `recv()` returns what is on its way
                and the receiving side closes at the end (default False: both close).
            **kwargs: Passed to `SerdeChannel`.

        Raises:
            TypeError: If neither transport is given, or `recv_after_close` without both.
        """
        super().__init__(*args, maxsize=maxsize, codec=codec, **kwargs)
        if sender is None and receiver is None:
            raise TypeError(f"a {type(self).__name__} needs a sending or receiving transport")
        if recv_after_close and (sender is None or receiver is None):
            raise TypeError("recv_after_close needs both a sending and a receiving transport")
        self._tx, self._rx, self._loop = sender, receiver, loop
        self._closing: asyncio.Future[None] | None = None
        self._recv_after_close = recv_after_close
        self._sealer = Sealer(self.codec)  # this sender's id and frame numbers
        tx, rx = cast(object, sender), cast(object, receiver)  # optional protocols of theirs
        self._control = [t for t in (tx, rx) if isinstance(t, ControlRejections)]
        self._item_tx = tx if isinstance(tx, ItemSender) else None
        self._buffer_tx = tx if isinstance(tx, BufferSender) else None
        if self._item_tx is not None:  # `send()` hands it items serialized, unsealed
            self._item_tx.seal_runs_with(self._sealer.items)
        self._size_limit = tx if isinstance(tx, SizeLimited) else None
        self._returned = rx.returned if isinstance(rx, HoldsTaken) else None
        self._dumps = send_dumps(self.codec, sender)  # lends large buffers to a BufferSender
        self._items: deque[Any] = deque()  # items of a received frame not yet returned
        self._decode_error: ChannelDecodeError | None = None  # owed to the next recv()

    # -- the event loop --------------------------------------------------------------------

    def _check_loop(self) -> None:
        if running_here(self._loop):
            return
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            raise ChannelError(
                f"this {type(self).__name__} belongs to another event loop (the one it was made"
                " or first used in); make channels (connect_send()/connect_recv()) in the event"
                " loop that uses them"
            )

    def _sender(self) -> SendTransport:
        if self._tx is None:
            raise ChannelError("this channel was made by connect_recv(): it cannot send")
        return self._tx

    def _receiver(self) -> RecvTransport:
        if self._rx is None:
            raise ChannelError("this channel was made by connect_send(): it cannot receive")
        return self._rx

    # -- sending ---------------------------------------------------------------------------

    async def send(self, msg: Any) -> None:
        """Serializes, signs and sends an item; waits only while the transport is full.

        Args:
            msg: The item to send.

        Raises:
            ChannelClosedError: If the channel is closed.
            ChannelError: If this channel cannot send (it was made by `connect_recv()`), or
                it is awaited from an event loop other than its own.
            ChannelSerializationError: If `msg` cannot be serialized (nothing is sent).
        """
        # the checks of `_check_loop`, `_check_open` and `_sender`, inlined: once per item
        if not running_here(self._loop):
            self._check_loop()
        if self._is_closed:
            self._check_open()
        tx = self._tx
        if tx is None:
            tx = self._sender()
        payload, item_tx, buffer_tx = self._dumps(msg), self._item_tx, self._buffer_tx
        if type(payload) is WithBuffers:  # large buffers: a frame of its own, them beside it
            frame = await self._sealer.lent_aside(payload, beside=buffer_tx is not None)
            if buffer_tx is not None and type(frame) is WithBuffers:
                if not buffer_tx.try_send_buffers(frame):
                    await buffer_tx.send_buffers(frame)
            elif not tx.try_send(frame):  # inside it: the transport takes frames whole
                await tx.send(frame)
        elif item_tx is not None and len(payload) < ASIDE_BYTES:  # sealed with its run, later
            if not item_tx.try_send_item(payload):
                await item_tx.send_item(payload)
        else:  # alone: a large one signed in a worker thread
            sealer, large = self._sealer, len(payload) >= ASIDE_BYTES
            frame = await sealer.item_aside(payload) if large else sealer.items([payload])
            if not tx.try_send(frame):
                await tx.send(frame)
        self._sent += 1

    async def send_many(self, items: Iterable[Any]) -> None:
        """Sends several items in order, as few signed frames as the transport allows.

        The items are split into batches of at most the transport's `batch_items` (and the
        channel's `maxsize`, and about `BATCH_BYTES` serialized), each sealed as one frame:
        one serialization and one signature per batch. All of them are serialized before
        any is sent, so an item that cannot be serialized sends none. Backpressure counts
        items: a batch waits until the transport has room for all of its items. If the call
        is cancelled while waiting, the batches before it were sent and the rest were not
        (a prefix in whole batches; `statistics().sent` counts them).

        Args:
            items: The items, in the order they are to arrive.

        Raises:
            ChannelClosedError: If the channel is closed.
            ChannelError: If this channel cannot send, or belongs to another event loop.
            ChannelSerializationError: If an item cannot be serialized, or is larger than
                the transport carries (nothing is sent).
        """
        self._check_loop()
        self._check_open()
        tx = self._sender()
        batch = items if isinstance(items, list) else list(items)
        limit = max(1, tx.batch_items)
        if self._maxsize > 0:
            limit = min(limit, self._maxsize)
        frames = self._sealer.batches(batch, limit)
        if self._size_limit is not None:
            for frame, count in frames:  # every frame first: a frame too large sends none
                self._size_limit.check_size(len(frame), count)
        for frame, count in frames:
            if not tx.try_send(frame, count):
                await tx.send(frame, count)
            self._sent += count

    def seal_bytes(self, payload: bytes, items: int = 1) -> bytes:
        """Seals a serialized list of items as this sender's next frame (for `send_bytes`).

        Args:
            payload: The serializer's output for a list of items.
            items: How many items it holds.
        """
        return self._sealer.payload(payload, items)

    async def send_bytes(self, msg: bytes, items: int = 1) -> None:
        """Sends one frame as it is (it must be sealed to be accepted: `seal_bytes`).

        Args:
            msg: The frame.
            items: Optional; how many items it carries (the room it takes).

        Raises:
            ChannelClosedError: If the channel is closed.
            ChannelError: If this channel cannot send, or belongs to another event loop.
        """
        self._check_loop()
        self._check_open()
        tx = self._sender()
        if not tx.try_send(msg, items):
            await tx.send(msg, items)

    # -- receiving -------------------------------------------------------------------------

    async def recv(self) -> Any:
        """Receives and deserializes the next item (its signature verified on arrival).

        Raises:
            ChannelClosedError: When the connection has ended (the receiver then releases
                its transport itself) or this channel is closed.
            ChannelError: If this channel cannot receive (it was made by `connect_send()`),
                or it is awaited from an event loop other than its own.
            ChannelDecodeError: If a correctly signed message does not deserialize (it is
                discarded; the next `recv()` goes on).
        """
        items = self._items
        while not items or (self._is_closed and not self._recv_after_close):
            self._raise_decode_error()
            rx = self._rx  # the fast path: an open channel on its own loop takes what is here
            tried = rx is not None and not self._is_closed and running_here(self._loop)
            payload = rx.try_recv() if rx is not None and tried else None
            if payload is None:
                payload = await self._recv_payload(tried)
            items.extend(self.codec.loads_items(payload))
        self._received += 1
        item = items.popleft()
        if not items and self._returned is not None:
            self._returned()
        return item

    async def recv_many(self, max_items: int) -> list[Any]:
        """Waits for at least one item, then returns up to `max_items` already here.

        It takes what its transport already holds (verified on arrival) without waiting
        for more; what it does not return stays for the next call. At the end of the stream
        it raises `ChannelClosedError` like `recv()`; a cancelled call took nothing.

        Args:
            max_items: The most items to return (an int >= 1).

        Raises:
            ChannelClosedError: When the connection has ended or this channel is closed.
            ChannelError: If this channel cannot receive, or belongs to another event loop.
            ChannelDecodeError: If a correctly signed message does not deserialize (raised
                when no item precedes it in this call, else by the next call).
            TypeError: If `max_items` is not an int.
            ValueError: If `max_items` is below 1.
        """
        check_max_items(max_items)
        items = self._items
        batch: list[Any] = []
        if items and (not self._is_closed or self._recv_after_close):
            batch = [items.popleft() for _ in range(min(max_items, len(items)))]
        while not batch:  # the first list decoded is the batch: no copy of it
            self._raise_decode_error()
            batch = self.codec.loads_items(await self._recv_payload())
        rx = self._rx
        assert rx is not None  # _recv_payload() returned, or items were kept
        while len(batch) < max_items and not items and self._decode_error is None:
            ready = rx.try_recv()
            if ready is None:
                break
            try:
                batch.extend(self.codec.loads_items(ready))
            except ChannelDecodeError as exc:
                self._decode_error = exc  # the items before it are returned first
        if len(batch) > max_items:
            items.extend(batch[max_items:])
            del batch[max_items:]
        self._received += len(batch)
        if not items and self._returned is not None:
            self._returned()
        return batch

    def _raise_decode_error(self) -> None:
        error = self._decode_error
        if error is not None:
            self._decode_error = None
            raise error

    async def recv_bytes(self) -> bytes:
        """Receives the next verified payload, still serialized.

        Raises:
            ChannelClosedError: When the connection has ended or this channel is closed.
            ChannelError: If this channel cannot receive, or belongs to another event loop.
        """
        payload = await self._recv_payload()
        return bytes(payload) if type(payload) is memoryview else payload  # WithBuffers stays

    async def _recv_payload(self, tried: bool = False) -> Payload:
        """`recv_bytes()`, with a large payload left a view of its frame (not copied).

        `tried`: the caller's `try_recv()` just found nothing (no second look).
        """
        self._check_loop()
        rx = self._receiver()
        if self._is_closed and not self._recv_after_close:
            raise ChannelClosedError(f"{type(self).__name__} is closed: cannot receive")
        if not tried and (payload := rx.try_recv()) is not None:
            return payload
        try:
            return await rx.recv()
        except ChannelClosedError:
            if not self._is_closed:  # the end: nothing more comes, release the transport
                await self._close_at_end()  # now (an `async for` often ends without close())
            elif self._recv_after_close:  # closed, read to the end: release the receiver
                self._recv_after_close = False
                try:
                    await rx.close()
                except ChannelError as exc:
                    _log.warning("%s: releasing the transport at the end failed: %s", self, exc)
            raise

    # -- closing ---------------------------------------------------------------------------

    async def close(self) -> None:
        """Closes the channel; closing twice (or concurrently) is harmless.

        A sender's transport delivers what it holds and then ends its part of the
        connection; a receiver's transport leaves what it had not returned for the others.
        A receiver closes itself when it reaches the end of the connection.

        Raises:
            ChannelError: If awaited from another event loop than the channel's own (it stays
                open: close it in its own loop), or the transport failed to deliver its items.
        """
        if self._closing is not None and self._closing.done():
            return  # the first close() reported how it went
        self._check_loop()  # also before awaiting a close in progress: its task is home's
        if self._closing is None:
            self._is_closed = True
            self._closing = asyncio.ensure_future(self._release())
        await asyncio.shield(self._closing)

    async def _release(self) -> None:
        try:
            if self._tx is not None:
                await self._tx.close()
        finally:  # a sender that failed to deliver still lets its receiver side go
            if self._rx is not None and not self._recv_after_close:
                self._give_back(self._rx)
                await self._rx.close()

    def _give_back(self, rx: RecvTransport) -> None:
        """Hands the items taken and not returned back to the transport, sealed as a frame."""
        if items := self._items:
            rx.give_back(self._sealer.batch(list(items)), len(items))
            items.clear()

    # -- statistics ------------------------------------------------------------------------

    def _buffered(self) -> int:
        return len(self._items) + sum(t.buffered() for t in (self._tx, self._rx) if t is not None)

    def _peer_counts(self) -> tuple[int, int]:
        transport = self._rx if self._rx is not None else self._tx
        assert transport is not None
        return transport.peer_counts()

    def _rejected_count(self) -> int:
        rx = self._rx
        control = sum(t.control_rejected() for t in self._control)
        return self._rejected + control + (rx.verifier.rejected if rx is not None else 0)

    def __reduce__(self) -> Any:
        raise TypeError(
            f"a {type(self).__name__} holds this process's transport and cannot be pickled; "
            "pickle its connector and call connect_send()/connect_recv() in the other process"
        )
