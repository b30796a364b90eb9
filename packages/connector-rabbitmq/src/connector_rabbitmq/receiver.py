"""`RabbitMQReceiver`: the receive transport of a `RabbitMQChannel` (core's `RecvTransport`).

Its `Consumer` (`connector_rabbitmq.consumer`) verifies every frame as it arrives and keeps
only verified payloads; `try_recv()` hands out the next one without waiting, `recv()` waits
for one; `buffered()` counts the items of the payloads it holds (a frame sealed by
`send_many()` carries several; the message of such a frame is acknowledged once the channel
returned its items: `returned()`). While its FIFO is empty, `recv()` settles end-of-stream
markers and asks `connector_rabbitmq.ending` whether the connection is over; then it raises
`ChannelClosedError`, and core's channel closes the receiver.

Close (`close()`, or core's channel at the end of the connection): stop consuming and
reading parts (a claim half read goes back to the broker with its parts when the AMQP
channel closes: `connector_rabbitmq.reassembly`), give back the items the channel took and
did not return (below), acknowledge what was handed
out, delete the subscriber's queue (pubsub), append `leave` to the control log and clean up
if last (`membership.last_one_out`). Closing the AMQP channels afterwards returns what was
not handed out to the broker, for the other receivers. A receiver of an unreachable broker
leaves without telling it, within the unreachable timeout. A receiver made directly from a
queue (no membership) subscribes on its first `recv()` and ends only when it is closed.

Giving back: a channel that closes while it holds items of a frame it took (the rest of a
`send_many()` batch) seals them as a frame of its own (a sender id of its own, signed like
any frame, verified as usual where it arrives) and passes it to `give_back()` before
`close()`. In a pipeline `close()` publishes that frame to the connection's returns queue
(`<prefix>.returns`, which every pipeline receiver consumes beside the work queue and which
has no length limit, so a give-back never waits for room a sender's batch needs) as a new
message, in a sender's format (`messages.batch_message`, from the receiver's id), waits for
the broker's confirm, and only then acknowledges the message the items came from, which the
consumer held unacknowledged until then (`connector_rabbitmq.consumer`). A receiver made
directly from a queue gives back to that queue. Nothing is lost, but delivery of those
items is at least once: a receiver that dies between the confirm and the acknowledgement
leaves both the given-back frame and its original message to the others, and the items of
it that the channel had returned come again. When the frame cannot be published within
half the receiver's timeout (`GIVE_BACK_WAIT` for one made directly: its queue stays full,
the broker is gone), the message it came from is requeued instead
(`Consumer.take_back_last`), with the same effect. A pubsub receiver drops the frame: its
queue is deleted as it leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from functools import partial
from typing import Any, Final, cast

from aio_pika.abc import AbstractQueue

from connector_core.exceptions import ChannelClosedError
from connector_core.payload import Payload
from connector_core.spec import ConnectorMode
from connector_core.transport import Verifier
from connector_rabbitmq.consumer import Consumer
from connector_rabbitmq.control import LEAVE
from connector_rabbitmq.delivery import Delivery
from connector_rabbitmq.ending import EndWatch
from connector_rabbitmq.membership import Membership, last_one_out
from connector_rabbitmq.messages import batch_message
from connector_rabbitmq.parts import DEFAULT_PARTS, PartSettings
from connector_rabbitmq.publisher import Publisher
from connector_rabbitmq.reassembly import Reassembler
from connector_rabbitmq.recovery import BrokerUnreachableError, ShieldedSteps

__all__ = ["GIVE_BACK_WAIT", "RabbitMQReceiver"]

_log = logging.getLogger(__name__)

GIVE_BACK_WAIT: Final = 10.0
"""Seconds a closing receiver without a timeout tries to give items back (see the module)."""


class RabbitMQReceiver:
    """Hands out one receiver's verified payloads until its connection ends."""

    def __init__(
        self,
        queue: AbstractQueue,
        prefetch: int,
        verifier: Verifier,
        membership: Membership | None = None,
        timeout: float | None = None,
        parts: PartSettings = DEFAULT_PARTS,
        returns: AbstractQueue | None = None,
    ) -> None:
        """Creates a receiver of `queue` (consumed on the AMQP channel it was declared on).

        Args:
            queue: The queue to consume; `start()` subscribes.
            prefetch: Unacknowledged messages the broker may push.
            verifier: Checks every frame on arrival and counts the ones it drops.
            membership: Optional; ties the receiver to its connection (None for one made
                directly from a queue).
            timeout: Optional; seconds leaving may take (None: no limit).
            parts: Optional; the largest item it reassembles from parts, and the arguments
                of part queues (`connector_rabbitmq.parts`).
            returns: Optional; a pipeline's returns queue, consumed too and where `close()`
                gives items back (None: they go back to `queue`).
        """
        self.wakeup = asyncio.Event()
        self.party = membership.party if membership is not None else f"r-{uuid.uuid4().hex[:12]}"
        """The receiver's id: the sender id of the messages it gives back."""
        claims = Reassembler(verifier, parts, self.party, self.wakeup)
        channel = cast(Any, queue).channel
        self.consumer = Consumer(channel, queue, prefetch, verifier, self.wakeup, claims, returns)
        self.verifier = verifier
        self.membership = membership
        self.timeout = timeout
        self.end = EndWatch(membership, verifier)
        self.started = False
        self.ended = False
        self.closed = False
        self._steps = ShieldedSteps()
        self.given_back: deque[tuple[bytes, int]] = deque()
        """Frames (and their item counts) the channel gave back, not yet in the queue."""
        self._given = 0
        if membership is not None:
            membership.log.on_change(self.wakeup.set)

    @property
    def duplicates(self) -> int:
        """Frames skipped as already handed out (redelivered copies)."""
        return self.consumer.duplicates

    async def start(self) -> None:
        """Subscribes to the queue (once)."""
        if not self.started:
            self.started = True
            await self.consumer.start()

    def returned(self) -> None:
        """Acknowledges the held message: the channel returned its items (core's `HoldsTaken`).

        Waiting for the next `try_recv()` would keep its place in the prefetch window, where
        a receiver that has every item and waits would leave no room for what comes next:
        copies it drops on arrival, the end-of-stream markers it waits for.
        """
        self.consumer.release()

    def try_recv(self) -> Payload | None:
        """The next verified payload if one is here now, else None."""
        if self.closed or self.ended:
            return None
        got = self.consumer.next_frame()
        return None if got is None or isinstance(got, Delivery) else got

    async def recv(self) -> Payload:
        """Waits for the next verified payload.

        Raises:
            ChannelClosedError: When the connection has ended and everything was delivered,
                or the receiver was closed.
        """
        if not self.started and not self.closed:
            await self.start()  # a receiver made directly: subscribe on first use
        consumer = self.consumer
        while True:
            if self.closed:
                raise ChannelClosedError("RabbitMQChannel is closed: cannot receive")
            if self.ended:
                raise ChannelClosedError("every sender has closed and all was delivered")
            self.wakeup.clear()
            got = consumer.next_frame()
            if isinstance(got, Delivery):
                await self._steps.run("marker", partial(self.end.settle_marker, consumer, got))
                continue
            if got is not None:
                return got
            if await self._steps.run("over", partial(self.end.connection_over, consumer)):
                self.ended = True
                continue
            if consumer.fifo and not consumer.fifo[0].pending:
                continue  # arrived meanwhile; a claim being read wakes this up when done
            limit, self.end.wait_limit = self.end.wait_limit, None
            if limit is None:
                await self.wakeup.wait()
            else:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(limit):
                        await self.wakeup.wait()

    def give_back(self, frame: bytes, items: int) -> None:
        """Keeps items the channel took and did not return, for `close()` (see the module).

        Pubsub: drops them.

        Args:
            frame: The items, sealed by the channel as a sender of its own.
            items: How many items it carries.
        """
        membership = self.membership
        if membership is not None and membership.mode is ConnectorMode.PUBSUB:
            return
        self.given_back.append((frame, items))

    async def close(self) -> None:
        """Leaves the connection (see the module); best effort, within `timeout`."""
        self.closed = True
        self.wakeup.set()
        consumer, membership = self.consumer, self.membership
        try:
            async with asyncio.timeout(self.timeout):
                await consumer.cancel()
                await consumer.claims.stop()  # a claim being read goes back with its channel
                await self._hand_on()
                await consumer.flush_acks()
                if membership is not None:
                    if membership.mode is ConnectorMode.PUBSUB:
                        with contextlib.suppress(Exception):
                            await consumer.queue.delete(if_unused=False, if_empty=False)
                    await membership.log.append(LEAVE, membership.party)
                    await last_one_out(membership, LEAVE, self.timeout)
        except (TimeoutError, BrokerUnreachableError) as exc:
            _log.warning("a receiver left without telling the broker: %s", exc)
        except Exception as exc:  # leaving is best effort; purge() removes leftovers
            _log.warning("a receiver could not leave cleanly: %r", exc)
        finally:
            if self.given_back:  # cut short while giving back: requeued with its channel
                self.given_back.clear()
                consumer.take_back_last()
            if membership is not None:
                await membership.close()

    async def _hand_on(self) -> None:
        """Publishes the given-back frames to the returns queue, confirmed (see the module).

        Once every one is confirmed the held message may be acknowledged. If one cannot be
        published in time, the message of the frame handed out last is requeued instead.
        """
        given = self.given_back
        if not given:
            return
        consumer = self.consumer
        channel = consumer.channel
        wait = GIVE_BACK_WAIT if self.timeout is None else self.timeout / 2
        target = consumer.queue if consumer.returns is None else consumer.returns
        publisher = Publisher(
            channel,
            channel.default_exchange,
            target.name,
            sender_id=self.party,
            batch_items=1,
            buffer_limit=None,
            unreachable_timeout=wait,
        )
        try:
            async with asyncio.timeout(wait):
                while given:
                    frame, _ = given[0]
                    message_id = f"{self.party}.{self._given}"
                    await publisher.publish(batch_message([frame], message_id, self.party))
                    self._given += 1
                    given.popleft()
        except Exception as exc:  # TimeoutError included: no room in the queue in time
            items = sum(count for _, count in given)
            given.clear()
            _log.warning(
                "a closing receiver could not give %d item(s) back to the queue (%r): the "
                "message they came from goes back instead, and items of it may come twice",
                items,
                exc,
            )
            held = consumer.take_back_last()
            if held is not None:
                await consumer.requeue(held)

    def buffered(self) -> int:
        """Items of the verified payloads held and not yet handed out."""
        return self.consumer.pending_items()

    def peer_counts(self) -> tuple[int, int]:
        """Open (senders, receivers) per the control log; (0, 1) for one made directly."""
        if self.membership is None:
            return (0, 1)
        return self.membership.peer_counts()
