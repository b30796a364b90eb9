"""Shared fixtures: the Redis server the tests use, a raw client of it, and white-box access.

The server is the one a user would get: `REDIS_URL`, or the local default when it is unset.
Tests that need it use the `redis_url` fixture: it skips them (fails them under `CI=true`)
when no server answers (`connector_core.testing.skip_or_fail`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from connector_core.channel import Channel
from connector_core.testing import skip_or_fail, transport_of
from connector_redis.keys import Keys
from connector_redis.probe import probe_server
from connector_redis.sender import RedisSender
from connector_redis.settings import RedisSettings


def server_url() -> str:
    return RedisSettings().url.get_secret_value()


def require_server(url: str) -> str:
    """Returns `url`; skips (or fails under CI=true) when no Redis server answers there."""
    probe = probe_server(url, timeout=2.0)
    if not probe.ok:
        skip_or_fail(f"Redis is not reachable: {probe.detail}")
    return url


@pytest.fixture
def redis_required() -> Callable[[str], str]:
    """`redis_required(url)`: what `redis_url` does, for any URL (to test the skip itself)."""
    return require_server


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The server URL; skips (or fails in CI) when no Redis server answers there."""
    return require_server(server_url())


@pytest_asyncio.fixture(loop_scope="session")
async def raw(redis_url: str) -> AsyncIterator[Redis]:
    """A plain redis-py client of the test server, apart from the backend's own."""
    client = Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def job_keys(raw: Redis) -> Callable[[str], Awaitable[list[str]]]:
    """`await job_keys(job_id)`: every key of that job in Redis, sorted."""

    async def keys_of(job_id: str) -> list[str]:
        found = [key async for key in raw.scan_iter(match=Keys.job_pattern(job_id), count=500)]
        return sorted(k.decode() if isinstance(k, bytes) else str(k) for k in found)

    return keys_of


@pytest.fixture
def waits_for_room(monkeypatch: pytest.MonkeyPatch) -> Callable[[Channel], asyncio.Event]:
    """`waits_for_room(sender)`: an event set when the sender's transport blocks for room."""

    def watch(channel: Channel) -> asyncio.Event:
        transport = transport_of(channel, RedisSender)
        waiting = asyncio.Event()
        blocking_read = transport.store.wait_signal

        async def wait_signal(after: str, block: float) -> str:
            waiting.set()
            return await blocking_read(after, block)

        monkeypatch.setattr(transport.store, "wait_signal", wait_signal)
        return waiting

    return watch
