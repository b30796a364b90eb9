"""connector-zmq's providers in `connector_core.DI`.

- `DI.zmq_settings`: the `ZMQSettings` read from the environment (`CONNECTOR_ZMQ_*`).
- `DI.zmq_context`: the process's `zmq.asyncio.Context` (see `connector_zmq.context`), made
  on first use and ended by `container.shutdown_resources()` or at exit.

They are registered when this module is imported, and declared under the `connector.providers`
entry points, so that `DI.zmq_context` (for example in an override in a test) works before
`connector_zmq` is imported.
"""

from __future__ import annotations

from dependency_injector import providers

from connector_core.di import register_provider
from connector_zmq.context import zmq_context as _new_context
from connector_zmq.settings import ZMQSettings

__all__ = ["zmq_context", "zmq_settings"]

zmq_settings = register_provider("zmq_settings", providers.Singleton(ZMQSettings))
"""connector-zmq's settings (`DI.zmq_settings`)."""

zmq_context = register_provider("zmq_context", providers.Resource(_new_context))
"""The process's ZeroMQ context (`DI.zmq_context`)."""
