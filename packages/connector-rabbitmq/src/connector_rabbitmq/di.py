"""connector-rabbitmq's providers in `connector_core.DI`.

- `DI.rabbitmq_conn`: the running event loop's robust aio-pika connection (one per loop, held
  once more per call, closed when its last channel closes or its loop shuts down; see
  `connector_rabbitmq.connection`).

They are registered when this module is imported, and declared under the `connector.providers`
entry points, so that `Provide[DI.rabbitmq_conn]` works before `connector_rabbitmq` is
imported.
"""

from __future__ import annotations

from dependency_injector import providers

from connector_core.di import DI, register_provider
from connector_rabbitmq.connection import loop_connection

__all__ = ["rabbitmq_conn"]

rabbitmq_conn = register_provider(
    "rabbitmq_conn", providers.Coroutine(loop_connection, settings=DI.settings)
)
"""The running event loop's broker connection (`DI.rabbitmq_conn`)."""
