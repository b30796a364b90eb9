"""connector-rabbitmq's providers in `connector_core.DI`.

- `DI.rabbitmq_settings`: the `RabbitMQSettings` read from the environment (`RABBITMQ_URL`,
  `CONNECTOR_RABBITMQ_*`).
- `DI.rabbitmq_conn`: the running event loop's robust aio-pika connection to the broker of
  `DI.rabbitmq_settings` (one per loop, held once more per call, closed when its last channel
  closes or its loop shuts down; see `connector_rabbitmq.connection`).

They are registered when this module is imported, and declared under the `connector.providers`
entry points, so that `Provide[DI.rabbitmq_conn]` works before `connector_rabbitmq` is
imported.
"""

from __future__ import annotations

from dependency_injector import providers

from connector_core.di import register_provider
from connector_rabbitmq.connection import loop_connection
from connector_rabbitmq.settings import RabbitMQSettings

__all__ = ["rabbitmq_conn", "rabbitmq_settings"]

rabbitmq_settings = register_provider("rabbitmq_settings", providers.Singleton(RabbitMQSettings))
"""connector-rabbitmq's settings (`DI.rabbitmq_settings`)."""

rabbitmq_conn = register_provider(
    "rabbitmq_conn", providers.Coroutine(loop_connection, settings=rabbitmq_settings)
)
"""The running event loop's broker connection (`DI.rabbitmq_conn`)."""
