"""`Reassembler`: a receiver's claims, read one after another into verified payloads.

The receiving half of `connector_rabbitmq.parts` (which says why and how items cross in
parts). The consumer hands every claim that arrives to `admit()`, which verifies it before
anything else: a claim that does not verify is dropped and counted (the consumer
dead-letters it) and nothing it names is read. A verified claim becomes a *pending*
`Delivery`, in its place in the consumer's FIFO, and waits for this reassembler's task,
which reads the claims in the order they came, one at a time (so one frame at most is
being put together):

- pubsub: a receiver that is not among the claim's subscribers joined after the item was
  sent; the claim is acknowledged and nothing is read;
- a claim of more than `max_item_size` bytes is dropped and counted, unread;
- the part queue is declared on the AMQP channel the claim came on (with the arguments the
  sender gave it: a missing queue is then created, empty, where a passive declare would
  close the channel); a claim delivered again whose queue is empty was handed out by a
  receiver that died before acknowledging it: it is acknowledged;
- each part is taken with `basic.get`, unacknowledged, so the broker gives it back with
  the claim if this receiver dies, and checked as it comes: a message that is not one of
  the claim's parts (its id) or not of its part's size is junk: the claim is dropped and
  counted. A part that comes twice (published again after a lost confirm) is read once;
  more than twice the frame's bytes read is junk too. Missing parts (expired, or removed
  by someone) lose the item: logged, dead-lettered;
- the parts, in index order, make the frame, which the `Verifier` checks before anything
  else is done with it; a frame of junk is dropped and counted.

The part queue of a claim is deleted by the consumer right before it settles the claim
(`Consumer._settle`), after its items were handed out.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

import aiormq
from aio_pika.abc import AbstractIncomingMessage

from connector_core.codec import MessageRejectedError
from connector_core.transport import Verifier
from connector_rabbitmq.delivery import Delivery
from connector_rabbitmq.messages import Claim, open_claim
from connector_rabbitmq.parts import PartSettings

__all__ = ["Reassembler"]

_log = logging.getLogger(__name__)


class _Junk(Exception):
    """A part queue holds a message that cannot be a part of its claim."""


class _Missing(Exception):
    """A part queue ran out before every part of its claim was read."""


class Reassembler:
    """Reads the parts of a receiver's claims, in turn, into verified payloads."""

    def __init__(
        self, verifier: Verifier, settings: PartSettings, party: str, notify: asyncio.Event
    ) -> None:
        """Creates the reassembler; its task starts with the first claim.

        Args:
            verifier: The receiver's verifier: checks claims and frames, counts the drops.
            settings: The item limit and the part queues' arguments.
            party: The receiver's id (pubsub: names its own queue of parts).
            notify: Set whenever a claim has been read (or failed).
        """
        self.verifier = verifier
        self.settings = settings
        self.party = party
        self.notify = notify
        self._waiting: deque[Delivery] = deque()
        self._task: asyncio.Task[None] | None = None
        self._stopped = False

    def admit(self, message: AbstractIncomingMessage, handed: int) -> Delivery:
        """The `Delivery` of a claim that arrived; reading its parts starts in turn.

        Args:
            message: The claim message.
            handed: Frames of its message id this process handed out already (a copy
                of a claim handed out before is not read again).

        Returns:
            The delivery: `bad` (dropped, counted: dead-letter it now) if the claim does
            not verify, else `pending` until its parts are read.
        """
        try:
            claim = open_claim(
                self.verifier.codec, message.body, message.message_id, message.app_id
            )
        except MessageRejectedError as exc:
            self.verifier.drop(f"a claim of a large item: {exc}")
            return Delivery(message, [], bad=True)
        delivery = Delivery(message, [], claim=claim)
        if handed:  # a redelivered copy: the consumer skips its frame as a duplicate
            delivery.frames, delivery.items = [b""], [1]
            delivery.part_queue = claim.queue_for(self.party)
            return delivery
        delivery.pending = True
        if self._stopped:
            return delivery  # its receiver is closing: the broker gives it back
        self._waiting.append(delivery)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        return delivery

    async def stop(self) -> None:
        """Stops reading (a claim being read stays pending; the broker gives it back)."""
        self._stopped = True
        task, self._task = self._task, None
        self._waiting.clear()
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        waiting = self._waiting
        while waiting:
            delivery = waiting.popleft()
            try:
                await self._read(delivery)
            except (Exception, asyncio.CancelledError) as exc:
                task = asyncio.current_task()
                if isinstance(exc, asyncio.CancelledError) and task and task.cancelling():
                    raise  # stop(): the claim stays pending, its channel gives it back
                # else the AMQP channel died (aiormq cancels what waits on it) and the broker
                # gives the claim back, or it cannot be read at all: dead-lettered
                if not delivery.stale():
                    _log.warning(
                        "could not read the parts of claim %s: %r", delivery.message_id, exc
                    )
                    delivery.bad = True
            delivery.pending = False
            self.notify.set()
        self._task = None

    async def _read(self, delivery: Delivery) -> None:
        """Reads the parts of `delivery`'s claim; sets its payload, or marks it bad."""
        claim = delivery.claim
        assert claim is not None
        queue = claim.queue_for(self.party)
        if queue is None:
            return  # pubsub: joined after the item was sent; acknowledged, nothing read
        if claim.size > self.settings.max_item_size:
            self.verifier.drop(
                f"a claim of {claim.size} bytes, more than max_item_size "
                f"({self.settings.max_item_size} bytes, CONNECTOR_RABBITMQ_MAX_ITEM_SIZE)"
            )
            delivery.bad = True
            return
        channel = delivery.amqp_channel
        if delivery.stale():
            return
        declared = await channel.queue_declare(
            queue, durable=True, arguments=self.settings.arguments
        )
        delivery.part_queue = queue
        redelivered = bool(delivery.message.redelivered)
        if redelivered and not declared.message_count:
            _log.debug("claim %s was handed out before: its parts are gone", claim.claim_id)
            return
        try:
            parts = await self._take(channel, queue, claim, delivery.part_tags)
        except _Junk as exc:
            self.verifier.drop(f"the parts of a large item: {exc}")
            delivery.bad = True
            return
        except _Missing as exc:
            _log.warning(
                "lost a large item: %s (its parts expire after part_expires, "
                "CONNECTOR_RABBITMQ_PART_EXPIRES); its claim goes to the dead letters",
                exc,
            )
            delivery.bad = True
            return
        accepted = self.verifier.accept_items(b"".join(parts), redelivered)
        if accepted is None:
            delivery.bad = True  # dropped and counted by the verifier
            return
        delivery.frames, delivery.items = [accepted[0]], [accepted[1]]

    async def _take(
        self, channel: aiormq.abc.AbstractChannel, queue: str, claim: Claim, tags: list[int]
    ) -> list[bytes]:
        """Takes the parts of `claim` from `queue`, unacknowledged; returns them in order.

        Raises:
            _Junk: If a message cannot be a part of the claim.
            _Missing: If the queue runs out first.
        """
        slots: list[bytes | None] = [None] * claim.parts
        missing, read, prefix = claim.parts, 0, f"{claim.claim_id}."
        while missing:
            got = await channel.basic_get(queue, no_ack=False)
            taken = got.delivery
            if not isinstance(taken, aiormq.spec.Basic.GetOk):
                raise _Missing(
                    f"{missing} of the {claim.parts} parts of claim {claim.claim_id} are not "
                    f"in {queue}"
                )
            if taken.delivery_tag is not None:
                tags.append(taken.delivery_tag)
            body = got.body
            read += len(body)
            index = _index(got.header.properties.message_id, prefix, claim.parts)
            if index is None or len(body) != claim.part_bytes(index):
                raise _Junk(f"{queue} holds a message that is not a part of claim {claim.claim_id}")
            if read > 2 * claim.size:
                raise _Junk(f"{queue} holds more than twice the {claim.size} bytes claimed")
            if slots[index] is None:
                slots[index] = body
                missing -= 1
        return [part for part in slots if part is not None]


def _index(message_id: str | None, prefix: str, parts: int) -> int | None:
    """The part index a message id `<claim id>.<index>` names, or None."""
    if message_id is None or not message_id.startswith(prefix):
        return None
    digits = message_id[len(prefix) :]
    if not digits.isdigit() or len(digits) > 9:
        return None
    index = int(digits)
    return index if index < parts else None
