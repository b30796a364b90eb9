"""What ties a channel to its connection: its control log, its AMQP channels, the cleanup.

Every sender and receiver that a `RabbitMQConnector` makes has a `Membership`: its id in the
control log, the AMQP channels it owns and the loop's broker connection it holds.

A sender's close (`close_sender()`) flushes and waits for every confirm, appends `close` to
the log and then publishes its end-of-stream marker behind its data. A receiver's close
(`leave()`) acknowledges what it handed out and closes its AMQP channel: the broker
requeues the rest for the others. A receiver that has seen the end of the connection does
the same by itself, without waiting for `close()`. Then `last_one_out()` lets the last
party (per the log: the connection ended, every sender closed, every receiver left) end
the connection if nobody else can and delete its queues, exchanges and log, unless a
pipeline queue still holds messages for a later receiver; `Membership.close()` closes the
AMQP channels and hands the connection back (`connector_rabbitmq.connection.release`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from aio_pika.abc import AbstractRobustChannel, AbstractRobustConnection

from connector_core.spec import ConnectorMode
from connector_rabbitmq.cleanup import delete_connection
from connector_rabbitmq.connection import CLOSE_TIMEOUT, release
from connector_rabbitmq.consumer import Consumer
from connector_rabbitmq.control import CLOSE, END, LEAVE, ControlLog, ControlLogGoneError
from connector_rabbitmq.publisher import (
    MessageTooLargeError,
    Publisher,
    publish_error,
    refused_error,
)
from connector_rabbitmq.recovery import BrokerUnreachableError
from connector_rabbitmq.topology import Names

__all__ = ["Membership", "close_sender", "last_one_out", "leave"]

_log = logging.getLogger(__name__)


@dataclass(eq=False)
class Membership:
    """What ties a channel to its connection: the control log and where to clean up."""

    connection: AbstractRobustConnection
    names: Names
    mode: ConnectorMode
    party: str
    """This channel's id in the log (`s-...` for senders, `r-...` for receivers)."""
    log: ControlLog
    end_grace: float
    """Seconds the connection must stay quiescent before a receiver ends it."""
    channels: list[AbstractRobustChannel] = field(default_factory=list)
    """AMQP channels this channel owns (closed on close)."""
    released: bool = False

    async def close(self) -> None:
        """Closes the AMQP channels and hands the broker connection back (once)."""
        if self.released:
            return
        self.released = True
        for channel in self.channels:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await channel.close()
        await release(self.connection)


async def last_one_out(membership: Membership, kind: str, timeout: float | None) -> None:
    """Ends and deletes the connection if this closing party is the last one to do it.

    Runs after the party's `kind` event. Best effort, within `timeout` seconds: `purge()`
    removes what a failure leaves.

    Args:
        membership: The closing party's membership.
        kind: `close` for a sender, `leave` for a receiver.
        timeout: Seconds at most (None: no limit).
    """
    try:
        async with asyncio.timeout(timeout):
            await _clean_up_if_last(membership, kind)
    except ControlLogGoneError:
        # Another party deleted the connection (log included) while this one read it.
        _log.debug("%s was cleaned up by another party", membership.names.prefix)
    except Exception as exc:  # cleanup is best effort; purge() removes leftovers
        _log.warning("could not clean up %s on the broker: %r", membership.names.prefix, exc)


async def _clean_up_if_last(membership: Membership, kind: str) -> None:
    """Ends a quiescent connection nobody else can end; deletes it if everyone is gone."""
    log = membership.log
    if not log.reading:
        await log.start()
    state = await log.wait_for(kind, membership.party)
    if state.life.end_pending and not state.life.receivers:
        # Nobody is left to count down the grace period: end the connection now.
        marker = f"{membership.party}@close"
        await log.append(END, marker)
        state = await log.wait_for(END, marker)
    await log.stop()
    if state.everyone_gone():
        undrained = (state.opened | state.late) - state.drained
        await delete_connection(
            membership.connection,
            membership.names,
            membership.mode,
            [q for q in state.joined.values() if q != membership.names.work],
            markers=len(undrained),
        )


async def leave(consumer: Consumer, membership: Membership | None, timeout: float | None) -> None:
    """Takes a receiver out: acks what it handed out, leaves the log, cleans up if last.

    What it holds but did not hand out goes back to the broker when its AMQP channel
    closes (the caller closes it afterwards). Bounded by `timeout` seconds: a receiver of
    an unreachable broker leaves without telling it.

    Args:
        consumer: The receiver's consumer.
        membership: Its membership (None for a channel made directly).
        timeout: Seconds at most (None: no limit).
    """
    try:
        async with asyncio.timeout(timeout):
            await consumer.cancel()
            await consumer.flush_acks()
            if membership is not None and membership.mode is ConnectorMode.PUBSUB:
                with contextlib.suppress(Exception):
                    await consumer.queue.delete(if_unused=False, if_empty=False)
            if membership is not None:
                await membership.log.append(LEAVE, membership.party)
                await last_one_out(membership, LEAVE, timeout)
    except (TimeoutError, BrokerUnreachableError) as exc:
        _log.warning("a receiver left without telling the broker: %s", exc)
    finally:
        if membership is not None:
            await membership.close()


async def close_sender(
    publisher: Publisher | None, membership: Membership | None, timeout: float | None
) -> None:
    """Takes a sender out: flushes, announces its close and end marker, cleans up if last.

    Its AMQP channels are closed and the broker connection handed back in every case.

    Args:
        publisher: The sender's publisher (None for a channel that cannot send).
        membership: Its membership (None for a channel made directly).
        timeout: Seconds the last party's cleanup may take (None: no limit).

    Raises:
        ChannelSerializationError: If the broker refused an item as too large.
        ChannelError: If buffered items could not be published.
    """
    error: BaseException | None = None
    refused: MessageTooLargeError | None = None
    try:
        if publisher is not None:
            try:
                await publisher.flush()
                if membership is not None:
                    await membership.log.append(CLOSE, membership.party)
                    await publisher.publish_marker()
            except Exception as exc:
                error = exc
            refused = publisher.take_refused()
            await publisher.stop()
        if membership is not None and not isinstance(error, BrokerUnreachableError):
            await last_one_out(membership, CLOSE, timeout)
    finally:
        if membership is not None:
            await membership.close()
    if error is not None:
        pending = publisher.buffered if publisher is not None else 0
        raise publish_error(error, pending) from error
    if refused is not None:
        raise refused_error(refused)
