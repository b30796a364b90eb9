"""`SerdeChannel`: the base of channels that carry items as signed frames of bytes.

Every cross-process channel turns an item into one *frame* with its connector's `Codec`
(`connector_core.codec`: serialize with a `connector_core.serializers` serializer, then sign
with HMAC-SHA256). A frame whose tag does not verify is dropped *before* its payload is
deserialized: a foreign peer cannot make us unpickle anything. The serializers and the codec
are re-exported here, where they lived before.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any

from connector_core.channel import CHAN_MAXSIZE, Channel
from connector_core.codec import TAG_SIZE, Codec, MessageRejectedError
from connector_core.exceptions import ChannelClosedError, ChannelError
from connector_core.serializers import (
    SERIALIZERS,
    JsonSerializer,
    PickleSerializer,
    Serializer,
    get_serializer,
)

__all__ = [
    "SERIALIZERS",
    "TAG_SIZE",
    "Codec",
    "JsonSerializer",
    "MessageRejectedError",
    "PickleSerializer",
    "SerdeChannel",
    "Serializer",
    "get_serializer",
]

_log = logging.getLogger(__name__)


class SerdeChannel(Channel, ABC):
    """SerdeChannel base class for channels that use serialised messages.

    Users call `send(item)` and `recv()`; the channel serializes and signs each item into a
    frame with its `codec`. Backends implement only the bytes level: `send_bytes(frame)` and
    `recv_bytes()`. (The reference API named those two `send`/`recv`; they are separate
    methods here so that `send` is typed for items and `send_bytes` can inject raw frames.)

    On receipt, a frame whose signature does not verify is dropped before deserialization,
    counted in `statistics().rejected` and logged once per channel; `recv()` goes on to the
    next frame. A signed frame that does not deserialize raises `ChannelDecodeError` once and
    is discarded; the channel stays usable.
    """

    def __init__(
        self, *args: Any, maxsize: int = CHAN_MAXSIZE, codec: Codec | None = None, **kwargs: Any
    ) -> None:
        """Initialises the SerdeChannel.

        Args:
            *args: Passed to `Channel`.
            maxsize: Optional; The message capacity of the Channel.
            codec: Optional; how items become frames. Defaults to pickle with a fresh key,
                which only this channel can verify: connectors pass their shared codec.
            **kwargs: Passed to `Channel`.
        """
        super().__init__(*args, maxsize=maxsize, **kwargs)
        self.codec = codec if codec is not None else Codec.generate()
        self._warned_rejected = False

    async def send(self, msg: Any) -> None:
        """Serializes, signs and sends an item.

        Args:
            msg: The item to send.

        Raises:
            ChannelClosedError: If the channel is closed.
            ChannelSerializationError: If `msg` cannot be serialized (nothing is sent).
        """
        self._check_open()
        await self.send_bytes(self.codec.encode(msg))
        self._sent += 1

    async def send_many(self, items: Iterable[Any]) -> None:
        """Serializes and signs every item, then sends them in order (see `Channel`).

        Args:
            items: The items, in the order they are to arrive.

        Raises:
            ChannelClosedError: If the channel is closed.
            ChannelSerializationError: If an item cannot be serialized (nothing is sent).
        """
        self._check_open()
        frames = [self.codec.encode(item) for item in items]
        for frame in frames:
            await self.send_bytes(frame)
            self._sent += 1

    def seal_bytes(self, payload: bytes, items: int = 1) -> bytes:
        """Signs an already serialized item as a frame for `send_bytes` (tools and tests).

        Args:
            payload: The serializer's output.
            items: Ignored here (one frame is one item); channels that carry lists use it.
        """
        return self.codec.sign(payload)

    async def recv(self) -> Any:
        """Receives, verifies and deserializes the next item.

        Raises:
            ChannelClosedError: When the connection has ended or this channel is closed.
            ChannelDecodeError: If a correctly signed message does not deserialize.
        """
        while True:
            try:
                frame = await self.recv_bytes()
            except ChannelClosedError:
                if not self._is_closed:
                    await self._close_at_end()
                raise
            try:
                item = self.codec.decode(frame)
            except MessageRejectedError as exc:
                self.reject(exc)
                continue
            self._received += 1
            return item

    async def _close_at_end(self) -> None:
        """Closes this receiver once `recv_bytes()` reported the end of the stream.

        A receiver at the end is closed (`is_closed` is True) on every backend; a failure
        to release its transport is logged, never raised over the end of the stream.
        """
        try:
            await self.close()
        except ChannelError as exc:
            _log.warning("%s: releasing the transport at the end failed: %s", self, exc)
        finally:
            self._is_closed = True

    def reject(self, reason: BaseException | str) -> None:
        """Counts a dropped frame and logs the first one of this channel.

        Backends call it for frames they drop before `recv()` sees them (for example a
        transport-level envelope that does not parse).

        Args:
            reason: Why the frame was dropped (an exception or a message), for the log.
        """
        self._rejected += 1
        if not self._warned_rejected:
            self._warned_rejected = True
            _log.warning(
                "%s dropped a message that failed verification (%s); further drops on this "
                "channel are counted in statistics().rejected without logging",
                type(self).__name__,
                reason,
            )

    @abstractmethod
    async def send_bytes(self, msg: bytes) -> None:
        """Sends one serialised frame through the Channel.

        Args:
            msg: The frame to be sent through the Channel.

        Raises:
            ChannelClosedError: If the channel is closed.
        """

    @abstractmethod
    async def recv_bytes(self) -> bytes:
        """Receives one serialised frame from the Channel and returns it.

        Raises:
            ChannelClosedError: When the connection has ended or this channel is closed.
        """
