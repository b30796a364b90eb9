"""The conformance suite on the Redis backend, in-process and cross-process, both modes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from connector_core.connector import Connector
from connector_core.spec import ConnectorSpec
from connector_core.testing import ConnectorConformance, ConnectorFactory
from connector_redis import RedisConnector, purge

pytestmark = [pytest.mark.redis, pytest.mark.asyncio(loop_scope="session")]


class TestRedisConformance(ConnectorConformance):
    connector_class = RedisConnector
    cross_process = True
    serialized = True
    backpressure_slack = 0
    largest_item = 64 * 1024  # the server's limit (512 MiB by default) is not for a test
    size_limit_name = "CONNECTOR_REDIS_MAX_ITEM_SIZE"

    @pytest.fixture
    def size_limited_factory(
        self, connector_factory: ConnectorFactory, monkeypatch: pytest.MonkeyPatch
    ) -> ConnectorFactory:
        monkeypatch.setenv("CONNECTOR_REDIS_MAX_ITEM_SIZE", str(self.largest_item))
        return connector_factory

    @pytest.fixture
    def connector_factory(self, redis_url: str) -> Iterator[ConnectorFactory]:
        made: list[RedisConnector] = []

        def make(spec: ConnectorSpec, maxsize: int) -> Connector:
            connector = RedisConnector(spec, maxsize=maxsize)
            made.append(connector)
            return connector

        yield make
        # A passing test leaves nothing behind (test_cleanup.py proves it); a failing one
        # may, and must not disturb the next tests.
        jobs = {connector.job_id for connector in made}
        with ThreadPoolExecutor(1) as pool:  # its own loop, away from the session loop
            for job in jobs:
                mine = [connector for connector in made if connector.job_id == job]
                pool.submit(asyncio.run, purge(job, specs=mine)).result()
