"""connector-zmq's providers in `connector_core.DI`, found through the entry points."""

from __future__ import annotations

import zmq.asyncio
from dependency_injector import providers

from connector_core.di import DI
from connector_core.testing import ProviderContract


class TestZMQProviders(ProviderContract):
    module = "connector_zmq.di"
    provider_names = ("zmq_context", "zmq_settings")


def test_an_override_of_di_zmq_context_reaches_the_connector() -> None:
    from connector_zmq import ZMQConnector

    context = zmq.asyncio.Context()
    try:
        with DI.zmq_context.override(providers.Object(context)):
            assert ZMQConnector._context() is context
    finally:
        context.destroy(linger=0)
