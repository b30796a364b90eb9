"""Shared fixtures: the Redis server the tests use, and purging what a test left behind.

The server is the one a user would get: `REDIS_URL`, or the local default when it is unset.
Tests that need it use the `redis_url` fixture: it skips them (fails them under `CI=true`)
when no server answers.
"""

from __future__ import annotations

import pytest

from connector_core.testing import skip_or_fail
from connector_redis.probe import probe_server
from connector_redis.settings import RedisSettings


def server_url() -> str:
    return RedisSettings().url.get_secret_value()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The server URL; skips (or fails in CI) when no Redis server answers there."""
    url = server_url()
    probe = probe_server(url, timeout=2.0)
    if not probe.ok:
        skip_or_fail(f"Redis is not reachable: {probe.detail}")
    return url
