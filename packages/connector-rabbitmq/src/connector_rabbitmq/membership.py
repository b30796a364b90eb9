"""What ties a transport to its connection: its control log, its AMQP channels, the cleanup.

Every sender and receiver that a `RabbitMQConnector` makes has a `Membership`: its id in the
control log, the AMQP channels it owns and the loop's broker connection it holds. How each
one closes is in `connector_rabbitmq.sender` and `connector_rabbitmq.receiver`. After its
`close` or `leave` event, `last_one_out()` lets the last party (per the log: the connection
ended, every sender closed, every receiver left) end the connection if nobody else can and
delete its queues, exchanges and log, unless a pipeline queue still holds messages for a
later receiver; `Membership.close()` closes the AMQP channels and hands the connection back
(`connector_rabbitmq.connection.release`).
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
from connector_rabbitmq.control import END, SYNC, ControlLog, ControlLogGoneError
from connector_rabbitmq.recovery import BrokerUnreachableError
from connector_rabbitmq.topology import Names

__all__ = ["Membership", "last_one_out"]

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
    syncs: int = 0
    """`sync` entries this party appended (`subscribers()`)."""

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

    async def subscribers(self) -> list[str]:
        """The receivers that have joined and not left, per the log read up to now.

        Appends a `sync` entry and reads the log up to it (starting to read it if this
        party had stopped), so every receiver whose join was appended before is listed: a
        pubsub sender makes the part queues of a large item for them
        (`connector_rabbitmq.parts`).

        Raises:
            ControlLogGoneError: If the log was deleted (the connection is over).
            BrokerUnreachableError: If the entry is not read back within the log's
                `unreachable_timeout`.
        """
        log = self.log
        self.syncs += 1
        marker = f"{self.party}#{self.syncs}"
        try:
            async with asyncio.timeout(log.unreachable_timeout):
                if not log.reading:
                    await log.start()
                await log.append(SYNC, marker)
                state = await log.wait_for(SYNC, marker)
        except TimeoutError:
            raise BrokerUnreachableError(log.unreachable_timeout or 0.0) from None
        return sorted(state.live_receivers())

    def peer_counts(self) -> tuple[int, int]:
        """Open senders and live receivers of the connection, per the control log."""
        state = self.log.state
        return (len(state.open_senders()), len(state.live_receivers()))


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
        await delete_connection(
            membership.connection,
            membership.names,
            membership.mode,
            [q for q in state.joined.values() if q != membership.names.work],
        )
