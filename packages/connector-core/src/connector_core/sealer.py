"""`Sealer`: one sending party's frames, numbered and sealed in the signed envelope.

Every frame a channel sends carries its random sender id and the next number of its
sequence (`connector_core.envelope`), so receivers can tell a replay from a new frame. The
sealer owns both and seals every kind of frame a channel makes: a `send_many()` batch (split
by `batches` into frames of a bounded size), a run of items serialized one by one (sealed by
the transport's flusher, `items`), a payload serialized by the caller (`payload`), one item
whose buffers travel beside its frame (`lent`, `connector_core.buffers`), and what a closing
receiver gives back.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any, Final, Literal, overload

from connector_core.codec import TAG_SIZE, Codec
from connector_core.envelope import HEADER, SENDER_SIZE
from connector_core.payload import WithBuffers, inline_pieces

__all__ = ["ASIDE_BYTES", "BATCH_BYTES", "ITEM_OVERHEAD", "Sealer"]

ITEM_OVERHEAD: Final = TAG_SIZE + HEADER.size + 9
"""Bytes a serialized item grows by when sealed alone (tag, header, count, length, layout)."""

BATCH_BYTES: Final = 1 << 20
"""`send_many()` splits a batch whose frame would exceed this many bytes (1 MiB) in parts."""

ASIDE_BYTES: Final = 1 << 20
"""An item of this many bytes (1 MiB) or more, serialized or in buffers, is signed in a
worker thread."""


class Sealer:
    """Seals frames for one sending party, numbering them from 1."""

    __slots__ = ("codec", "party", "seq")

    def __init__(self, codec: Codec) -> None:
        """Creates a sealer with a fresh random party id.

        Args:
            codec: The connection's codec.
        """
        self.codec = codec
        self.party = secrets.token_bytes(SENDER_SIZE)
        self.seq = 0
        """The sequence number of the last frame sealed here."""

    def items(self, payloads: list[bytes]) -> bytes:
        """Seals items serialized one by one (`Codec.dumps_item`) as the next frame.

        Args:
            payloads: The serialized items, in order.
        """
        self.seq += 1
        return self.codec.seal_items(payloads, self.party, self.seq)

    def lent(self, payload: WithBuffers) -> WithBuffers:
        """Seals one item whose buffers travel beside the frame as the next frame.

        Args:
            payload: The item's `BUFFERS` payload (`connector_core.buffers.dumps_lending`).

        Returns:
            The frame, holding the same buffers; its tag covers them, in order.
        """
        self.seq += 1
        return self._lent(payload, self.seq)

    @overload
    async def lent_aside(
        self, payload: WithBuffers, beside: Literal[True] = True
    ) -> WithBuffers: ...

    @overload
    async def lent_aside(self, payload: WithBuffers, beside: bool) -> bytes: ...

    async def lent_aside(self, payload: WithBuffers, beside: bool = True) -> bytes:
        """`lent`, its tag computed in a worker thread when the buffers are `ASIDE_BYTES`.

        hashlib lets other threads run while it hashes a large buffer, so the event loop
        goes on meanwhile: in one process, a receiver verifies the previous item while
        this one is sealed. The frame's number is taken at once, here; if the call is
        cancelled, that number is simply never sent.

        Args:
            payload: The item's `BUFFERS` payload (`connector_core.buffers.dumps_lending`).
            beside: Optional; False for a transport that takes frames whole: the frame is
                then plain `bytes` with the buffers inside (layout `INLINE`), joined once
                with the header and tag (default True: a `WithBuffers` frame).
        """
        self.seq += 1
        seal = self._lent if beside else self._inline
        if payload.nbytes() < ASIDE_BYTES:
            return seal(payload, self.seq)
        return await asyncio.to_thread(seal, payload, self.seq)

    async def item_aside(self, payload: bytes) -> bytes:
        """Seals one large serialized item alone as the next frame, in a worker thread.

        As `lent_aside`, for a transport that carries one piece: joining the frame and
        hashing it let the event loop go on meanwhile. The number is taken at once.

        Args:
            payload: The item, serialized (`Codec.dumps_item`).
        """
        self.seq += 1
        return await asyncio.to_thread(self.codec.seal_items, [payload], self.party, self.seq)

    def _inline(self, payload: WithBuffers, seq: int) -> bytes:
        # joined once with the header and tag, not first by `payload.inline`
        return self.codec.reseal(inline_pieces(payload), self.party, seq, 1)

    def _lent(self, payload: WithBuffers, seq: int) -> WithBuffers:
        buffers = payload.buffers
        frame = WithBuffers(self.codec.reseal(payload, self.party, seq, 1, buffers))
        frame.buffers = buffers
        return frame

    def batch(self, items: list[Any]) -> bytes:
        """Serializes and seals `items` as the next frame.

        Args:
            items: The items, in order.

        Raises:
            ChannelSerializationError: If an item cannot be serialized (no number is used).
        """
        frame = self.codec.seal(items, self.party, self.seq + 1)
        self.seq += 1
        return frame

    def payload(self, payload: bytes, items: int) -> bytes:
        """Seals a serialized list of items as the next frame.

        Args:
            payload: The serializer's output for a list of items.
            items: How many items it holds.
        """
        self.seq += 1
        return self.codec.seal_payload(payload, self.party, self.seq, items)

    def batches(self, items: list[Any], limit: int) -> list[tuple[bytes, int]]:
        """Seals `items` as frames of at most `limit` items and about `BATCH_BYTES` each.

        Every frame is sealed before this returns, so an item that cannot be serialized
        raises before any frame is sent.

        Args:
            items: The items, in order.
            limit: The most items one frame may carry.

        Returns:
            The frames, each with the items it carries.

        Raises:
            ChannelSerializationError: If an item cannot be serialized.
        """
        frames: list[tuple[bytes, int]] = []
        start, total = 0, len(items)
        size = limit
        while start < total:
            size = min(size, total - start)
            frame = self.codec.seal(items[start : start + size], self.party, self.seq + 1)
            if len(frame) > BATCH_BYTES and size > 1:
                size = max(1, size * BATCH_BYTES // len(frame))  # the same items, in parts
                continue
            self.seq += 1
            frames.append((frame, size))
            start += size
            size = limit
        return frames
