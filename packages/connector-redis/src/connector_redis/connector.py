"""`RedisConnector`: hands out `RedisChannel`s of one connection through Redis Streams.

Making a connector does no I/O: it fixes the connection's keys (job id + spec id, see
`connector_redis.keys`) and its codec (signing key, bound to the connection). Those travel
when the connector is pickled; the server URL and its password do not: each process reads
`REDIS_URL` itself, and each event loop gets its own client from `DI.redis_client`.

`connect_send()` makes sure the pipeline group exists, appends `OPEN` to the control stream
and returns once it has read it back (refusing a connection that has ended).
`connect_recv()` starts its heartbeat, makes or joins its group (pubsub: a new group at the
stream's last id, so it gets everything sent from then on), appends `JOIN` and returns with
its reader running.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, ClassVar, NoReturn

from dependency_injector.wiring import Provide, inject
from redis.asyncio import Redis

from connector_core.di import DI, wire
from connector_core.exceptions import ChannelClosedError, ChannelSetupError
from connector_core.job_connector import JobConnector
from connector_core.settings import Settings
from connector_core.spec import ConnectorMode
from connector_redis import di  # noqa: F401  (registers DI.redis_client, read below)
from connector_redis.channel import RedisChannel
from connector_redis.client import release
from connector_redis.control import ControlLog, Party, open_body
from connector_redis.entries import CLOSE, JOIN, OPEN, marker_body
from connector_redis.keys import WORK_GROUP, Keys, subscriber_group
from connector_redis.receiver import RedisReceiver
from connector_redis.sender import RedisSender, largest_item
from connector_redis.settings import RedisSettings
from connector_redis.store import Store

__all__ = ["RedisConnector"]


class RedisConnector(JobConnector):
    """RedisConnector connects components through Redis Streams.

    Pipeline mode: one consumer group that every receiver reads (each item reaches one of
    them). Pubsub mode: one group per subscriber on the same stream (each item reaches all
    of them). Picklable: a copy in another process joins the same connection.
    """

    scope: ClassVar[str] = "redis"
    pickled: ClassVar[tuple[str, ...]] = ("shared",)

    @inject
    def __init__(
        self, *args: Any, settings: Settings = Provide[DI.settings], **kwargs: Any
    ) -> None:
        """Creates the connector; does no I/O and needs no event loop.

        Args:
            *args: The spec, passed to `JobConnector`.
            settings: Optional; the shared settings (from `DI.settings`): serializer and
                signing.
            **kwargs: Passed to `JobConnector`: `maxsize` (items between a sender and its
                receivers at most; `<= 0`: unbounded), `job_id` (scopes the Redis keys of
                this run; default `DI.job_id`) and `serializer` (overrides
                `CONNECTOR_SERIALIZER`).

        Raises:
            ValueError: If `job_id` is not 1-64 letters, digits, `_` or `-`.
            TypeError: If `spec` or `maxsize` is malformed.
        """
        super().__init__(*args, settings=settings, **kwargs)
        self.shared = False
        """True once this connector was pickled (or is a pickled copy): the connection then
        waits `end_grace` for senders still starting elsewhere before it ends."""

    @property
    def keys(self) -> Keys:
        """The Redis keys of this connection."""
        return Keys.of(self.job_id, self.spec.id)

    def _party(self, store: Store) -> ControlLog:
        return ControlLog(store, self.codec, Party(os.urandom(8)))

    @inject
    async def connect_send(self, redis_client: Redis = Provide[DI.redis_client]) -> RedisChannel:
        """Returns a channel for sending, a member of the connection on return.

        Args:
            redis_client: Optional; the running loop's client, injected from
                `DI.redis_client` (one per event loop, from `REDIS_URL`).

        Raises:
            ChannelSetupError: If Redis cannot be reached or refuses a command.
            ChannelClosedError: If every sender of this connection has already closed.
        """
        settings = RedisSettings()
        store = Store(redis_client, self.keys, self.spec.mode is ConnectorMode.PUBSUB)
        log = self._party(store)
        try:
            if not store.pubsub:
                await store.ensure_work_group()
            largest = largest_item(await store.largest_value(), settings.max_item_size)
            opened = await log.append(OPEN, open_body(self.shared))
            await log.read(until=opened)
        except BaseException as exc:
            await release(redis_client)
            _raise_setup_error(exc, "connect a sender")
        if log.party.name in log.late:
            await log.append(CLOSE, marker_body((0, 0)))
            await release(redis_client)
            raise ChannelClosedError(
                f"connection {self.id} has ended (every sender closed): make a new connector "
                "(or use a new job id) for a new stream"
            )
        sender = RedisSender(log, self.codec, self.maxsize, settings, largest)
        return RedisChannel(
            sender=sender, maxsize=self.maxsize, codec=self.codec, loop=asyncio.get_running_loop()
        )

    @inject
    async def connect_recv(self, redis_client: Redis = Provide[DI.redis_client]) -> RedisChannel:
        """Returns a channel for receiving, subscribed on return.

        Args:
            redis_client: Optional; the running loop's client, injected from
                `DI.redis_client` (one per event loop, from `REDIS_URL`).

        Raises:
            ChannelSetupError: If Redis cannot be reached or refuses a command.
        """
        settings = RedisSettings()
        store = Store(redis_client, self.keys, self.spec.mode is ConnectorMode.PUBSUB)
        log = self._party(store)
        me = log.party.name
        try:
            await store.heartbeat(me, settings.claim_idle)
            if store.pubsub:
                group = subscriber_group(me)
                start = await store.join_pubsub(group)
            else:
                group, start = WORK_GROUP, (0, 0)
                await store.ensure_work_group()
            joined = await log.append(JOIN, log.party.id)
            await log.read(until=joined)
        except BaseException as exc:
            await release(redis_client)
            _raise_setup_error(exc, "connect a receiver")
        receiver = RedisReceiver(log, self.codec, group, start, settings)
        receiver.start()
        return RedisChannel(
            receiver=receiver,
            maxsize=self.maxsize,
            codec=self.codec,
            loop=asyncio.get_running_loop(),
        )

    # -- pickling -----------------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        self.shared = True  # this connector and its copies now wait `end_grace` (see __init__)
        return super().__getstate__()


def _raise_setup_error(exc: BaseException, what: str) -> NoReturn:
    if isinstance(exc, ChannelSetupError | ChannelClosedError) or not isinstance(exc, Exception):
        raise exc
    raise ChannelSetupError(f"could not {what} through Redis: {exc!r}") from exc


wire(__name__)
