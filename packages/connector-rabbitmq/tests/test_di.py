"""connector-rabbitmq's providers in `connector_core.DI`, found through the entry points."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from importlib.metadata import entry_points

from connector_core.di import DI, PROVIDER_GROUP, container
from connector_rabbitmq.connection import loop_connection
from connector_rabbitmq.di import rabbitmq_conn

# A user's module that names DI.rabbitmq_conn before it imports connector_rabbitmq, as the
# reference API's signatures do; it needs no broker.
PROGRAM = textwrap.dedent(
    """
    import sys
    from dependency_injector.wiring import Provide, inject
    from connector_core import DI
    from connector_core.di import wire

    @inject
    def which(conn=Provide[DI.rabbitmq_conn]):
        return conn

    wire(__name__)
    from dependency_injector import providers
    with DI.rabbitmq_conn.override(providers.Object("overridden")):
        assert which() == "overridden", which()
    import connector_rabbitmq.di
    assert DI.rabbitmq_conn is connector_rabbitmq.di.rabbitmq_conn
    print("ok")
    """
)


def test_provide_di_rabbitmq_conn_works_before_connector_rabbitmq_is_imported() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_the_connection_provider_is_registered_and_declared() -> None:
    [ep] = [ep for ep in entry_points(group=PROVIDER_GROUP) if ep.name == "rabbitmq_conn"]
    assert ep.load() is rabbitmq_conn
    assert DI.rabbitmq_conn is rabbitmq_conn
    assert container.rabbitmq_conn is rabbitmq_conn
    assert rabbitmq_conn.provides is loop_connection
    assert rabbitmq_conn.kwargs["settings"] is DI.rabbitmq_settings  # the broker it names
