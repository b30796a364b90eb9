"""connector-redis's providers in `connector_core.DI`.

- `DI.redis_client`: the running event loop's `redis.asyncio.Redis` client (one per loop,
  counted once more per call, closed when its last channel closes; see
  `connector_redis.client`). Override it with `providers.Object(client)` to use a client of
  your own: the backend then never closes it.

Registered when this module is imported, and declared under the `connector.providers` entry
points, so that `Provide[DI.redis_client]` works before `connector_redis` is imported.
"""

from __future__ import annotations

from dependency_injector import providers

from connector_core.di import register_provider
from connector_redis.client import acquire

__all__ = ["redis_client"]

redis_client = register_provider("redis_client", providers.Coroutine(acquire))
"""The running event loop's Redis client (`DI.redis_client`)."""
