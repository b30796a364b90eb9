"""connector-zmq's providers in `connector_core.DI`, found through the entry points."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import zmq.asyncio
from dependency_injector import providers

from connector_core.di import DI, PROVIDER_GROUP, container
from connector_zmq.di import zmq_context

PROGRAM = textwrap.dedent(
    """
    import sys
    from connector_core import DI
    assert "connector_zmq" not in sys.modules, "imported too early"
    provider = DI.zmq_context
    import connector_zmq.di
    assert provider is connector_zmq.di.zmq_context
    assert DI.zmq_settings is connector_zmq.di.zmq_settings
    print("ok")
    """
)


def test_di_zmq_context_works_before_connector_zmq_is_imported() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_the_zmq_context_provider_is_registered_and_declared() -> None:
    from importlib.metadata import entry_points

    [ep] = [ep for ep in entry_points(group=PROVIDER_GROUP) if ep.name == "zmq_context"]
    assert ep.load() is zmq_context
    assert DI.zmq_context is zmq_context
    assert container.zmq_context is zmq_context


def test_an_override_of_di_zmq_context_reaches_the_connector() -> None:
    from connector_zmq import ZMQConnector

    context = zmq.asyncio.Context()
    try:
        with DI.zmq_context.override(providers.Object(context)):
            assert ZMQConnector._context() is context
    finally:
        context.destroy(linger=0)
