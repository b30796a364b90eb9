"""`RedisChannel`: core's `TransportChannel` over the Redis transports.

A channel made by `RedisConnector.connect_send()` holds a `RedisSender`
(`connector_redis.sender`), one made by `connect_recv()` a `RedisReceiver`
(`connector_redis.receiver`). Everything a user sees (the codec, counters, the closed flag,
the event-loop check, iteration, statistics) is core's; see the package docstring for how the
transports use Redis Streams.
"""

from __future__ import annotations

from connector_core.transport_channel import TransportChannel

__all__ = ["RedisChannel"]


class RedisChannel(TransportChannel):
    """One end of a connection through Redis Streams (made by `RedisConnector`)."""
