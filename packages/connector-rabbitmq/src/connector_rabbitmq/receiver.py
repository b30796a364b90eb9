"""`RabbitMQReceiver`: the receive transport of a `RabbitMQChannel` (core's `RecvTransport`).

Its `Consumer` (`connector_rabbitmq.consumer`) verifies every frame as it arrives and keeps
only verified payloads; `try_recv()` hands out the next one without waiting, `recv()` waits
for one; `buffered()` counts the items of the payloads it holds (a frame sealed by
`send_many()` carries several). While its FIFO is empty, `recv()` settles end-of-stream
markers and asks `connector_rabbitmq.ending` whether the connection is over; then it raises
`ChannelClosedError`, and core's channel closes the receiver.

Close (`close()`, or core's channel at the end of the connection): stop consuming,
acknowledge what was handed out, delete the subscriber's queue (pubsub), append `leave` to
the control log and clean up if last (`membership.last_one_out`). Closing the AMQP channels
afterwards returns what was not handed out to the broker, for the other receivers. A
receiver of an unreachable broker leaves without telling it, within the unreachable
timeout. A receiver made directly from a queue (no membership) subscribes on its first
`recv()` and ends only when it is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from functools import partial
from typing import Any, cast

from aio_pika.abc import AbstractQueue

from connector_core.exceptions import ChannelClosedError
from connector_core.spec import ConnectorMode
from connector_core.transport import Verifier
from connector_rabbitmq.consumer import Consumer
from connector_rabbitmq.control import LEAVE
from connector_rabbitmq.ending import EndWatch
from connector_rabbitmq.membership import Membership, last_one_out
from connector_rabbitmq.recovery import BrokerUnreachableError, ShieldedSteps

__all__ = ["RabbitMQReceiver"]

_log = logging.getLogger(__name__)


class RabbitMQReceiver:
    """Hands out one receiver's verified payloads until its connection ends."""

    def __init__(
        self,
        queue: AbstractQueue,
        prefetch: int,
        verifier: Verifier,
        membership: Membership | None = None,
        timeout: float | None = None,
    ) -> None:
        """Creates a receiver of `queue` (consumed on the AMQP channel it was declared on).

        Args:
            queue: The queue to consume; `start()` subscribes.
            prefetch: Unacknowledged messages the broker may push.
            verifier: Checks every frame on arrival and counts the ones it drops.
            membership: Optional; ties the receiver to its connection (None for one made
                directly from a queue).
            timeout: Optional; seconds leaving may take (None: no limit).
        """
        self.wakeup = asyncio.Event()
        self.consumer = Consumer(cast(Any, queue).channel, queue, prefetch, verifier, self.wakeup)
        self.verifier = verifier
        self.membership = membership
        self.timeout = timeout
        self.end = EndWatch(self.wakeup, membership, verifier)
        self.started = False
        self.ended = False
        self.closed = False
        self._steps = ShieldedSteps()
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

    def try_recv(self) -> bytes | None:
        """The next verified payload if one is here now, else None."""
        if self.closed or self.ended:
            return None
        got = self.consumer.next_frame()
        return got if isinstance(got, bytes) else None

    async def recv(self) -> bytes:
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
            if isinstance(got, bytes):
                return got
            if got is not None:
                await self._steps.run("marker", partial(self.end.settle_marker, consumer, got))
                continue
            if await self._steps.run("over", partial(self.end.connection_over, consumer)):
                self.ended = True
                continue
            if consumer.fifo:
                continue
            limit, self.end.wait_limit = self.end.wait_limit, None
            if limit is None:
                await self.wakeup.wait()
            else:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(limit):
                        await self.wakeup.wait()

    async def close(self) -> None:
        """Leaves the connection (see the module); best effort, within `timeout`."""
        self.closed = True
        self.wakeup.set()
        consumer, membership = self.consumer, self.membership
        try:
            async with asyncio.timeout(self.timeout):
                await consumer.cancel()
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
            if membership is not None:
                await membership.close()

    def buffered(self) -> int:
        """Items of the verified payloads held and not yet handed out."""
        return self.consumer.pending_items()

    def peer_counts(self) -> tuple[int, int]:
        """Open (senders, receivers) per the control log; (0, 1) for one made directly."""
        if self.membership is None:
            return (0, 1)
        return self.membership.peer_counts()
