"""The conformance suite on the RabbitMQ backend, in-process and cross-process, both modes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from dependency_injector import providers

from connector_core.connector import Connector
from connector_core.di import DI
from connector_core.settings import Settings
from connector_core.spec import ConnectorSpec
from connector_core.testing import ConnectorConformance, ConnectorFactory
from connector_rabbitmq import RabbitMQConnector, purge
from connector_rabbitmq.cleanup import leftovers
from connector_rabbitmq.connection import connect
from connector_rabbitmq.settings import RabbitMQSettings

CROSS_PROCESS_END_GRACE = 10.0
IN_PROCESS_END_GRACE = 0.2

pytestmark = [pytest.mark.rabbitmq, pytest.mark.asyncio(loop_scope="session")]


class TestRabbitMQConformance(ConnectorConformance):
    connector_class = RabbitMQConnector
    cross_process = True
    serialized = True
    backpressure_slack = 0  # limits() keeps batch * (2 + queue + prefetch) items <= maxsize
    largest_item = 64 * 1024  # the default (256 MiB) is not for a test
    size_limit_name = "CONNECTOR_RABBITMQ_MAX_ITEM_SIZE"

    @pytest.fixture
    def size_limited_factory(self, connector_factory: ConnectorFactory) -> ConnectorFactory:
        limited = providers.Object(RabbitMQSettings(max_item_size=self.largest_item))

        def make(spec: ConnectorSpec, maxsize: int) -> Connector:
            with DI.rabbitmq_settings.override(limited):
                return connector_factory(spec, maxsize)

        return make

    @pytest.fixture
    def connector_factory(
        self, broker: str, request: pytest.FixtureRequest
    ) -> Iterator[ConnectorFactory]:
        # Spawned senders can start seconds apart on a loaded machine: give them a long grace
        # period to join before the receivers end the stream. In one process every sender
        # connects before any closes, so a short one keeps the suite fast.
        spawned = request.node.get_closest_marker("crossprocess") is not None
        end_grace = CROSS_PROCESS_END_GRACE if spawned else IN_PROCESS_END_GRACE

        made: list[RabbitMQConnector] = []

        def make(spec: ConnectorSpec, maxsize: int) -> Connector:
            settings = Settings(end_grace=end_grace)
            connector = RabbitMQConnector(spec, maxsize=maxsize, settings=settings)
            made.append(connector)
            return connector

        yield make
        # A passing test leaves nothing behind (test_cleanup.py proves it); a failing one
        # may, and must not disturb the next tests.
        with ThreadPoolExecutor(1) as pool:  # its own loop, away from the session loop
            pool.submit(asyncio.run, _purge_leftovers(made)).result()


async def _purge_leftovers(connectors: list[RabbitMQConnector]) -> None:
    conn = await connect(RabbitMQSettings())
    try:
        for connector in connectors:
            if await leftovers(conn, connector.names):
                await purge(connector.job_id, [connector.id], conn)
    finally:
        await conn.close()
