"""`Consumer`: `basic.consume` with a prefetch window, verification on arrival, a local FIFO.

It consumes one queue, and in a pipeline the connection's returns queue beside it (the items
closing receivers gave back: `connector_rabbitmq.receiver`), into one FIFO. The broker
pushes up to `prefetch` unacknowledged messages (per queue). Each is checked the moment it
arrives, before it is buffered, deduplicated or counted: its body must parse with core's
batch framing (`connector_core.framing`) and every frame in it goes through the receiver's
`Verifier`, which drops and counts a frame whose HMAC tag fails. Only verified payloads are
kept (`Delivery`), with the item count each frame states (a frame sealed by `send_many()`
carries several; `pending_items()` counts them), in a local FIFO that the receive transport
takes them from:

- a message with no frame that verifies (forged, malformed or empty) is rejected without
  requeue at once: the broker moves it to the connection's dead-letter queue;
- a message with some frames that fail and some that verify (a member sent an unsigned
  frame with `send_bytes()` into a batch) keeps only its verified frames and is
  dead-lettered, instead of acknowledged, once they have been handed out;
- a message whose frames all verify is acknowledged once *all* of them have been handed
  out. Acks are batched (`multiple=True` up to the newest finished message) by a task that
  runs whenever the receiver yields to the event loop. A verified frame that does not
  deserialize raises `ChannelDecodeError` from `recv()` and its message is acknowledged
  normally: its sender holds the key, so retrying it cannot help.

A claim (a large frame whose parts wait in a queue of their own, `connector_rabbitmq.parts`)
is verified on arrival too, by the `Reassembler` (`connector_rabbitmq.reassembly`): a
forged one is dead-lettered at once; a verified one waits in the FIFO, `pending`, until its
parts have been read and make a verified payload, and holds back what came after it. Before
a claim is acknowledged (or dead-lettered), its queue of parts is deleted.

Items, not frames, are what `maxsize` bounds (`connector_rabbitmq.topology`). When the last
frame handed out of a message carries several items, the channel keeps the ones it has not
returned yet; the message is then `held`, unacknowledged, until the channel comes back for
the next frame (`next_frame()`, which it calls only once it is returning every item it kept)
or the receiver closes (`flush_acks()`, once the receiver has put the items the channel
gave back in the queue: `connector_rabbitmq.receiver`). Until then those items keep their
message's place in the prefetch window, so a receiver that stalls after taking one item of
a batch does not let the broker push it another message. If they cannot be given back,
`take_back_last()` makes the frame handed out last count as not handed out and returns the
held message for the receiver to requeue: the items of it the channel had returned then come
twice, and none is lost.

Duplicates: a message can come twice only after a connection loss (the broker requeues what
was unacknowledged) or a publish retried after a refusal or a lost confirm. The broker marks
the first kind `redelivered`; the publisher signs a retry mark on the second
(`connector_rabbitmq.retries`), and a mark that verifies, for an attempt newer than any this
process took of that message id from the queue, lets its frames past the replay check like
a redelivery. Every process remembers, per queue, how many frames of each recent message id
it has handed out (`HandedLog`) and skips those on such a copy; a partly handed message
resumes where it stopped. A copy of which every frame was handed out already, and a verified
copy of an end-of-stream marker this consumer settled or holds, are acknowledged the moment
they arrive (a publisher's retries leave them): in the FIFO they would wait for the next
`recv()` in a prefetch place, and a receiver that has everything and waits would let them
fill its queue, where the sender's own marker then finds no room. Only verified
frames are ever handed out, so junk published under a sender's message id by anyone with
broker credentials cannot make its real message look like a copy. Messages still in the
FIFO whose AMQP channel died are dropped: the broker redelivers them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from aio_pika.abc import AbstractIncomingMessage, AbstractQueue, AbstractRobustChannel

from connector_core.framing import FramingError, unpack_frames
from connector_core.payload import Payload
from connector_core.transport import Verifier
from connector_rabbitmq.delivery import Delivery
from connector_rabbitmq.handed import handed_log
from connector_rabbitmq.messages import CLAIM, EOS, marker_valid
from connector_rabbitmq.parts import DEFAULT_PARTS
from connector_rabbitmq.reassembly import Reassembler
from connector_rabbitmq.retries import RETRY_HEADER, retry_attempt

__all__ = ["Consumer", "Delivery"]


class Consumer:
    """Consumes one queue into a local FIFO of verified frames; acks what was handed out."""

    def __init__(
        self,
        channel: AbstractRobustChannel,
        queue: AbstractQueue,
        prefetch: int,
        verifier: Verifier,
        notify: asyncio.Event | None = None,
        claims: Reassembler | None = None,
        returns: AbstractQueue | None = None,
    ) -> None:
        """Creates the consumer; `start()` subscribes.

        Args:
            channel: The AMQP channel the queue was declared on.
            queue: The queue to consume.
            prefetch: Unacknowledged messages the broker may push (`basic.qos`).
            verifier: Checks every frame on arrival and counts the ones it drops.
            notify: Optional; an event set whenever a message arrives (or a claim's
                parts have been read).
            claims: Optional; reads the parts of the claims that arrive (default: one
                with the default settings, for a receiver of no subscriber id).
            returns: Optional; a pipeline's returns queue, declared on the same AMQP
                channel and consumed beside `queue` into the same FIFO (its messages carry
                items closing receivers gave back: `connector_rabbitmq.receiver`).
        """
        self.channel = channel
        self.queue = queue
        self.returns = returns
        self.prefetch = prefetch
        self.verifier = verifier
        self.fifo: deque[Delivery] = deque()
        self.handed = handed_log(queue.name)
        self.duplicates = 0
        self.markers: set[str] = set()
        """Message ids of the end-of-stream markers settled (one per sender)."""
        self.arrived = notify if notify is not None else asyncio.Event()
        self.claims = claims or Reassembler(verifier, DEFAULT_PARTS, "", self.arrived)
        self._tags: list[tuple[AbstractQueue, str]] = []
        self.held: Delivery | None = None
        """The message whose last frame, of several items, was handed out last: it is
        acknowledged when the next frame is asked for (see the module)."""
        self.last: Delivery | None = None
        """The message of the frame handed out last."""
        self._finished: deque[Delivery] = deque()
        self._ack_task: asyncio.Task[None] | None = None

    @property
    def consuming(self) -> bool:
        """True while subscribed."""
        return bool(self._tags)

    @property
    def queues(self) -> list[AbstractQueue]:
        """The queues consumed: `queue`, and the returns queue if any."""
        return [self.queue] if self.returns is None else [self.queue, self.returns]

    def pending_items(self) -> int:
        """Items of the frames in the FIFO not yet handed out."""
        return sum(sum(d.items[d.index :]) for d in self.fifo if d.frames is not None)

    async def start(self) -> None:
        """Sets the prefetch window (of each consumer) and subscribes (`basic.consume`)."""
        await self.channel.set_qos(prefetch_count=self.prefetch)
        for queue in self.queues:
            self._tags.append((queue, await queue.consume(self._on_message)))

    async def cancel(self) -> None:
        """Unsubscribes; deliveries that were already on their way land in the FIFO."""
        tags, self._tags = self._tags, []
        for queue, tag in tags:
            with contextlib.suppress(Exception):
                await queue.cancel(tag)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        if message.type == EOS:
            if self._known_marker(message):
                await self._drop_duplicate(message, 0)
                return
            delivery = Delivery(message, None)
        elif message.type == CLAIM:  # verified now, its parts read in turn
            delivery = self.claims.admit(message, self.handed.handed(message.message_id or ""))
        else:
            again = self._again(message)
            frames, items, bad = self._verify(message.body, again)
            if (
                again
                and frames
                and not bad
                and self.handed.handed(message.message_id or "") >= len(frames)
            ):
                await self._drop_duplicate(message, len(frames))
                return
            delivery = Delivery(message, frames, items, bad=bad)
        if delivery.frames == [] and not delivery.pending:
            self.finish(delivery)  # nothing verified: dead-letter it now
            return
        self.fifo.append(delivery)
        self.arrived.set()

    async def _drop_duplicate(self, message: AbstractIncomingMessage, frames: int) -> None:
        """Acknowledges, on arrival, a copy of what this consumer has (see the module).

        Args:
            message: The copy.
            frames: Its frames, counted as skipped duplicates (0 for a marker).
        """
        self.duplicates += frames
        with contextlib.suppress(Exception):
            await message.ack()

    def _known_marker(self, message: AbstractIncomingMessage) -> bool:
        """True for a verified copy of an end-of-stream marker this consumer has already.

        That is, one it settled, or one waiting in its FIFO on a live channel (a copy on a
        dead channel is dropped there: this one replaces it). A publisher's retries leave
        such copies; a forged marker is never one (it does not verify).
        """
        message_id = message.message_id or ""
        known = message_id in self.markers or any(
            d.is_eos and d.message_id == message_id and not d.stale() for d in self.fifo
        )
        return known and marker_valid(self.verifier.codec, message.body, message.app_id or "")

    def _again(self, message: AbstractIncomingMessage) -> bool:
        """True for a copy of a message sent before: redelivered, or a new retry's."""
        if message.redelivered:
            return True
        headers = message.headers
        if not headers or RETRY_HEADER not in headers:
            return False
        message_id = message.message_id or ""
        attempt = retry_attempt(self.verifier.codec, message.body, message_id, headers)
        return attempt is not None and self.handed.retries.take(message_id, attempt)

    def _verify(self, body: bytes, redelivered: bool) -> tuple[list[Payload], list[int], bool]:
        """The verified payloads of a message body, their item counts, whether any failed.

        A copy of a message sent before (`redelivered`: see `_again`) passes the replay
        check: what of it this process already handed out is skipped by `HandedLog` instead.
        """
        try:
            frames = unpack_frames(body)
        except FramingError as exc:
            self.verifier.drop(exc)
            return [], [], True
        if not frames:
            self.verifier.drop("a message without frames")
            return [], [], True
        accept = self.verifier.accept_items
        payloads: list[Payload] = []
        items: list[int] = []
        for frame in frames:
            accepted = accept(frame, redelivered)
            if accepted is not None:
                payloads.append(accepted[0])
                items.append(accepted[1])
        return payloads, items, len(payloads) != len(frames)

    def next_frame(self) -> Payload | Delivery | None:
        """Takes the next verified payload without waiting; first acknowledges `held`.

        Returns:
            The payload; the `Delivery` of an end-of-stream marker at the head (the caller
            settles it with `finish()`); None when the FIFO is empty.
        """
        self.release()
        fifo = self.fifo
        while fifo:
            head = fifo[0]
            if head.stale():
                fifo.popleft()  # the broker redelivers it on the recovered channel
                continue
            frames = head.frames
            if frames is None:
                return head
            if head.pending:
                return None  # its parts are being read (`reassembly`)
            handed = self.handed.handed(head.message_id)
            while head.index < len(frames) and head.index < handed:
                head.index += 1  # a redelivered copy: skip what was already handed out
                self.duplicates += 1
            if head.index >= len(frames):
                self.finish(head)
                continue
            frame = frames[head.index]
            head.index += 1
            self.handed.record(head.message_id, head.index)
            self.last = head
            if head.index >= len(frames):
                if head.items[-1] > 1:
                    fifo.popleft()  # the channel keeps some of its items: ack it later
                    self.held = head
                else:
                    self.finish(head)
            return frame
        return None

    def release(self) -> None:
        """Finishes the `held` message, if any: the channel returned all of its items."""
        held, self.held = self.held, None
        if held is not None:
            self.finish(held)

    def take_back_last(self) -> Delivery | None:
        """Makes the frame handed out last count as not handed out (see the module).

        For a receiver that closes and could not give back the items of that frame the
        channel had not returned: a copy of its message, which the broker redelivers once
        it is requeued, hands the frame out again, here or in another process.

        Returns:
            The `held` message, no longer held: the caller requeues it (`nack`), or leaves
            it to the closing of its AMQP channel. None when that frame's message is still
            in the FIFO, unacknowledged: the broker takes it back when the channel closes.
        """
        last, self.last = self.last, None
        if last is None or last.done:
            return None  # acknowledged: the channel had returned every item of it
        self.handed.record(last.message_id, last.index - 1)
        if last is self.held:
            self.held = None
            return last
        return None

    async def requeue(self, delivery: Delivery) -> None:
        """Gives a message back to the broker (`nack`), the parts taken for its claim first."""
        if delivery.stale():
            return
        with contextlib.suppress(Exception):
            for tag in delivery.part_tags:
                await delivery.amqp_channel.basic_reject(tag, requeue=True)
            await delivery.message.nack(requeue=True)

    def finish(self, delivery: Delivery) -> None:
        """Removes a fully handled delivery from the FIFO and queues its ack (or reject)."""
        if self.fifo and self.fifo[0] is delivery:
            self.fifo.popleft()
        delivery.done = True
        if delivery.frames is None and not delivery.bad:
            self.markers.add(delivery.message_id)  # settled: a later copy is a duplicate
        self._finished.append(delivery)
        if self._ack_task is None or self._ack_task.done():
            self._ack_task = asyncio.get_running_loop().create_task(self._settle())

    async def flush_acks(self) -> None:
        """Sends every pending ack and reject now, the `held` message's included."""
        self.release()
        if self._ack_task is not None:
            with contextlib.suppress(Exception):
                await self._ack_task
        await self._settle()

    async def _settle(self) -> None:
        """Acks finished deliveries in order, batched; rejects bad ones individually.

        A bad delivery is settled before any later good one: an ack with `multiple=True`
        would otherwise acknowledge it too.
        """
        finished = self._finished
        while finished:
            last_good: Delivery | None = None
            while finished and not finished[0].bad:
                delivery = finished.popleft()
                if delivery.stale():
                    continue
                await _delete_parts(delivery)  # before its claim is acknowledged
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
                    await _delete_parts(bad)
                    with contextlib.suppress(Exception):
                        await bad.message.reject(requeue=False)


async def _delete_parts(delivery: Delivery) -> None:
    """Deletes the queue of parts read for a claim, if any (they were handed out or junk)."""
    if delivery.part_queue is not None:
        with contextlib.suppress(Exception):
            await delivery.amqp_channel.queue_delete(delivery.part_queue)


async def _ack(delivery: Delivery) -> None:
    with contextlib.suppress(Exception):
        await delivery.message.ack(multiple=True)
