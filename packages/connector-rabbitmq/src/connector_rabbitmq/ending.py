"""How a receiver sees the end of its connection (the close protocol of `channel`).

Pubsub: a receiver is done when, for every sender of the ended connection, it saw that
sender's end-of-stream marker in its own queue (or the sender had closed before it joined).
Pipeline: senders publish no marker. A sender appends `close` only once the broker confirmed
everything it sent, so once the connection has ended (every sender closed) all their
messages are in the shared queue, handed to a receiver, or on their way to one. Then a
receiver that has handed out what it holds and finds no message ready in the queue cancels
its consumer: the broker's `cancel-ok` comes behind every delivery it sent this consumer, so
afterwards nothing is on its way to it. It hands out what landed meanwhile and ends once the
queue is still empty (re-consuming if a crashed or closing peer returned messages to it).
"The queue" is both the work queue and the returns queue, where closing receivers give
back the items they took and did not return (`connector_rabbitmq.receiver`).
While messages are ready it keeps consuming (they go to it or to a competing receiver, and
it looks again every `_REFILL_WAIT` seconds). While the connection is quiescent but not yet
ended, a receiver counts down the grace period and then appends `end`.
"""

from __future__ import annotations

import asyncio
from typing import Final

from connector_core.spec import ConnectorMode
from connector_core.transport import Verifier
from connector_rabbitmq.consumer import Consumer, Delivery
from connector_rabbitmq.control import END, JOIN
from connector_rabbitmq.membership import Membership
from connector_rabbitmq.messages import marker_valid

__all__ = ["EndWatch"]

_LET_DELIVERIES_LAND: Final = 3
"""Loop iterations that let deliveries already read from the socket reach the FIFO."""
_REFILL_WAIT: Final = 0.2
"""Seconds a finishing pipeline receiver waits for a delivery before looking at the queue."""


class EndWatch:
    """One receiver's progress towards the end of its connection."""

    def __init__(self, membership: Membership | None, verifier: Verifier) -> None:
        """Creates the watch.

        Args:
            membership: The receiver's connection (None for a receiver made directly from
                a queue: only its own close ends it).
            verifier: The receiver's verifier: its codec checks end-of-stream markers and
                it counts the ones dropped.
        """
        self.verifier = verifier
        self.membership = membership
        self.eos_seen: set[str] = set()
        """Senders whose end-of-stream marker this receiver took."""
        self.grace_key = -1
        self.grace_deadline = 0.0
        self.wait_limit: float | None = None
        """Seconds the receiver may wait before checking again (counting down the grace, or
        looking at the queue again while a finishing pipeline receiver waits for messages)."""

    async def settle_marker(self, consumer: Consumer, marker: Delivery) -> None:
        """Takes the end-of-stream marker at the head of the FIFO.

        A marker that does not verify for its sender (forged by someone with broker
        credentials) is dead-lettered and counted, and changes nothing.
        """
        if marker.done:
            return
        if not marker_valid(self.verifier.codec, marker.message.body, marker.sender):
            self.verifier.drop(f"an end-of-stream marker of {marker.sender!r} does not verify")
            marker.bad = True
            consumer.finish(marker)
            return
        self.eos_seen.add(marker.sender)
        consumer.finish(marker)

    async def connection_over(self, consumer: Consumer) -> bool:
        """True once this receiver has everything of the ended connection (see the module)."""
        membership = self.membership
        if membership is None:
            return False
        state = membership.log.state
        me = membership.party
        if f"{JOIN}:{me}" not in state.seen:
            return False
        if state.end_senders is None:
            if state.life.end_pending:  # every sender closed: the grace period runs
                await self._count_down_grace(membership)
            return False
        if membership.mode is ConnectorMode.PUBSUB:
            before = state.closed_at_join.get(me, frozenset())
            done = all(s in before or s in self.eos_seen for s in state.end_senders)
            return done and not consumer.fifo
        if consumer.fifo:
            return False
        # Every sender closed, so all their messages are in the queue or dispatched. While
        # some wait in the queue, keep consuming; then stop, let what is already on its way
        # land, hand it out, and end only if the queue is still empty (a closing or crashed
        # peer may have returned messages to it).
        if consumer.consuming:
            if await self._ready_messages(consumer) > 0:
                self.wait_limit = _REFILL_WAIT  # they may go to a competing receiver
                return False
            await consumer.cancel()
            for _ in range(_LET_DELIVERIES_LAND):
                await asyncio.sleep(0)
        if consumer.fifo:
            return False
        if await self._ready_messages(consumer) == 0:
            return True
        await consumer.start()  # a closing or crashed peer returned messages: take them too
        self.wait_limit = _REFILL_WAIT
        return False

    async def _count_down_grace(self, membership: Membership) -> None:
        """Ends the connection once it has stayed quiescent for the grace period."""
        state = membership.log.state
        now = asyncio.get_running_loop().time()
        if self.grace_key != state.offset:
            self.grace_key = state.offset
            self.grace_deadline = now + membership.end_grace
        if now >= self.grace_deadline:
            await membership.log.append(END, f"{membership.party}@{state.offset}")
        else:
            self.wait_limit = self.grace_deadline - now

    async def _ready_messages(self, consumer: Consumer) -> int:
        """Messages ready in the queues the receiver consumes (pipeline: work and returns)."""
        channel = await consumer.channel.get_underlay_channel()
        ready = 0
        for queue in consumer.queues:
            result = await channel.queue_declare(queue.name, passive=True)
            ready += int(result.message_count or 0)
        return ready
