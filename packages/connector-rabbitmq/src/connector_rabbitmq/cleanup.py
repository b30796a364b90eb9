"""Deleting a connection's broker objects: by its last party, or by `purge` after a crash."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterable

from aio_pika.abc import AbstractRobustConnection
from aiormq.abc import AbstractChannel
from aiormq.exceptions import ChannelNotFoundEntity

from connector_core.spec import ConnectorMode
from connector_rabbitmq.topology import Names

__all__ = ["delete_connection", "leftovers", "own_queues", "queue_length"]

_log = logging.getLogger(__name__)


async def queue_length(channel: AbstractChannel, name: str) -> int | None:
    """Messages ready in queue `name`, or None if it does not exist.

    A passive declare of a missing queue closes the AMQP channel: pass a throwaway channel.
    """
    try:
        result = await channel.queue_declare(name, passive=True)
    except ChannelNotFoundEntity:
        return None
    return int(result.message_count or 0)


async def delete_connection(
    connection: AbstractRobustConnection,
    names: Names,
    mode: ConnectorMode | None,
    queues: Iterable[str] = (),
    *,
    keep_pending_work: bool = True,
) -> bool:
    """Deletes the queues, exchanges and control log of one connection.

    Queues of parts (`connector_rabbitmq.parts`) are deleted by their receivers, or by the
    broker once unused for `part_expires`; their names are not known here.

    Args:
        connection: An open broker connection.
        names: The connection's names.
        mode: The connection's mode; None deletes the objects of both modes.
        queues: More queues to delete (the subscriber queues named in the control log).
            Only names under the connection's prefix (`connector.<job_id>.<spec id>.`) are
            deleted: the log's entries are signed, but `purge` reads them without a key.
        keep_pending_work: Optional; if True (the default) and the pipeline queue still
            holds messages, delete nothing: a later receiver will take them.

    Returns:
        True if the objects were deleted, False if they were kept for pending work.

    Raises:
        aio_pika.exceptions.AMQPError: If the broker refuses a deletion.
    """
    if keep_pending_work and mode is not ConnectorMode.PUBSUB:
        pending = 0
        for work in (names.work, names.returns):
            pending += await _length_of(connection, work) or 0
        if pending:
            _log.info("kept %s: %d messages wait for a receiver", names.prefix, pending)
            return False
    dead = await _length_of(connection, names.dead_letters)
    if dead:
        _log.warning("deleting %s with %d dead-lettered messages", names.dead_letters, dead)
    async with _throwaway(connection) as channel:
        for queue in [*own_queues(names, queues), *names.fixed_queues]:
            if queue:
                await channel.queue_delete(queue)
        for exchange in names.exchanges:
            await channel.exchange_delete(exchange)
    return True


@contextlib.asynccontextmanager
async def _throwaway(connection: AbstractRobustConnection) -> AsyncIterator[AbstractChannel]:
    """An AMQP channel of its own, closed afterwards.

    A passive declare of a missing object closes the channel it runs on.
    """
    robust = connection.channel(publisher_confirms=False)
    await robust.initialize()
    try:
        yield await robust.get_underlay_channel()
    finally:
        with contextlib.suppress(Exception):
            await robust.close()


async def _length_of(connection: AbstractRobustConnection, name: str) -> int | None:
    """`queue_length` on a throwaway AMQP channel."""
    async with _throwaway(connection) as channel:
        return await queue_length(channel, name)


def own_queues(names: Names, queues: Iterable[str]) -> list[str]:
    """The queues among `queues` that belong to the connection: their names carry its prefix.

    Any other name (one a forged control-log entry put there) is left alone and logged.

    Args:
        names: The connection's names.
        queues: Queue names, e.g. as read from the control log.
    """
    mine = f"{names.prefix}."
    own: list[str] = []
    for queue in queues:
        if queue.startswith(mine):
            own.append(queue)
        elif queue:
            _log.warning("not deleting %r: the name is not under %s", queue, mine)
    return own


async def leftovers(
    connection: AbstractRobustConnection, names: Names, queues: Iterable[str] = ()
) -> list[str]:
    """Which of a connection's broker objects exist now (by passive declares).

    Args:
        connection: An open broker connection.
        names: The connection's names.
        queues: More queues to look for (e.g. subscriber queues).

    Returns:
        `"queue <name>"` / `"exchange <name>"` for each object found; empty when the
        connection left nothing behind.
    """
    found = [
        f"queue {queue}"
        for queue in (*names.fixed_queues, *queues)
        if await _length_of(connection, queue) is not None
    ]
    for exchange in names.exchanges:
        async with _throwaway(connection) as channel:
            with contextlib.suppress(ChannelNotFoundEntity):
                await channel.exchange_declare(exchange, passive=True)
                found.append(f"exchange {exchange}")
    return found
