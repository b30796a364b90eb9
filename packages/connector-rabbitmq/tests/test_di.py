"""connector-rabbitmq's providers in `connector_core.DI`, found through the entry points."""

from __future__ import annotations

from connector_core.di import DI
from connector_core.testing import ProviderContract
from connector_rabbitmq.connection import loop_connection
from connector_rabbitmq.di import rabbitmq_conn


class TestRabbitMQProviders(ProviderContract):
    module = "connector_rabbitmq.di"
    provider_names = ("rabbitmq_conn", "rabbitmq_settings")


def test_the_connection_provider_gives_the_loops_connection_to_the_configured_broker() -> None:
    assert rabbitmq_conn.provides is loop_connection
    assert rabbitmq_conn.kwargs["settings"] is DI.rabbitmq_settings  # the broker it names
