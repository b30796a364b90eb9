"""`Consumer`: `basic.consume` with a prefetch window, a local FIFO, batched acks, dedup.

The broker pushes up to `prefetch` unacknowledged messages; each lands in a local FIFO
(`Delivery`), which the channel's `recv()` takes frames from. A message is acknowledged only
once *all* its frames have been handed to the caller; acks are batched (`multiple=True` up
to the newest finished message) by a task that runs whenever the receiver yields to the
event loop. A message that is not a well-formed batch, or held a frame that failed
verification or decoding, is rejected without requeue instead: the broker moves it to the
connection's dead-letter queue, once, and the stream goes on.

Duplicates: a message can come twice only after a connection loss (the broker requeues what
was unacknowledged) or a publish retried after a lost confirm. Every process remembers, per
queue, how many frames of each recent message id it has handed out (`HandedLog`) and skips
those on a redelivered copy; a partly handed message resumes where it stopped. A frame
counts only once the channel has verified its signature (`Consumer.verified()`): anyone
with broker credentials can publish under a message id, so junk under a sender's id must
not make its real message look like a copy already handed out. Messages
still in the FIFO whose AMQP channel died are dropped: the broker redelivers them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any, Final

from aio_pika.abc import AbstractIncomingMessage, AbstractQueue, AbstractRobustChannel

from connector_rabbitmq.envelope import EOS, EnvelopeError, unpack

__all__ = ["Consumer", "Delivery", "HandedLog", "handed_log"]

_log = logging.getLogger(__name__)

_HANDED_CAPACITY: Final = 65536


class HandedLog:
    """Frames handed out per message id, for the most recent ids of one queue."""

    def __init__(self, capacity: int = _HANDED_CAPACITY) -> None:
        """Creates an empty log that remembers up to `capacity` message ids."""
        self._ids: OrderedDict[str, int] = OrderedDict()
        self._capacity = capacity

    def handed(self, message_id: str) -> int:
        """Frames of `message_id` handed out so far."""
        return self._ids.get(message_id, 0)

    def record(self, message_id: str, count: int) -> None:
        """Records that `count` frames of `message_id` have been handed out."""
        self._ids[message_id] = count
        self._ids.move_to_end(message_id)
        if len(self._ids) > self._capacity:
            self._ids.popitem(last=False)


_HANDED: dict[str, HandedLog] = {}


def handed_log(queue_name: str) -> HandedLog:
    """Returns this process's `HandedLog` for a queue (shared by its receivers here)."""
    log = _HANDED.get(queue_name)
    if log is None:
        log = _HANDED[queue_name] = HandedLog()
    return log


@dataclass(eq=False)
class Delivery:
    """One AMQP message in the local FIFO and how far it has been handed out."""

    message: AbstractIncomingMessage
    frames: list[bytes] | None
    """The frames; None for an end-of-stream marker or a malformed body."""
    error: str | None = None
    """Why the body is malformed, if it is."""
    index: int = 0
    """Frames handed out (or skipped as duplicates) so far."""
    bad: bool = False
    """Dead-letter instead of acknowledging."""
    done: bool = field(default=False)
    amqp_channel: Any = field(default=None)
    """The AMQP channel it arrived on (acks must go there)."""

    def __post_init__(self) -> None:
        with contextlib.suppress(Exception):
            self.amqp_channel = self.message.channel

    @property
    def is_eos(self) -> bool:
        """True for a sender's end-of-stream marker."""
        return self.message.type == EOS

    @property
    def sender(self) -> str:
        """The sender id (`app_id`) of the message."""
        return self.message.app_id or ""

    @property
    def message_id(self) -> str:
        """The message id, or a stand-in for a message that has none (a forged one)."""
        return self.message.message_id or f"tag-{self.message.delivery_tag}"

    def stale(self) -> bool:
        """True when its AMQP channel died: it cannot be acked and will be redelivered."""
        channel = self.amqp_channel
        return channel is None or bool(channel.is_closed)


