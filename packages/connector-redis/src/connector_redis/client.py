"""One Redis client per event loop, shared by that loop's channels.

`acquire()` returns the running loop's client (made and checked with a PING on first use) and
counts one more user; `release()` counts one less and closes the client when its last channel
is gone. A process may run several loops, one after another or in threads: each has its own
client, so nothing is shared across loops. The URL (and its password) comes from
`RedisSettings` in this process; it is never pickled.
"""

from __future__ import annotations

import asyncio
import threading
import weakref

from redis.asyncio import Redis

from connector_core.exceptions import ChannelSetupError
from connector_redis.settings import RedisSettings

__all__ = ["acquire", "connect", "release"]

_SOCKET_MARGIN = 30.0
"""Seconds a reply may take beyond the longest blocking read before the socket times out."""

_lock = threading.Lock()
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Redis] = weakref.WeakKeyDictionary()
_users: dict[int, int] = {}


async def connect(settings: RedisSettings | None = None) -> Redis:
    """Returns a new client for `settings.url`, checked with a PING.

    Raises:
        ChannelSetupError: If the server does not answer within `connect_timeout` seconds,
            refuses the password, or the URL is malformed.
    """
    settings = settings if settings is not None else RedisSettings()
    url = settings.url.get_secret_value()
    try:
        client = Redis.from_url(
            url,
            socket_connect_timeout=settings.connect_timeout,
            socket_timeout=settings.block + _SOCKET_MARGIN,
        )
    except ValueError as exc:
        raise ChannelSetupError(
            f"REDIS_URL is not a Redis URL ({exc}); use redis://[:password@]host:6379/0"
        ) from exc
    try:
        async with asyncio.timeout(settings.connect_timeout):
            await client.ping()
    except Exception as exc:
        await client.aclose()
        where = client.connection_pool.connection_kwargs
        raise ChannelSetupError(
            f"Redis does not answer at {where.get('host', '?')}:{where.get('port', '?')} "
            f"({exc!r}): start it with `redis-server --daemonize yes`, or set REDIS_URL "
            "(e.g. redis://:password@host:6379/0)"
        ) from exc
    return client


async def acquire(settings: RedisSettings | None = None) -> Redis:
    """Returns the running loop's client, counting one more user.

    Raises:
        ChannelSetupError: If the server cannot be reached.
    """
    loop = asyncio.get_running_loop()
    with _lock:
        client = _clients.get(loop)
        if client is not None:
            _users[id(client)] += 1
            return client
    made = await connect(settings)
    with _lock:
        client = _clients.get(loop)
        if client is None:
            _clients[loop] = client = made
            _users[id(client)] = 0
        _users[id(client)] += 1
    if client is not made:
        await made.aclose()
    return client


async def release(client: Redis) -> None:
    """Counts one user less of `client`; closes it when it was the last (foreign: untouched)."""
    with _lock:
        count = _users.get(id(client))
        if count is None:
            return  # not ours (a DI override): its owner closes it
        if count > 1:
            _users[id(client)] = count - 1
            return
        del _users[id(client)]
        for loop, held in list(_clients.items()):
            if held is client:
                del _clients[loop]
    await client.aclose()