class Consumer:
    """Consumes one queue into a local FIFO and acknowledges what was handed out."""

    def __init__(
        self,
        channel: AbstractRobustChannel,
        queue: AbstractQueue,
        prefetch: int,
        notify: asyncio.Event | None = None,
    ) -> None:
        """Creates the consumer; `start()` subscribes.

        Args:
            channel: The AMQP channel the queue was declared on.
            queue: The queue to consume.
            prefetch: Unacknowledged messages the broker may push (`basic.qos`).
            notify: Optional; an event set whenever a message arrives.
        """
        self.channel = channel
        self.queue = queue
        self.prefetch = prefetch
        self.fifo: deque[Delivery] = deque()
        self.handed = handed_log(queue.name)
        self.duplicates = 0
        self.arrived = notify if notify is not None else asyncio.Event()
        self._tag: str | None = None
        self._finished: deque[Delivery] = deque()
        self._ack_task: asyncio.Task[None] | None = None

    @property
    def consuming(self) -> bool:
        """True while subscribed."""
        return self._tag is not None

    def pending_frames(self) -> int:
        """Frames in the FIFO not yet handed out."""
        return sum(len(d.frames) - d.index for d in self.fifo if d.frames is not None)

    async def start(self) -> None:
        """Sets the prefetch window and subscribes (`basic.consume`)."""
        await self.channel.set_qos(prefetch_count=self.prefetch)
        self._tag = await self.queue.consume(self._on_message)

    async def cancel(self) -> None:
        """Unsubscribes; deliveries that were already on their way land in the FIFO."""
        tag, self._tag = self._tag, None
        if tag is not None:
            with contextlib.suppress(Exception):
                await self.queue.cancel(tag)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        if message.type == EOS:
            delivery = Delivery(message, None)
        else:
            try:
                delivery = Delivery(message, unpack(message.body))
            except EnvelopeError as exc:
                delivery = Delivery(message, None, error=str(exc))
        self.fifo.append(delivery)
        self.arrived.set()

    def next_frame(self) -> tuple[Delivery, bytes] | Delivery | None:
        """Takes the next frame without waiting.

        Returns:
            `(delivery, frame)` for a data frame; the `Delivery` itself for an
            end-of-stream marker or a malformed message at the head (the caller settles it
            with `finish()`); None when the FIFO is empty.
        """
        fifo = self.fifo
        while fifo:
            head = fifo[0]
            if head.stale():
                fifo.popleft()  # the broker redelivers it on the recovered channel
                continue
            if head.frames is None:
                return head
            handed = self.handed.handed(head.message_id)
            while head.index < len(head.frames) and head.index < handed:
                head.index += 1  # a redelivered copy: skip what was already handed out
                self.duplicates += 1
            if head.index >= len(head.frames):
                self.finish(head)
                continue
            frame = head.frames[head.index]
            head.index += 1
            if head.index >= len(head.frames):
                self.finish(head)
            return head, frame
        return None

    def verified(self, delivery: Delivery) -> None:
        """Counts the frames of `delivery` handed out so far: the last one verified.

        Only then does a redelivered copy of its message id skip them. Call it right after
        the frame `next_frame()` returned passed signature verification.
        """
        self.handed.record(delivery.message_id, delivery.index)

    def finish(self, delivery: Delivery) -> None:
        """Removes a fully handled delivery from the FIFO and queues its ack (or reject)."""
        if self.fifo and self.fifo[0] is delivery:
            self.fifo.popleft()
        delivery.done = True
        self._finished.append(delivery)
        if self._ack_task is None or self._ack_task.done():
            self._ack_task = asyncio.get_running_loop().create_task(self._settle())

    async def flush_acks(self) -> None:
        """Sends every pending ack and reject now."""
        if self._ack_task is not None:
            with contextlib.suppress(Exception):
                await self._ack_task
        await self._settle()

    async def _settle(self) -> None:
        """Acks finished deliveries in order, batched; rejects bad ones individually."""
        finished = self._finished
        while finished:
            last_good: Delivery | None = None
            while finished and not finished[0].bad:
                delivery = finished.popleft()
                if delivery.stale():
                    continue
                if (
                    last_good is not None
                    and last_good.message.channel is not delivery.message.channel
                ):
                    await _ack(last_good)
                last_good = delivery
            if last_good is not None:
                await _ack(last_good)
            # Deliveries finished while that ack was in flight are settled by the next
            # pass: only one that was marked bad is ever rejected.
            if finished and finished[0].bad:
                bad = finished.popleft()
                if not bad.stale():
                    with contextlib.suppress(Exception):
                        await bad.message.reject(requeue=False)


async def _ack(delivery: Delivery) -> None:
    with contextlib.suppress(Exception):
        await delivery.message.ack(multiple=True)
